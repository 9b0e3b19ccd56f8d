"""LAN mode end to end: `audiofetch serve --host 0.0.0.0` with a password, over real HTTP.

One server for the module (starting NiceGUI is slow on two cores); tests that lock an
address out or change settings come last or use their own server.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.desktop import AppProcess, free_port, wait_for
from tests.media import make_tone

PASSWORD = "household secret 42"
pytestmark = pytest.mark.timeout(300)


class Lan:
    def __init__(self, app: AppProcess, url: str, home: Path) -> None:
        self.app = app
        self.url = url
        self.home = home

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False, **kw)

    def token(self) -> str:
        with self.client() as c:
            answer = c.post("/api/auth/login", json={"password": PASSWORD})
            assert answer.status_code == 200, answer.text
            return answer.json()["token"]

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")
                         for p in (self.home / "logs").glob("*.log*"))


def wait_for_login_page(app: AppProcess, url: str) -> None:
    def up() -> bool:
        app.check_alive()
        try:
            return httpx.get(url + "/login", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 120, "the LAN server to answer")


@pytest.fixture(scope="module")
def lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lan]:
    root = tmp_path_factory.mktemp("lan")
    home = root / "home"
    password_file = root / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    port = free_port()
    with AppProcess(["serve", "--host", "0.0.0.0", "--port", str(port),
                     "--password-file", str(password_file)], home, root / "logs",
                    env={"AUDIOFETCH_PASSWORD": ""}) as app:
        url = app.wait_for_url(timeout=180)
        assert url == f"http://127.0.0.1:{port}"
        wait_for_login_page(app, url)
        wait_for(lambda: "Routes:" in Lan(app, url, home).log_text(), 30, "the route list")
        yield Lan(app, url, home)


def concrete(path: str) -> str:
    """A request path for a route path: every {parameter} filled in."""
    return re.sub(r"\{[^}:]+(:path)?\}", lambda m: "x/y" if m.group(1) else "x", path) or "/"


def test_every_route_needs_the_login(lan: Lan) -> None:
    line = next(x for x in lan.log_text().splitlines() if "Routes: " in x)
    routes = json.loads(line.split("Routes: ", 1)[1])
    assert any(r["path"] == "/api/jobs" for r in routes)  # the list is the real one
    public = {"/login", "/api/auth/login", "/favicon.ico"}
    static = next(r["path"] for r in routes if r["path"].endswith("/static"))
    checked = 0
    with lan.client() as c:
        for route in routes:
            path = concrete(route["path"])
            if route["path"] in public or route["path"] == static:
                continue
            if route["kind"] == "Mount":
                path = path.rstrip("/") + "/socket.io/?EIO=4&transport=polling"
            for method in route["methods"] or ["GET", "POST"]:
                if method == "HEAD":
                    continue
                response = c.request(method, path, json={} if method != "GET" else None)
                assert response.status_code == 401, (method, path, response.status_code)
                assert "Log in first" in response.json()["detail"]
                checked += 1
        # Pages (NiceGUI answers unknown paths with the app page) go to the login page.
        for path in ("/", "/jobs", "/anything/else", "/_nicegui/unknown"):
            page = c.get(path, headers={"accept": "text/html"})
            assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert checked > 20


def test_websocket_needs_the_login(lan: Lan) -> None:
    host, port = lan.url.removeprefix("http://").split(":")
    request = (f"GET /_nicegui_ws/socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
               f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request.encode())
        answer = sock.recv(1024).decode(errors="replace")
    assert " 101 " not in answer.splitlines()[0], answer
    with lan.client(headers={"authorization": f"Bearer {lan.token()}"}) as c:
        polling = c.get("/_nicegui_ws/socket.io/?EIO=4&transport=polling")
        assert polling.status_code == 200 and polling.text.startswith("0")


def test_program_login_rest_and_logout(lan: Lan, http_server) -> None:
    token = lan.token()
    auth = {"authorization": f"Bearer {token}"}
    with lan.client(headers=auth) as c:
        assert c.get("/api/jobs").status_code == 200
        assert c.get("/api/downloads").status_code == 200
        assert "/api/auth/login" in c.get("/openapi.json").json()["paths"]
        assert c.get("/docs").status_code == 200
        for bad in ("file:///etc/passwd", "javascript:alert(1)", "ftp://example.com/a.mp3",
                    "data:audio/mp3;base64,AAAA", "http://", "//example.com/a.mp3"):
            refused = c.post("/api/download", json={"url": bad})
            assert refused.status_code == 422, (bad, refused.text)
            assert isinstance(refused.json()["detail"], str)
        for path in ("/api/status/..%2F..%2Fetc%2Fpasswd", "/api/downloads/..%2Fsecret/zip",
                     "/api/downloads/%2e%2e/zip", "/api/stream/..%5C..%5Cx"):
            answer = c.get(path)
            # A path that matches no route gets the app's page (NiceGUI's catch-all), never
            # a file from outside.
            assert answer.status_code in (400, 404) or answer.headers[
                "content-type"].startswith("text/html"), (path, answer.status_code)
            assert "root:" not in answer.text
        too_big = c.post("/api/download", content=b"{" + b" " * 200_000 + b"}",
                         headers={"content-type": "application/json"})
        assert too_big.status_code == 413 and "too large" in too_big.json()["detail"]
        upload = c.post("/api/telegram/sessions/upload", data={"name": "x"},
                        files={"file": ("big.session", b"\0" * (3 * 1024 * 1024))})
        assert upload.status_code == 413
        assert c.post("/api/auth/logout").status_code == 200
        assert c.get("/api/jobs").status_code == 401


def test_live_progress_over_server_sent_events(lan: Lan, http_server, tmp_path: Path) -> None:
    # Real audio: a direct download is checked by FFmpeg before it counts as done.
    tone = make_tone(tmp_path / "a.mp3", seconds=2).read_bytes()
    http_server.add("/a.mp3", tone, content_type="audio/mpeg")
    auth = {"authorization": f"Bearer {lan.token()}"}
    with httpx.Client(base_url=lan.url, timeout=30) as c:
        with c.stream("GET", "/api/events") as denied:
            assert denied.status_code == 401
        with c.stream("GET", "/api/events", headers=auth) as events:
            assert events.headers["content-type"].startswith("text/event-stream")
            started = c.post("/api/download", headers=auth,
                             json={"url": http_server.url_for("/a.mp3"), "kind": "direct"})
            job_id = started.json()["job_id"]
            seen: list[tuple[str, dict]] = []
            kind = ""
            deadline = time.monotonic() + 60
            for line in events.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    seen.append((kind, json.loads(line[6:])))
                    if seen[-1][1]["id"] == job_id and seen[-1][1]["state"] in (
                            "done", "failed"):
                        break
                assert time.monotonic() < deadline
    kinds = [k for k, job in seen if job["id"] == job_id]
    assert kinds[0] == "added" and "updated" in kinds
    assert seen[-1][1]["state"] == "done", seen[-1][1]["error"]


def test_job_events_over_the_websocket_need_the_login(lan: Lan, http_server,
                                                     tmp_path: Path) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    tone = make_tone(tmp_path / "ws.mp3", seconds=1).read_bytes()
    http_server.add("/ws.mp3", tone, content_type="audio/mpeg")
    address = lan.url.replace("http://", "ws://") + "/ws"
    with pytest.raises(InvalidStatus) as refused:
        connect(address, open_timeout=30)
    assert refused.value.response.status_code == 403  # the gate refuses the handshake
    token = lan.token()
    auth = {"authorization": f"Bearer {token}"}
    with connect(address, additional_headers=auth, open_timeout=30) as socket:
        started = httpx.post(lan.url + "/api/download", headers=auth, timeout=30, json={
            "url": http_server.url_for("/ws.mp3"), "kind": "direct"})
        job_id = started.json()["job_id"]
        seen: list[dict] = []
        while not seen or seen[-1]["job"]["state"] not in ("done", "failed"):
            message = json.loads(socket.recv(timeout=60))
            if message["job"]["id"] == job_id:
                seen.append(message)
    assert seen[0]["type"] == "added" and seen[-1]["job"]["state"] == "done"


def test_the_command_line_on_this_computer_uses_the_shared_app(lan: Lan, http_server,
                                                               tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.desktop import ROOT, app_environment

    tone = make_tone(tmp_path / "b.mp3", seconds=1).read_bytes()
    http_server.add("/b.mp3", tone, content_type="audio/mpeg")
    result = subprocess.run(
        [sys.executable, "-m", "audiofetch_app", "get", http_server.url_for("/b.mp3"), "-o",
         str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**app_environment(), "AUDIOFETCH_HOME": str(lan.home)})
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip().splitlines()[-1]).read_bytes() == tone
    local = {"authorization": f"Bearer {(lan.home / 'local.token').read_text().strip()}"}
    with lan.client(headers=local) as c:
        assert c.get("/api/jobs").status_code == 200
        # Through a proxy it may be anyone: the local token counts only when sent directly.
        assert c.get("/api/jobs", headers={"x-forwarded-for": "192.168.1.9"}
                     ).status_code == 401


def test_password_never_reaches_the_log(lan: Lan) -> None:
    with lan.client() as c:
        c.post("/api/auth/login", json={"password": "wrong " + PASSWORD})
    text = lan.log_text()
    assert PASSWORD not in text and "Routes:" in text
    assert PASSWORD not in (lan.home / "audiofetch.json").read_text()
    secret = lan.home / "storage.secret"
    assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_text()) >= 32


def test_cors_is_off_by_default(lan: Lan) -> None:
    with lan.client() as c:
        preflight = c.options("/api/jobs", headers={
            "origin": "chrome-extension://abcdefghijklmnop",
            "access-control-request-method": "GET"})
        assert "access-control-allow-origin" not in preflight.headers


def test_browser_session_cookie_fixation_and_lockout(lan: Lan) -> None:
    """Last: it locks this client's address out."""
    with lan.client() as c:
        planted = {"cookie": "af_session=attacker-chosen-value"}
        assert c.get("/api/jobs", headers=planted).status_code == 401
        form = c.post("/api/auth/login", data={"password": PASSWORD, "next": "/"},
                      headers=planted)
        assert form.status_code == 303 and form.headers["location"] == "/"
        cookie = form.headers["set-cookie"]
        assert "attacker" not in cookie and "HttpOnly" in cookie
        token = cookie.split(";")[0].split("=", 1)[1]
        page = c.get("/", headers={"cookie": f"af_session={token}", "accept": "text/html"})
        assert page.status_code == 200 and "<html" in page.text.lower()
        for _ in range(4):
            assert c.post("/api/auth/login", json={"password": "guess"}).status_code == 401
        assert c.post("/api/auth/login", json={"password": "guess"}).status_code == 429
        locked = c.post("/api/auth/login", json={"password": PASSWORD})
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) <= 60
        assert "try again in" in locked.json()["detail"]


