"""The command line while the app is open: a real `audiofetch serve` on a temp data folder,
and the real CLI in another process running its jobs there over the loopback REST API."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.desktop import ROOT, AppProcess, app_environment, free_port, wait_for, wait_for_http
from tests.media import make_tone

pytestmark = pytest.mark.timeout(300)


class App:
    def __init__(self, process: AppProcess, url: str, home: Path) -> None:
        self.process, self.url, self.home = process, url, home

    def token(self) -> str:
        return (self.home / "local.token").read_text().strip()

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, trust_env=False)


def start_app(root: Path) -> tuple[AppProcess, str]:
    home = root / "home"
    process = AppProcess(["serve", "--port", str(free_port())], home, root / "logs")
    url = process.wait_for_url(timeout=180)
    wait_for_http(url + "/api/jobs", alive=process.check_alive)
    return process, url


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    root = tmp_path_factory.mktemp("open-app")
    process, url = start_app(root)
    try:
        yield App(process, url, root / "home")
    finally:
        process.stop()


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_tone(tmp_path_factory.mktemp("media") / "tone.mp3").read_bytes()


def cli_env(home: Path) -> dict[str, str]:
    return {**app_environment(), "AUDIOFETCH_HOME": str(home), "PYTHONPATH": str(ROOT)}


def run_cli(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "audiofetch_app", *args], cwd=ROOT,
                          env=cli_env(home), capture_output=True, text=True, timeout=timeout)


def app_jobs(app: App) -> list[dict]:
    with app.api(app.token()) as api:
        return api.get("/api/jobs").json()["jobs"]


def test_get_runs_in_the_open_app(app: App, http_server, tone: bytes, tmp_path: Path) -> None:
    http_server.add("/show/one.mp3", tone, content_type="audio/mpeg")
    out = tmp_path / "saved"
    result = run_cli("get", http_server.url_for("/show/one.mp3"), "-o", str(out),
                     home=app.home)
    assert result.returncode == 0, result.stderr
    saved = Path(result.stdout.strip().splitlines()[-1])
    assert saved == out / "one.mp3" and saved.read_bytes() == tone
    assert "100%" in result.stderr  # the same progress lines, fed by the app's events
    assert "INFO" not in result.stderr and "already running" not in result.stderr
    job = next(j for j in app_jobs(app) if j["output_path"] == str(saved))
    assert job["state"] == "done"  # the app ran it, not the command


def test_a_failure_in_the_open_app_has_the_same_exit_code_and_one_sentence(
        app: App, http_server, tmp_path: Path) -> None:
    result = run_cli("get", http_server.url_for("/missing.mp3"), "-o", str(tmp_path),
                     home=app.home)
    assert result.returncode == 1
    assert result.stderr.count("404 Not Found") == 1, result.stderr
    assert "Resume with" not in result.stderr
    bad = run_cli("get", "ftp://example.com/a.mp3", home=app.home)
    assert bad.returncode == 2 and "http" in bad.stderr


def test_jobs_list_resume_and_delete_in_the_open_app(app: App, http_server, tone: bytes,
                                                     tmp_path: Path) -> None:
    http_server.add("/later.mp3", b"", status=503)
    failed = run_cli("get", http_server.url_for("/later.mp3"), "-o", str(tmp_path),
                     home=app.home)
    assert failed.returncode == 1 and "Resume with: audiofetch jobs resume" in failed.stderr
    listing = run_cli("jobs", "list", "--json", home=app.home)
    assert listing.returncode == 0, listing.stderr
    mine = [j for j in json.loads(listing.stdout) if j["url"].endswith("/later.mp3")]
    assert [j["id"] for j in mine] == [j["id"] for j in app_jobs(app)
                                       if j["url"].endswith("/later.mp3")]
    only_failed = run_cli("jobs", "list", "--state", "failed", home=app.home)
    assert mine[0]["id"] in only_failed.stdout
    http_server.add("/later.mp3", tone, content_type="audio/mpeg")
    resumed = run_cli("jobs", "resume", mine[0]["id"], home=app.home)
    assert resumed.returncode == 0, resumed.stderr
    saved = Path(resumed.stdout.strip().splitlines()[-1])
    assert saved.read_bytes() == tone
    deleted = run_cli("jobs", "delete", mine[0]["id"], "--files", home=app.home)
    assert deleted.returncode == 0 and not saved.exists()
    missing = run_cli("jobs", "resume", "nope", home=app.home)
    assert missing.returncode == 2 and "There is no job nope." in missing.stderr


def test_the_local_token_is_private_and_a_wrong_one_is_refused(app: App) -> None:
    path = app.home / "local.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # instance.json carries the window's focus token: as private as the local token.
    assert stat.S_IMODE((app.home / "instance.json").stat().st_mode) == 0o600
    with app.api("not-the-token") as api:
        answer = api.get("/api/jobs")
    assert answer.status_code == 401 and isinstance(answer.json()["detail"], str)
    with app.api(app.token()) as api:
        assert api.get("/api/jobs").status_code == 200
    with app.api() as api:  # loopback without a token works as before (the extension)
        assert api.get("/api/jobs").status_code == 200
        empty = api.post("/api/download", json={})
        # Anyone on loopback may start a download, but only the owner's token may name a
        # folder or file of theirs.
        sneaky = api.post("/api/download", json={"url": "http://127.0.0.1:9/a.mp3",
                                                 "options": {"cookies_file": "/etc/passwd"}})
    assert empty.status_code == 422 and empty.json() == {"detail": "The request needs url."}
    assert sneaky.status_code == 403 and "local token" in sneaky.json()["detail"]


def test_only_the_token_holder_deletes_a_jobs_files(app: App, http_server, tone: bytes,
                                                    tmp_path: Path) -> None:
    """Any program on this computer reaches loopback: it may list and forget jobs as before,
    but deleting what a job saved takes the local token (or a LAN login)."""
    http_server.add("/keep.mp3", tone, content_type="audio/mpeg")
    got = run_cli("get", http_server.url_for("/keep.mp3"), "-o", str(tmp_path), home=app.home)
    assert got.returncode == 0, got.stderr
    saved = Path(got.stdout.strip().splitlines()[-1])
    job_id = next(j["id"] for j in app_jobs(app) if j["output_path"] == str(saved))
    with app.api() as api:
        wipe = api.delete(f"/api/jobs/{job_id}", params={"files": "true"})
    assert wipe.status_code == 403 and "nothing was deleted" in wipe.json()["detail"]
    assert saved.exists()
    with app.api(app.token()) as api:
        assert api.delete(f"/api/jobs/{job_id}", params={"files": "true"}).status_code == 200
    assert not saved.exists()


def test_a_wrong_token_in_the_data_folder_is_said_in_one_sentence(app: App,
                                                                 tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "local.token").write_text("x" * 43)  # the app's address, another token
    from audiofetch_app.core.instance import InstanceLock

    lock = InstanceLock(other)
    assert lock.acquire()
    lock.publish(url=app.url)
    try:
        result = run_cli("jobs", home=other)
    finally:
        lock.release()
    assert result.returncode == 1
    assert "did not accept this computer's local token" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_on_the_network_while_a_loopback_app_runs_says_how(app: App) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "audiofetch_app", "serve", "--host", "0.0.0.0",
         "--port", str(free_port())], cwd=ROOT,
        env={**cli_env(app.home), "AUDIOFETCH_PASSWORD": "a long enough secret"},
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "for this computer only, so nothing was shared" in result.stderr
    assert "close it" in result.stderr


def test_the_app_closing_mid_job_is_said_and_the_job_can_resume(
        tmp_path: Path, http_server, tone: bytes) -> None:
    http_server.add("/slow.mp3", tone * 40, content_type="audio/mpeg", chunk_delay=0.1,
                    chunk_size=4096)
    process, url = start_app(tmp_path)
    home = tmp_path / "home"
    cli = subprocess.Popen(
        [sys.executable, "-m", "audiofetch_app", "get", http_server.url_for("/slow.mp3"),
         "-o", str(tmp_path / "out")], cwd=ROOT, env=cli_env(home),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        token = (home / "local.token").read_text().strip()

        def downloading() -> bool:
            jobs = httpx.get(url + "/api/jobs", headers={"authorization": f"Bearer {token}"},
                             trust_env=False, timeout=10).json()["jobs"]
            return bool(jobs) and jobs[0]["bytes_done"] > 0

        wait_for(downloading, 120, "the app to download", on_timeout=process.output)
    finally:
        process.stop()
    _out, err = cli.communicate(timeout=120)
    assert cli.returncode == 1, err
    assert "audiofetch jobs resume" in err and "Traceback" not in err
    assert not os.path.exists(tmp_path / "out" / "slow.mp3")


def test_ctrl_c_ends_open_event_streams_cleanly_and_quietly(tmp_path: Path) -> None:
    """A CLI following a job (or any `/api/events` reader) is open when the app is stopped:
    the stream ends as a whole response, at once, and the terminal shows no traceback (it
    used to wait out the 3 s graceful shutdown, cut the stream mid-chunk and log the cancel).
    """
    import signal
    import threading

    process, url = start_app(tmp_path)
    token = (tmp_path / "home" / "local.token").read_text().strip()
    seen: list[str] = []
    ended: list[BaseException | None] = []

    def read() -> None:
        try:
            with httpx.stream("GET", url + "/api/events", timeout=30, trust_env=False,
                              headers={"authorization": f"Bearer {token}"}) as events:
                for line in events.iter_lines():
                    seen.append(line)
            ended.append(None)
        except BaseException as exc:
            ended.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: "retry: 3000" in seen, 30, "the event stream to open")
        process.process.send_signal(signal.SIGINT)
        code = process.process.wait(timeout=30)
        reader.join(10)
    finally:
        process.stop()
    assert ended == [None], ended  # a whole response, not a cut connection
    assert code == 130
    err = process.stderr_path.read_text(errors="replace")
    assert "Traceback" not in err and "graceful shutdown" not in err, err


def test_telegram_commands_in_the_open_app(app: App) -> None:
    listing = run_cli("telegram", "sources", "list", "--json", home=app.home)
    assert listing.returncode == 0 and json.loads(listing.stdout) == [], listing.stderr
    sessions = run_cli("telegram", "sessions", home=app.home)
    assert sessions.returncode == 0 and "No Telegram sessions yet" in sessions.stdout
    sync = run_cli("telegram", "sync", "--all", home=app.home)
    assert sync.returncode == 1 and "There are no Telegram sources yet" in sync.stderr
    login = run_cli("telegram", "login", "--phone", "+44 7700 900123", home=app.home)
    assert login.returncode == 1
    assert login.stderr.strip() == (f"AudioFetch is open at {app.url}: make this change in "
                                    "its Telegram tab, or close it and run this command again.")
