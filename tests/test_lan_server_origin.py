"""Real servers on loopback: writes from another site's page, and who the client is behind
(or without) a trusted proxy.

One LAN server without a trusted proxy (its lockout test comes last), one LAN server that
trusts 127.0.0.1 as its proxy, and one loopback server with no password at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from audiofetch_app.web.lan.origin import CROSS_SITE_DETAIL
from tests.desktop import AppProcess, free_port, wait_for, wait_for_http
from tests.test_lan_server import PASSWORD, Lan, wait_for_login_page

pytestmark = pytest.mark.timeout(300)

EVIL = "http://evil.example"
SLOW = b"ID3" + b"\0" * 4_000_000  # about a minute at the drip below: still running when cancelled


def start_lan(root: Path, *extra: str) -> Iterator[Lan]:
    home = root / "home"
    password_file = root / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    port = free_port()
    with AppProcess(["serve", "--host", "0.0.0.0", "--port", str(port),
                     "--password-file", str(password_file), *extra], home, root / "logs",
                    env={"AUDIOFETCH_PASSWORD": ""}) as app:
        url = app.wait_for_url(timeout=180)
        wait_for_login_page(app, url)
        yield Lan(app, url, home)


@pytest.fixture(scope="module")
def lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lan]:
    yield from start_lan(tmp_path_factory.mktemp("lan-origin"))


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lan]:
    yield from start_lan(tmp_path_factory.mktemp("lan-proxy"), "--trusted-proxy", "127.0.0.1")


def slow_link(http_server) -> str:
    http_server.add("/slow.mp3", SLOW, content_type="audio/mpeg", chunk_delay=0.25)
    return http_server.url_for("/slow.mp3")


def state(c: httpx.Client, job_id: str, **kw: object) -> str:
    answer = c.get(f"/api/status/{job_id}", **kw)
    assert answer.status_code == 200, answer.text
    return answer.json()["state"]


def assert_cross_site_refusal(answer: httpx.Response) -> None:
    assert answer.status_code == 403, (answer.status_code, answer.text)
    assert answer.json() == {"detail": CROSS_SITE_DETAIL}
    assert "set-cookie" not in answer.headers


def test_cookie_writes_from_another_site_are_refused(lan: Lan, http_server) -> None:
    link = slow_link(http_server)
    port = lan.url.rsplit(":", 1)[1]
    with lan.client() as c:
        login = c.post("/api/auth/login", data={"password": PASSWORD, "next": "/"},
                       headers={"origin": lan.url})
        assert login.status_code == 303 and "af_session" in c.cookies
        job_id = c.post("/api/download", json={"url": link, "kind": "direct"},
                        headers={"origin": lan.url}).json()["job_id"]
        foreign = [{"origin": EVIL}, {"origin": f"http://127.0.0.1:{int(port) + 1}"},
                   {"origin": f"http://localhost:{port}"}, {"origin": "null"},
                   {"sec-fetch-site": "same-site"}, {"sec-fetch-site": "cross-site"}]
        for headers in foreign:
            assert_cross_site_refusal(c.post(f"/api/jobs/{job_id}/cancel", headers=headers))
            assert_cross_site_refusal(c.delete(f"/api/jobs/{job_id}", headers=headers))
            assert_cross_site_refusal(c.post("/api/download", headers=headers,
                                             content=json.dumps({"url": link}).encode()))
        assert_cross_site_refusal(c.post("/api/auth/logout", headers={"origin": EVIL}))
        assert state(c, job_id) in ("queued", "running")  # not cancelled, not deleted
        assert c.get("/api/jobs", headers={"origin": EVIL}).json()["total"] == 1  # reads pass
        same = c.post(f"/api/jobs/{job_id}/cancel",
                      headers={"origin": lan.url, "sec-fetch-site": "same-origin"})
        assert same.status_code == 200 and same.json()["state"] == "cancelled"
        assert c.post("/api/jobs/x/cancel").status_code == 404  # no Origin at all: curl
    wait_for(lambda: "Refused a cross-site POST /api/jobs/" in lan.log_text(), 10,
             "the refusal in the log")


def test_bearer_token_clients_are_unaffected(lan: Lan, http_server) -> None:
    link = slow_link(http_server)
    bearer = {"authorization": f"Bearer {lan.token()}", "origin": EVIL,
              "sec-fetch-site": "cross-site"}
    with lan.client() as c:
        started = c.post("/api/download", json={"url": link, "kind": "direct"}, headers=bearer)
        assert started.status_code == 200, started.text
        job_id = started.json()["job_id"]
        cancelled = c.post(f"/api/jobs/{job_id}/cancel", headers=bearer)
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        assert c.delete(f"/api/jobs/{job_id}", headers=bearer).status_code == 200


def test_login_form_from_another_site_is_refused(lan: Lan) -> None:
    with lan.client() as c:
        for headers in ({"origin": EVIL}, {"sec-fetch-site": "cross-site"}):
            assert_cross_site_refusal(c.post("/api/auth/login", headers=headers,
                                             data={"password": PASSWORD, "next": "/"}))
            assert_cross_site_refusal(c.post("/api/auth/login", headers=headers,
                                             json={"password": PASSWORD}))
        assert "af_session" not in c.cookies
        same = c.post("/api/auth/login", data={"password": PASSWORD, "next": "/"},
                      headers={"origin": lan.url, "sec-fetch-site": "same-origin"})
        assert same.status_code == 303 and "af_session" in c.cookies


def test_forged_forwarded_for_is_ignored_without_a_trusted_proxy(lan: Lan) -> None:
    """Last: it locks this client's address out."""
    codes = []
    with lan.client() as c:
        for i in range(12):
            answer = c.post("/api/auth/login", json={"password": "guess guess"},
                            headers={"x-forwarded-for": f"203.0.113.{i + 1}"})
            codes.append(answer.status_code)
        assert codes == [401] * 4 + [429] * 8, codes
        right = c.post("/api/auth/login", json={"password": PASSWORD},
                       headers={"x-forwarded-for": "203.0.113.99"})
        assert right.status_code == 429 and int(right.headers["retry-after"]) <= 60
    wait_for(lambda: lan.log_text().count("Wrong LAN password from 127.0.0.1") == 4, 10,
             "the refusals in the log")
    text = lan.log_text()
    assert "locked out" in text and "203.0.113." not in text


