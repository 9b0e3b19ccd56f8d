"""The `audiofetch` command as a user runs it: a real subprocess against a loopback server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.media import make_tone

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, home: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, AUDIOFETCH_HOME=str(home), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "audiofetch_app", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tone(tmp_path_factory) -> bytes:
    return make_tone(tmp_path_factory.mktemp("media") / "tone.mp3").read_bytes()


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = run_cli("--help", home=tmp_path)
    assert result.returncode == 0
    for command in ("gui", "serve", "space", "page", "telegram", "jobs", "get"):
        assert command in result.stdout


def test_get_downloads_and_prints_the_path_last(tmp_path: Path, http_server,
                                                tone: bytes) -> None:
    http_server.add("/show/Part 2.mp3", tone, content_type="audio/mpeg")
    out = tmp_path / "saved"
    result = run_cli("get", http_server.url_for("/show/Part%202.mp3"), "-o", str(out),
                     home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert Path(last) == out / "Part 2.mp3"
    assert Path(last).read_bytes() == tone
    assert "%" in result.stderr  # plain progress lines when not a terminal
    listing = run_cli("jobs", "list", "--json", home=tmp_path / "home")
    jobs = json.loads(listing.stdout)
    assert jobs[0]["state"] == "done" and jobs[0]["output_path"] == last
    assert "Part 2" in run_cli("jobs", home=tmp_path / "home").stdout


def test_get_failure_exits_non_zero_with_a_sentence(tmp_path: Path, http_server) -> None:
    http_server.add("/page.mp3", "<html><body>Not here</body></html>", content_type="text/html")
    result = run_cli("get", http_server.url_for("/page.mp3"), "-o", str(tmp_path / "o"),
                     home=tmp_path / "home")
    assert result.returncode == 1
    assert "web page" in result.stderr and "Traceback" not in result.stderr
    assert "Resume with" not in result.stderr  # a web page stays a web page: no resume


def test_a_text_file_where_audio_was_expected_is_said_so(tmp_path: Path, http_server,
                                                        tone: bytes) -> None:
    """A link to a text file (or one an .mp3 name hides) says so at once, in the words of
    its type; an MP3 a server mislabels text/plain is still saved (its first bytes are
    audio, core.audio_sniff)."""
    http_server.add("/notes.mp3", "Episode notes\nNothing to hear here.\n" * 50,
                    content_type="text/plain; charset=utf-8")
    http_server.add("/mislabelled.mp3", tone, content_type="text/plain")
    result = run_cli("get", http_server.url_for("/notes.mp3"), "-o", str(tmp_path / "o"),
                     home=tmp_path / "home")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Failed: Expected audio from {http_server.url_for('/notes.mp3').split('://')[1]} "
        "but the server sent text (text/plain).")
    assert not list((tmp_path / "o").glob("*"))
    saved = run_cli("get", http_server.url_for("/mislabelled.mp3"), "-o", str(tmp_path / "o"),
                    home=tmp_path / "home")
    assert saved.returncode == 0, saved.stderr
    assert (tmp_path / "o" / "mislabelled.mp3").read_bytes() == tone


def test_get_refuses_bad_urls(tmp_path: Path) -> None:
    result = run_cli("get", "ftp://example.com/a.mp3", home=tmp_path)
    assert result.returncode == 2 and "http" in result.stderr


@pytest.mark.parametrize(("url", "sentence"), [
    ("http://[::1", "'http://[::1' is not a web address AudioFetch can read."),  # RFC 3986 §3.2.2
    ("http://127.0.0.1:99999/x.mp3",  # RFC 3986 §3.2.3, TCP ports are 16 bits
     "'http://127.0.0.1:99999/x.mp3' is not a web address AudioFetch can read."),
    ("http://:80/x.mp3", "'http://:80/x.mp3' is not a complete web address."),
])
def test_unreadable_addresses_are_one_sentence_before_any_job(
        tmp_path: Path, url: str, sentence: str) -> None:
    for command in (("get", url), ("page", url, "--list"), ("page", url)):
        result = run_cli(*command, home=tmp_path / "home")
        assert (result.returncode, result.stderr.strip()) == (2, sentence), command
    assert run_cli("jobs", "list", "--json", home=tmp_path / "home").stdout.strip() == "[]"


def test_numbers_and_targets_out_of_their_range_are_usage_errors(tmp_path: Path) -> None:
    port = run_cli("serve", "--port", "99999", home=tmp_path)
    assert port.returncode == 2 and "give a whole number from 0 to 65535" in port.stderr
    assert "Traceback" not in port.stderr
    limit = run_cli("jobs", "list", "--limit", "0", home=tmp_path)
    assert limit.returncode == 2 and "at least 1" in limit.stderr
    assert run_cli("jobs", "list", "--state", "failed", home=tmp_path).stdout.strip() == \
        "No jobs match."
    empty = run_cli("get", "http://127.0.0.1:9/a.mp3", "--target", "", home=tmp_path)
    assert (empty.returncode, empty.stderr.strip()) == (2, (
        "Give --target an address (a folder or s3://bucket/folder), or leave it out for the "
        "download folder."))
    gone = tmp_path / "unplugged" / "Music"
    missing = run_cli("get", "http://127.0.0.1:9/a.mp3", "--target", str(gone), home=tmp_path)
    assert (missing.returncode, missing.stderr.strip()) == (
        2, f"The folder {gone} cannot be reached; is the drive or share connected?")


def test_an_output_folder_whose_parent_is_missing_is_refused_not_made(
        tmp_path: Path, http_server, tone: bytes) -> None:
    """A missing parent is an unplugged drive or share more often than a wish for a new
    tree: one sentence, exit 2, nothing created (as Settings and folder targets do)."""
    http_server.add("/a.mp3", tone, content_type="audio/mpeg")
    gone = tmp_path / "unplugged" / "Music" / "Shows"
    result = run_cli("get", http_server.url_for("/a.mp3"), "-o", str(gone),
                     home=tmp_path / "home")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (f"The folder {gone} cannot be reached; is the drive or "
                                      "share connected?")
    assert not (tmp_path / "unplugged").exists()
    assert "/a.mp3" not in http_server.hits  # refused before anything was fetched
    # A folder whose parent is there is made, as before.
    fresh = tmp_path / "new folder"
    assert run_cli("get", http_server.url_for("/a.mp3"), "-o", str(fresh),
                   home=tmp_path / "home").returncode == 0
    assert (fresh / "a.mp3").read_bytes() == tone


def test_jobs_resume_and_delete(tmp_path: Path, http_server, tone: bytes) -> None:
    http_server.add("/r.mp3", b"", status=503, fail_times=0)
    home = tmp_path / "home"
    failed = run_cli("get", http_server.url_for("/r.mp3"), "-o", str(tmp_path / "o"),
                     home=home, timeout=120)
    assert failed.returncode == 1
    job_id = json.loads(run_cli("jobs", "list", "--json", home=home).stdout)[0]["id"]
    http_server.add("/r.mp3", tone, content_type="audio/mpeg")
    resumed = run_cli("jobs", "resume", job_id, home=home)
    assert resumed.returncode == 0, resumed.stderr
    saved = Path(resumed.stdout.strip().splitlines()[-1])
    assert saved.read_bytes() == tone
    deleted = run_cli("jobs", "delete", job_id, "--files", home=home)
    assert deleted.returncode == 0 and not saved.exists()
    assert run_cli("jobs", "resume", "nope", home=home).returncode == 2


def test_second_process_on_the_same_data_folder_is_refused(tmp_path: Path) -> None:
    from audiofetch_app.core.instance import InstanceLock

    home = tmp_path / "home"
    home.mkdir()
    lock = InstanceLock(home)
    assert lock.acquire()
    try:
        result = run_cli("jobs", home=home)
        assert result.returncode == 1 and "already running" in result.stderr
    finally:
        lock.release()


LOG_LINE = re.compile(r"^\S*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING|ERROR)",
                      re.MULTILINE)


def test_a_quiet_success_and_log_lines_only_with_verbose(tmp_path: Path, http_server,
                                                         tone: bytes) -> None:
    http_server.add("/quiet.mp3", tone, content_type="audio/mpeg")
    home = tmp_path / "home"
    quiet = run_cli("get", http_server.url_for("/quiet.mp3"), "-o", str(tmp_path / "a"),
                    home=home)
    assert quiet.returncode == 0, quiet.stderr
    assert not LOG_LINE.search(quiet.stderr), quiet.stderr
    assert quiet.stderr.strip().splitlines()[-1].startswith("100%")
    log = (home / "logs" / "audiofetch.log").read_text()
    assert "Started direct job" in log  # the log file always has them
    loud = run_cli("get", "-v", http_server.url_for("/quiet.mp3"), "-o", str(tmp_path / "b"),
                   home=home)
    assert loud.returncode == 0, loud.stderr
    assert LOG_LINE.search(loud.stderr) and "Started direct job" in loud.stderr
    assert run_cli("-v", "jobs", home=home).returncode == 0  # -v before the command too


def test_a_404_says_its_sentence_once_and_offers_no_resume(tmp_path: Path,
                                                           http_server) -> None:
    result = run_cli("get", http_server.url_for("/gone.mp3"), "-o", str(tmp_path / "o"),
                     home=tmp_path / "home")
    assert result.returncode == 1
    assert result.stderr.count("404 Not Found") == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        line for line in result.stderr.strip().splitlines() if line.startswith("Failed: ")]
    assert "Resume with" not in result.stderr


def test_a_403_suggests_referer(tmp_path: Path, http_server) -> None:
    http_server.add("/guarded.mp3", b"no", status=403)
    result = run_cli("get", http_server.url_for("/guarded.mp3"), "-o", str(tmp_path / "o"),
                     home=tmp_path / "home")
    assert result.returncode == 1
    assert "403 Forbidden" in result.stderr and "--referer" in result.stderr
    assert "Resume with" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_connection_cut_for_good_offers_resume(tmp_path: Path, http_server,
                                                 tone: bytes) -> None:
    http_server.add("/cut.mp3", tone, content_type="audio/mpeg", cut_after=1000,
                    cut_times=1000, range_support=False)
    result = run_cli("get", http_server.url_for("/cut.mp3"), "-o", str(tmp_path / "o"),
                     home=tmp_path / "home")
    assert result.returncode == 1
    failure = [line for line in result.stderr.splitlines() if line.startswith("Failed: ")]
    assert len(failure) == 1 and "cut off" in failure[0]
    job_id = json.loads(run_cli("jobs", "list", "--json", home=tmp_path / "home").stdout)[0]["id"]
    assert failure[0].endswith(f"Resume with: audiofetch jobs resume {job_id}")
    assert not LOG_LINE.search(result.stderr)


def test_a_blank_or_odd_job_id_gets_a_sentence(tmp_path: Path) -> None:
    blank = run_cli("jobs", "retry", "", home=tmp_path)
    assert blank.returncode == 2
    assert blank.stderr.strip() == "Give the id of a job; `audiofetch jobs list` shows them."
    odd = run_cli("jobs", "delete", "../x", home=tmp_path)
    assert (odd.returncode, odd.stderr.strip()) == (2, "There is no job ../x.")


def test_ctrl_c_names_the_job_to_resume_and_resume_finishes_it(
        tmp_path: Path, http_server, tone: bytes) -> None:
    """Ctrl-C on a download run here (no app open) interrupts it and says how to resume
    that job; the resume saves the whole file."""
    import signal

    from tests.desktop import wait_for

    body = tone * 30
    http_server.add("/slow.mp3", body, content_type="audio/mpeg", chunk_delay=0.05,
                    chunk_size=4096)
    home, out = tmp_path / "home", tmp_path / "out"
    env = dict(os.environ, AUDIOFETCH_HOME=str(home), PYTHONPATH=str(ROOT))
    cli = subprocess.Popen([sys.executable, "-m", "audiofetch_app", "get",
                            http_server.url_for("/slow.mp3"), "-o", str(out)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    def started() -> bool:
        return any(part.stat().st_size for part in out.glob("*.part"))

    wait_for(started, 60, "the download to start")
    cli.send_signal(signal.SIGINT)
    _, err = cli.communicate(timeout=60)
    assert cli.returncode == 130, err
    job_id = json.loads(run_cli("jobs", "list", "--json", home=home).stdout)[0]["id"]
    assert err.strip().splitlines()[-1] == f"Stopped. Resume with: audiofetch jobs resume {job_id}"
    resumed = run_cli("jobs", "resume", job_id, home=home)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "slow.mp3").read_bytes() == body


def test_page_tracks_chooses_by_list_number_and_files_keep_their_page_numbers(
        tmp_path: Path, http_server, tone: bytes) -> None:
    """`page --tracks 2,4-5` saves those tracks, numbered by their place on the page (as
    --list shows them), so a second choice into the same folder never reuses a number."""
    links = "".join(f'<a href="/t/{n}.mp3">Track {n}</a>' for n in range(1, 6))
    http_server.add("/five", f"<html><head><title>Five</title></head><body>{links}</body>"
                    "</html>", content_type="text/html")
    for n in range(1, 6):
        http_server.add(f"/t/{n}.mp3", tone, content_type="audio/mpeg")
    url, home, out = http_server.url_for("/five"), tmp_path / "home", tmp_path / "o"
    listed = run_cli("page", url, "--list", home=home)
    assert [line.split()[0] for line in listed.stdout.splitlines()[1::2]] == [
        "1", "2", "3", "4", "5"]
    first = run_cli("page", url, "--no-zip", "--tracks", "2,4-5", "-o", str(out), home=home)
    assert first.returncode == 0, first.stderr
    second = run_cli("page", url, "--no-zip", "--tracks", "1", "-o", str(out), home=home)
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in (out / "Five").glob("*.mp3")) == [
        "01 - Track 1.mp3", "02 - Track 2.mp3", "04 - Track 4.mp3", "05 - Track 5.mp3"]
    assert "/t/3.mp3" not in http_server.hits
    wrong = run_cli("page", url, "--tracks", "2,7", home=home)
    assert (wrong.returncode, wrong.stderr.strip()) == (
        2, "--tracks: 7 is not among the page's tracks (1 to 5; see --list).")
    odd = run_cli("page", url, "--tracks", "two", home=home)
    assert (odd.returncode, odd.stderr.strip()) == (
        2, "--tracks: “two” is not a track number or a range like 3-5.")


def test_progress_lines_say_what_a_job_waits_for() -> None:
    """A job that waits (X's 404 after a Space ends, a Telegram FLOOD_WAIT) says so on the
    terminal, on a line of its own when nothing else is known yet."""
    import io

    from audiofetch_app.cli.progress import ProgressPrinter
    from audiofetch_app.core.job_record import Job, JobState

    out = io.StringIO()
    printer = ProgressPrinter(out)
    waiting = Job(kind="space", url="https://x.com/i/spaces/1", state=JobState.RUNNING,
                  status="The replay playlist is not there yet (X answered 404); trying "
                         "again in 8 s.")
    printer.update(waiting)
    printer.finish()
    assert out.getvalue() == f"{waiting.status}\n"


def test_a_space_playlist_address_urllib_cannot_read_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("space", "--playlist-url", "http://[::1", "-o", str(tmp_path / "o"),
                     home=tmp_path / "home")
    assert (result.returncode, result.stderr.strip()) == (
        2, "The Space playlist: 'http://[::1' is not a web address AudioFetch can read.")