def test_password_from_environment_and_cors_for_an_extension(tmp_path: Path) -> None:
    from audiofetch_app.core.store import Store
    from audiofetch_app.settings import SettingsService

    home = tmp_path / "home"
    home.mkdir()
    store = Store(home / "audiofetch.json")
    SettingsService(store).update(cors_origins="chrome-extension://abcdefghijklmnop")
    store.close()
    secret = "from the environment 7"
    port = free_port()
    with AppProcess(["serve", "--host", "0.0.0.0", "--port", str(port)], home,
                    tmp_path / "logs", env={"AUDIOFETCH_PASSWORD": secret}) as app:
        url = app.wait_for_url(timeout=180)
        lan = Lan(app, url, home)
        wait_for_login_page(app, url)
        with lan.client() as c:
            extension = {"origin": "chrome-extension://abcdefghijklmnop"}
            preflight = c.options("/api/jobs", headers={
                **extension, "access-control-request-method": "GET",
                "access-control-request-headers": "authorization"})
            assert preflight.status_code == 200
            assert preflight.headers["access-control-allow-origin"] == extension["origin"]
            other = c.options("/api/jobs", headers={
                "origin": "https://evil.example", "access-control-request-method": "GET"})
            assert "access-control-allow-origin" not in other.headers
            token = c.post("/api/auth/login", json={"password": secret}).json()["token"]
            listed = c.get("/api/jobs", headers={**extension,
                                                 "authorization": f"Bearer {token}"})
            assert listed.status_code == 200
            assert listed.headers["access-control-allow-origin"] == extension["origin"]
            c.cookies.clear()  # the login also set a session cookie; a bare request has none
            assert c.get("/api/jobs", headers=extension).status_code == 401
            c.post("/api/auth/login", json={"password": secret + "x"})
        wait_for(lambda: "Wrong LAN password" in lan.log_text(), 10, "the refusal in the log")
        assert secret not in lan.log_text()
        assert secret not in (home / "audiofetch.json").read_text()