def test_trusted_proxy_names_the_client(proxied: Lan) -> None:
    with proxied.client() as c:
        def guess(forwarded_for: str) -> int:
            return c.post("/api/auth/login", json={"password": "guess guess"},
                          headers={"x-forwarded-for": forwarded_for}).status_code

        assert [guess("203.0.113.7") for _ in range(5)] == [401] * 4 + [429]
        # The proxy appends the peer it saw: the rightmost hop it does not trust is the client,
        # whatever the client put in front of it.
        assert guess("198.51.100.1, 203.0.113.8") == 401
        assert guess("198.51.100.1, 203.0.113.7") == 429
        assert guess("203.0.113.7, 127.0.0.1") == 429
        # The proxy itself (and every other client) is not locked out.
        assert c.post("/api/auth/login", json={"password": PASSWORD}).status_code == 200
        # A TLS proxy passing Host and X-Forwarded-Proto: its https origin is the server's own.
        tls = {"host": "audio.example", "x-forwarded-proto": "https",
               "x-forwarded-for": "203.0.113.20"}
        form = {"password": PASSWORD, "next": "/"}
        assert c.post("/api/auth/login", data=form,
                      headers={**tls, "origin": "https://audio.example"}).status_code == 303
        assert_cross_site_refusal(c.post("/api/auth/login", data=form,
                                         headers={**tls, "origin": "http://audio.example"}))
    wait_for(lambda: "Wrong LAN password from 203.0.113.8" in proxied.log_text(), 10,
             "the refusals in the log")
    text = proxied.log_text()
    assert "Wrong LAN password from 203.0.113.7" in text
    assert "198.51.100.1" not in text
    assert "Wrong LAN password from 127.0.0.1" not in text  # the proxy is not the client


def test_loopback_server_refuses_cross_site_writes(tmp_path: Path, http_server) -> None:
    link = slow_link(http_server)
    home = tmp_path / "home"
    port = free_port()
    with AppProcess(["serve", "--port", str(port)], home, tmp_path / "logs") as app:
        url = app.wait_for_url(timeout=180)
        wait_for_http(url + "/", timeout=120, alive=app.check_alive)
        body = json.dumps({"url": link, "kind": "direct"})
        rebound = f"evil.example:{port}"
        with httpx.Client(base_url=url, timeout=30) as c:
            for headers in ({"origin": EVIL, "content-type": "text/plain"},
                            {"origin": EVIL, "content-type": "application/json"},
                            {"origin": f"http://127.0.0.1:{port + 1}",
                             "content-type": "application/json"},
                            {"sec-fetch-site": "cross-site", "content-type": "text/plain"},
                            {"host": rebound, "origin": f"http://{rebound}",
                             "content-type": "application/json"}):
                assert_cross_site_refusal(c.post("/api/download", content=body,
                                                 headers=headers))
            assert_cross_site_refusal(c.post("/api/download", data={"url": link},
                                             headers={"origin": EVIL}))
            assert c.get("/api/jobs").json()["total"] == 0  # nothing was started
            # The app's own pages, the CLI and curl still work.
            own = c.post("/api/download", content=body,
                         headers={"origin": url, "sec-fetch-site": "same-origin",
                                  "content-type": "application/json"})
            assert own.status_code == 200, own.text
            plain = c.post("/api/download", content=body,
                           headers={"content-type": "application/json"})
            assert plain.status_code == 200, plain.text
            job_id = plain.json()["job_id"]
            assert_cross_site_refusal(c.post(f"/api/jobs/{job_id}/cancel",
                                             headers={"origin": EVIL}))
            assert state(c, job_id) in ("queued", "running")
            assert c.post(f"/api/jobs/{job_id}/cancel").json()["state"] == "cancelled"
            assert c.post(f"/api/jobs/{own.json()['job_id']}/cancel",
                          headers={"origin": url}).status_code == 200
        log = Lan(app, url, home)
        wait_for(lambda: "Refused a cross-site POST /api/download from 127.0.0.1"
                 in log.log_text(), 10, "the refusal in the log")
