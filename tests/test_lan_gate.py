"""The LAN gate on a small app: login by form and JSON, tokens, cookies, lockout, logout."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from audiofetch_app.core.store import Store
from audiofetch_app.settings import SettingsService
from audiofetch_app.web.auth import SESSION_COOKIE, LanAuth, LanGate, safe_next
from audiofetch_app.web.auth_routes import build_auth_router
from audiofetch_app.web.lan.access import LanAccess
from audiofetch_app.web.lan.passwords import PasswordStore

PASSWORD = "a household secret"


@pytest.fixture(scope="module")
def hashed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database with the password set (Scrypt is slow on purpose: hash it once)."""
    path = tmp_path_factory.mktemp("auth") / "db.json"
    PasswordStore(Store(path)).set(PASSWORD)
    return path


@pytest.fixture
def client(hashed: Path, tmp_path: Path) -> TestClient:
    db = tmp_path / "db.json"
    db.write_bytes(hashed.read_bytes())
    store = Store(db)
    settings = SettingsService(store)
    auth = LanAuth(LanAccess(store, settings))
    app = FastAPI()
    app.include_router(build_auth_router(lambda: auth))

    @app.get("/")
    def home() -> dict[str, str]:
        return {"page": "home"}

    @app.get("/api/jobs")
    def jobs() -> dict[str, list]:
        return {"jobs": []}

    @app.get("/_nicegui/1.0/static/app.css")
    def static() -> str:
        return "css"

    @app.websocket("/ws")
    async def ws(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text("hello")
        await socket.close()

    app.add_middleware(LanGate, auth=auth, static_prefix="/_nicegui/1.0/static/")
    c = TestClient(app, base_url="http://192.168.1.20:8765")
    c.auth_obj = auth  # type: ignore[attr-defined]
    return c


def test_everything_needs_the_login_but_the_door(client: TestClient) -> None:
    assert client.get("/api/jobs").status_code == 401
    assert client.get("/api/jobs").json()["detail"].startswith("Log in first")
    page = client.get("/?x=1", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/%3Fx%3D1"
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws"):
        pass
    assert closed.value.code == 4401
    assert client.get("/login").status_code == 200
    assert client.get("/_nicegui/1.0/static/app.css").status_code == 200


def test_program_login_with_bearer_token_and_logout(client: TestClient) -> None:
    answer = client.post("/api/auth/login", json={"password": PASSWORD})
    assert answer.status_code == 200
    token = answer.json()["token"]
    client.cookies.clear()  # a program uses the header only
    bearer = {"authorization": f"Bearer {token}"}
    assert client.get("/api/jobs", headers=bearer).json() == {"jobs": []}
    with client.websocket_connect("/ws", headers=bearer) as socket:
        assert socket.receive_text() == "hello"
    assert client.post("/api/auth/logout", headers=bearer).status_code == 200
    assert client.get("/api/jobs", headers=bearer).status_code == 401


def test_browser_login_form_sets_a_fresh_cookie(client: TestClient) -> None:
    planted = {"cookie": f"{SESSION_COOKIE}=planted-by-an-attacker"}
    assert client.get("/api/jobs", headers=planted).status_code == 401
    done = client.post("/api/auth/login", data={"password": PASSWORD, "next": "/?tab=jobs"},
                       headers=planted, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/?tab=jobs"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "planted" not in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    client.cookies.clear()
    session = {"cookie": f"{SESSION_COOKIE}={token}", "accept": "text/html"}
    assert client.get("/", headers=session).json() == {"page": "home"}
    assert client.get("/api/jobs", headers=planted).status_code == 401
    assert client.post("/api/auth/logout", headers=session,
                       follow_redirects=False).status_code == 303
    assert client.get("/api/jobs", headers=session).status_code == 401  # gone with the logout


def test_wrong_password_then_lockout(client: TestClient) -> None:
    for _ in range(4):
        wrong = client.post("/api/auth/login", json={"password": "guess guess"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == (
            "The password is not correct.")
    locked = client.post("/api/auth/login", json={"password": "guess guess"})
    assert locked.status_code == 429 and locked.headers["retry-after"] == "60"
    assert "try again in 60 seconds" in locked.json()["detail"]
    # Even the right password waits out the lockout.
    assert client.post("/api/auth/login", json={"password": PASSWORD}).status_code == 429
    form = client.post("/api/auth/login", data={"password": PASSWORD}, follow_redirects=False)
    assert form.status_code == 303 and "try%20again" in form.headers["location"]
    page = client.get(form.headers["location"])
    assert "Too many wrong passwords" in page.text


def test_login_page_escapes_and_limits(client: TestClient) -> None:
    page = client.get('/login?next="><script>alert(1)</script>&error=<b>x</b>')
    assert "<script>alert(1)" not in page.text and "<b>x</b>" not in page.text
    big = client.post("/api/auth/login", content=b"password=" + b"x" * 20_000,
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert big.status_code == 400 and "too large" in big.json()["detail"]
    bad = client.post("/api/auth/login", content=b"[1]",
                      headers={"content-type": "application/json"})
    assert bad.status_code == 400


@pytest.mark.parametrize(("target", "safe"), [
    ("/?tab=jobs", "/?tab=jobs"), ("//evil.example/x", "/"), ("https://evil.example", "/"),
    ("/\\evil.example", "/"), ("javascript:alert(1)", "/"), ("", "/"), (None, "/"),
])
def test_only_local_redirects_after_login(target: str | None, safe: str) -> None:
    assert safe_next(target) == safe


@pytest.mark.parametrize(("peer", "allowed"), [("127.0.0.1", True), ("::1", True),
                                               ("192.168.1.9", False), ("testclient", False)])
def test_the_local_token_counts_only_from_this_computer(hashed: Path, tmp_path: Path,
                                                        peer: str, allowed: bool) -> None:
    db = tmp_path / "db.json"
    db.write_bytes(hashed.read_bytes())
    store = Store(db)
    auth = LanAuth(LanAccess(store, SettingsService(store)), local_token="L" * 43)
    app = FastAPI()

    @app.get("/api/jobs")
    def jobs() -> dict[str, list]:
        return {"jobs": []}

    app.add_middleware(LanGate, auth=auth, static_prefix="/static/")
    c = TestClient(app, base_url="http://192.168.1.20:8765", client=(peer, 50000))
    good = c.get("/api/jobs", headers={"authorization": "Bearer " + "L" * 43})
    assert good.status_code == (200 if allowed else 401)
    assert c.get("/api/jobs", headers={"authorization": "Bearer " + "M" * 43}
                 ).status_code == 401
