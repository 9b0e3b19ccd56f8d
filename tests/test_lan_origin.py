"""The cross-site rule and the trusted-proxy list, and the front door that applies the rule."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from audiofetch_app.web.lan.origin import (
    CROSS_SITE_DETAIL,
    own_origin,
    parse_origin,
    refusal,
    trusted_proxies,
)
from audiofetch_app.web.server import FrontDoor

OWN = own_origin("http", "192.168.1.20:8765")
WS = "ws://192.168.1.20:8765/_nicegui_ws"


def test_origins_compare_by_scheme_host_and_port() -> None:
    assert OWN == ("http", "192.168.1.20", 8765)
    assert parse_origin("HTTP://192.168.1.20:8765") == OWN
    assert own_origin("https", "Audio.Example") == ("https", "audio.example", 443)
    assert own_origin("wss", "[::1]:8765") == ("https", "::1", 8765)
    assert parse_origin("https://audio.example:443") == own_origin("https", "audio.example")
    for bad in ("null", "", "chrome-extension://abc", "http://", "http://h:99999"):
        assert parse_origin(bad) is None, bad
    assert own_origin("http", "evil.example/x") is None


@pytest.mark.parametrize(("headers", "refused"), [
    ({}, False),  # curl, the CLI, old browsers' same-origin forms
    ({"origin": "http://192.168.1.20:8765"}, False),
    ({"origin": "http://192.168.1.20:8765", "sec-fetch-site": "same-origin"}, False),
    ({"sec-fetch-site": "same-origin"}, False),
    ({"sec-fetch-site": "none"}, False),
    ({"origin": "http://evil.example"}, True),
    ({"origin": "http://192.168.1.20:9000"}, True),  # another port on the same host
    ({"origin": "https://192.168.1.20:8765"}, True),
    ({"origin": "null"}, True),
    ({"sec-fetch-site": "cross-site"}, True),
    ({"sec-fetch-site": "same-site"}, True),
    ({"origin": "http://192.168.1.20:8765", "sec-fetch-site": "cross-site"}, True),
    ({"origin": "http://evil.example", "authorization": "Bearer abc"}, False),
    ({"origin": "chrome-extension://abcdefghijklmnop"}, False),  # allowed in Settings
    ({"origin": "chrome-extension://abcdefghijklmnop", "sec-fetch-site": "cross-site"},
     False),
    # Any browser extension: no page can send its origin, and an extension reaching the
    # app has the user's host permission for it (which would also let it script the app's
    # own page), so refusing it would protect nothing.
    ({"origin": "chrome-extension://other"}, False),
    ({"origin": "moz-extension://4b6f1a2e-8c1d-4a0e-9b7e-2f5d3c1a0e9f"}, False),
    ({"origin": "http://chrome-extension.example"}, True),
    ({"origin": "chrome-extension-x://abc"}, True),
])
def test_cross_site_rule(headers: dict[str, str], refused: bool) -> None:
    why = refusal(headers, OWN, {"chrome-extension://abcdefghijklmnop"})
    assert (why is not None) == refused, why


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert trusted_proxies(["127.0.0.1", "10.0.0.0/8,::1", " 127.0.0.1 "]) == [
        "127.0.0.1", "10.0.0.0/8", "::1"]
    assert trusted_proxies([]) == []
    for bad in ("*", "proxy.example", "300.1.1.1"):
        with pytest.raises(ValueError, match="--trusted-proxy"):
            trusted_proxies([bad])


def front_door(**kw: object) -> TestClient:
    api = FastAPI()

    @api.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str) -> dict[str, str]:
        return {"cancelled": job_id}

    @api.get("/api/jobs")
    def jobs() -> dict[str, list]:
        return {"jobs": []}

    ui = FastAPI()

    @ui.post("/_nicegui/upload")
    def upload() -> dict[str, bool]:
        return {"uploaded": True}

    @ui.websocket("/_nicegui_ws")
    async def ws(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text("hello")
        await socket.close()

    return TestClient(FrontDoor(api, ui, **kw), base_url="http://192.168.1.20:8765")


def test_front_door_refuses_cross_site_writes_everywhere() -> None:
    client = front_door(allowed_origins=["chrome-extension://abcdefghijklmnop"])
    foreign = {"origin": "http://192.168.1.20:9000"}
    refused = client.post("/api/jobs/j1/cancel", headers=foreign)
    assert refused.status_code == 403 and refused.json() == {"detail": CROSS_SITE_DETAIL}
    assert client.post("/_nicegui/upload", headers=foreign).status_code == 403
    assert client.post("/api/jobs/j1/cancel").json() == {"cancelled": "j1"}
    assert client.post("/api/jobs/j1/cancel",
                       headers={"origin": "http://192.168.1.20:8765"}).status_code == 200
    assert client.get("/api/jobs", headers=foreign).status_code == 200  # reads are CORS's job
    assert client.post("/api/jobs/j1/cancel", headers={
        **foreign, "authorization": "Bearer t"}).status_code == 200
    assert client.post("/api/jobs/j1/cancel", headers={
        "origin": "chrome-extension://abcdefghijklmnop"}).status_code == 200
    with pytest.raises(WebSocketDisconnect) as closed, \
            client.websocket_connect(WS, headers=foreign):
        pass
    assert closed.value.code == 4403
    with client.websocket_connect(WS, headers={"origin": "http://192.168.1.20:8765"}) as socket:
        assert socket.receive_text() == "hello"


def test_loopback_front_door_wants_a_loopback_host() -> None:
    """A page on a rebound DNS name is same-origin with itself, not with the app."""
    client = front_door(loopback_host=True)
    rebound = {"host": "evil.example:8765", "origin": "http://evil.example:8765"}
    assert client.post("/api/jobs/j1/cancel", headers=rebound).status_code == 403
    for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765"):
        own = {"host": host, "origin": f"http://{host}"}
        assert client.post("/api/jobs/j1/cancel", headers=own).status_code == 200, host
