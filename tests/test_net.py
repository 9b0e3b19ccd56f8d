"""core.net against a real loopback server: retries, Retry-After, Range resume, limits."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import certifi
import httpx
import pytest

from audiofetch_app.core import net
from audiofetch_app.core.net import (
    USER_AGENT,
    CookieFileError,
    DiskError,
    HTTPStatusError,
    NetError,
    NotAudioError,
    RetryPolicy,
    TooLargeError,
)
from tests.fakes.http_server import Request

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)
AUDIO = bytes(range(256)) * 4096  # 1 MiB that is easy to tell apart at any offset


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with net.make_client(timeout=10) as c:
        yield c


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` on the event loop until it holds (fail after `timeout`)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.01)


def part_of(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def assert_one_sentence(text: str) -> None:
    assert text.endswith(".") and "\n" not in text and "Traceback" not in text
    assert "httpx" not in text and "Error" not in text


# -- download ---------------------------------------------------------------------------

async def test_download_streams_to_dest_and_reports_progress(http_server, client, tmp_path):
    http_server.add("/a.mp3", AUDIO, content_type="audio/mpeg")
    dest = tmp_path / "sub" / "a.mp3"
    calls: list[tuple[int, int | None]] = []

    result = await net.download(client, http_server.url_for("/a.mp3"), dest,
                                on_progress=lambda done, total: calls.append((done, total)),
                                chunk_size=64 * 1024, policy=FAST)

    assert dest.read_bytes() == AUDIO and not part_of(dest).exists()
    assert result.path == dest and result.size == len(AUDIO) and not result.resumed
    assert result.content_type == "audio/mpeg"
    assert result.final_url == http_server.url_for("/a.mp3")
    assert calls[-1] == (len(AUDIO), len(AUDIO))
    assert all(total == len(AUDIO) for _, total in calls)
    dones = [done for done, _ in calls]
    assert dones == sorted(dones) and len(dones) >= 2


async def test_download_without_content_length_reports_unknown_total(http_server, client,
                                                                     tmp_path):
    http_server.add("/live.aac", AUDIO, chunked=True)
    calls: list[tuple[int, int | None]] = []
    result = await net.download(client, http_server.url_for("/live.aac"), tmp_path / "l.aac",
                                on_progress=lambda d, t: calls.append((d, t)))
    assert result.size == len(AUDIO)
    assert calls[-1] == (len(AUDIO), None)


async def test_download_retries_500_twice_then_succeeds(http_server, client, tmp_path):
    http_server.add("/a.mp3", AUDIO, fail_times=2, fail_status=500)
    result = await net.download(client, http_server.url_for("/a.mp3"), tmp_path / "a.mp3",
                                policy=FAST)
    assert http_server.hits["/a.mp3"] == 3
    assert result.path.read_bytes() == AUDIO


async def test_request_honours_retry_after_on_429(http_server, client):
    http_server.add("/api", b'{"ok": true}', content_type="application/json",
                    fail_times=1, fail_status=429, retry_after="1")
    started = time.monotonic()
    response = await net.request(client, "GET", http_server.url_for("/api"), policy=FAST)
    assert response.json() == {"ok": True}
    assert http_server.hits["/api"] == 2
    assert time.monotonic() - started >= 0.9


async def test_download_honours_retry_after_http_date_capped(http_server, client, tmp_path):
    # An hour away, capped to 0.3 s: only waiting that long proves the date was understood.
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    http_server.add("/a.mp3", AUDIO, fail_times=1, fail_status=503, retry_after=later)
    policy = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.001, max_retry_after=0.3)
    started = time.monotonic()
    await net.download(client, http_server.url_for("/a.mp3"), tmp_path / "a.mp3",
                       policy=policy)
    assert http_server.hits["/a.mp3"] == 2
    assert time.monotonic() - started >= 0.25


async def test_404_is_a_readable_error_without_retry(http_server, client, tmp_path):
    dest = tmp_path / "gone.mp3"
    with pytest.raises(HTTPStatusError) as caught:
        await net.download(client, http_server.url_for("/gone.mp3?sig=abc"), dest,
                           policy=FAST)
    error = caught.value
    assert error.status == 404
    assert error.url == http_server.url_for("/gone.mp3")
    assert str(error).startswith("The server answered 404 Not Found for 127.0.0.1:")
    assert "/gone.mp3" in str(error) and "sig=abc" not in str(error)
    assert_one_sentence(str(error))
    assert http_server.hits["/gone.mp3"] == 1
    assert not dest.exists() and not part_of(dest).exists()


async def test_request_4xx_without_expect_ok_returns_response(http_server, client):
    http_server.add("/teapot", b"short and stout", status=418)
    response = await net.request(client, "GET", http_server.url_for("/teapot"),
                                 policy=FAST, expect_ok=False)
    assert response.status_code == 418 and response.text == "short and stout"
    assert http_server.hits["/teapot"] == 1


async def test_cut_mid_body_resumes_with_range(http_server, client, tmp_path):
    http_server.add("/a.mp3", AUDIO, cut_after=300_000)
    dest = tmp_path / "a.mp3"
    result = await net.download(client, http_server.url_for("/a.mp3"), dest, policy=FAST)
    assert dest.read_bytes() == AUDIO
    assert result.resumed
    second = http_server.requests_to("/a.mp3")[1]
    assert second.headers["Range"] == "bytes=300000-"


async def test_repeated_cuts_keep_going_while_each_try_gets_further(http_server, client,
                                                                   tmp_path):
    # Ten cuts are more than FAST.attempts, but every try adds bytes, so none is wasted.
    http_server.add("/a.mp3", AUDIO, cut_after=100_000, cut_times=10)
    dest = tmp_path / "a.mp3"
    await net.download(client, http_server.url_for("/a.mp3"), dest, policy=FAST)
    assert dest.read_bytes() == AUDIO
    assert http_server.hits["/a.mp3"] == 11


async def test_cut_on_server_without_range_restarts_cleanly(http_server, client, tmp_path):
    http_server.add("/a.mp3", AUDIO, cut_after=300_000, range_support=False)
    dest = tmp_path / "a.mp3"
    result = await net.download(client, http_server.url_for("/a.mp3"), dest, policy=FAST)
    assert dest.read_bytes() == AUDIO
    assert not result.resumed
    assert http_server.hits["/a.mp3"] == 2
    assert http_server.requests_to("/a.mp3")[1].headers["Range"] == "bytes=300000-"


async def test_existing_part_is_resumed(http_server, client, tmp_path):
    http_server.add("/a.mp3", AUDIO)
    dest = tmp_path / "a.mp3"
    part_of(dest).write_bytes(AUDIO[:123_456])
    calls: list[tuple[int, int | None]] = []
    result = await net.download(client, http_server.url_for("/a.mp3"), dest,
                                on_progress=lambda d, t: calls.append((d, t)))
    assert dest.read_bytes() == AUDIO and result.resumed
    assert http_server.requests_to("/a.mp3")[0].headers["Range"] == "bytes=123456-"
    assert calls[0][0] > 123_456 and calls[-1] == (len(AUDIO), len(AUDIO))


async def test_existing_part_is_discarded_without_resume(http_server, client, tmp_path):
    http_server.add("/a.mp3", AUDIO)
    dest = tmp_path / "a.mp3"
    part_of(dest).write_bytes(b"stale bytes from another file")
    await net.download(client, http_server.url_for("/a.mp3"), dest, resume=False)
    assert dest.read_bytes() == AUDIO
    assert "range" not in http_server.requests_to("/a.mp3")[0].headers


async def test_existing_part_on_server_ignoring_range_starts_over(http_server, client,
                                                                  tmp_path):
    http_server.add("/a.mp3", AUDIO, range_support=False)
    dest = tmp_path / "a.mp3"
    part_of(dest).write_bytes(b"x" * 5000)
    result = await net.download(client, http_server.url_for("/a.mp3"), dest)
    assert dest.read_bytes() == AUDIO and not result.resumed


async def test_complete_part_answered_416_is_done(http_server, client, tmp_path):
    http_server.add("/a.mp3", AUDIO)
    dest = tmp_path / "a.mp3"
    part_of(dest).write_bytes(AUDIO)
    result = await net.download(client, http_server.url_for("/a.mp3"), dest)
    assert dest.read_bytes() == AUDIO and result.size == len(AUDIO)
    assert http_server.hits["/a.mp3"] == 1


async def test_part_longer_than_remote_file_starts_over(http_server, client, tmp_path):
    http_server.add("/a.mp3", AUDIO)
    dest = tmp_path / "a.mp3"
    part_of(dest).write_bytes(AUDIO + b"junk")
    await net.download(client, http_server.url_for("/a.mp3"), dest, policy=FAST)
    assert dest.read_bytes() == AUDIO
    assert http_server.hits["/a.mp3"] == 2


@pytest.mark.parametrize(("content_type", "body"), [
    ("text/html; charset=utf-8", b"<p>Please log in</p>"),
    ("application/octet-stream", b"\n  <!DOCTYPE html><html><body>Login</body></html>"),
])
async def test_html_where_audio_expected_is_not_audio(http_server, client, tmp_path,
                                                      content_type, body):
    http_server.add("/a.mp3", body, content_type=content_type)
    dest = tmp_path / "a.mp3"
    with pytest.raises(NotAudioError) as caught:
        await net.download(client, http_server.url_for("/a.mp3"), dest, expect="audio")
    assert str(caught.value).startswith("Expected audio from 127.0.0.1:")
    assert "web page" in str(caught.value)
    assert not dest.exists() and not part_of(dest).exists()


async def test_html_is_fine_when_anything_is_expected(http_server, client, tmp_path):
    http_server.add("/page", b"<!DOCTYPE html><html></html>", content_type="text/html")
    result = await net.download(client, http_server.url_for("/page"), tmp_path / "p.html")
    assert result.content_type == "text/html"


@pytest.mark.parametrize("chunked", [False, True])
async def test_max_bytes_exceeded_leaves_nothing(http_server, client, tmp_path, chunked):
    http_server.add("/big.mp3", AUDIO, chunked=chunked)
    dest = tmp_path / "big.mp3"
    with pytest.raises(TooLargeError) as caught:
        await net.download(client, http_server.url_for("/big.mp3"), dest,
                           max_bytes=512 * 1024, chunk_size=64 * 1024)
    assert "larger than the limit of 512 KiB (--max-filesize, or Settings)." in str(caught.value)
    assert not dest.exists() and not part_of(dest).exists()


async def test_every_attempt_failing_gives_one_sentence(http_server, client, tmp_path):
    http_server.add("/a.mp3", AUDIO, fail_times=100, fail_status=502)
    with pytest.raises(HTTPStatusError) as caught:
        await net.download(client, http_server.url_for("/a.mp3"), tmp_path / "a.mp3",
                           policy=FAST)
    assert http_server.hits["/a.mp3"] == FAST.attempts
    assert "502 Bad Gateway" in str(caught.value)
    assert f"gave up after {FAST.attempts} attempts" in str(caught.value)
    assert_one_sentence(str(caught.value))


async def test_cut_every_time_without_range_gives_up(http_server, client, tmp_path):
    http_server.add("/a.mp3", AUDIO, cut_after=1000, cut_times=100, range_support=False)
    dest = tmp_path / "a.mp3"
    with pytest.raises(NetError) as caught:
        await net.download(client, http_server.url_for("/a.mp3"), dest, policy=FAST)
    assert "was cut off" in str(caught.value)
    assert_one_sentence(str(caught.value))
    assert not dest.exists()


async def test_unreachable_server_gives_one_sentence(client):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(NetError) as caught:
        await net.request(client, "GET", f"http://127.0.0.1:{port}/x", policy=FAST)
    assert str(caught.value) == (f"Could not connect to 127.0.0.1: the connection was refused "
                                 f"(gave up after {FAST.attempts} attempts).")


async def test_retry_logs_hide_query_strings(http_server, client):
    http_server.add("/api", b"{}", fail_times=1)
    # Our own handler: the app's logging setup may have turned propagation off.
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("audiofetch_app.core.net")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        await net.request(client, "GET", http_server.url_for("/api?token=s3cr3t"),
                          policy=FAST, headers={"Authorization": "Bearer hunter2"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    text = "\n".join(r.getMessage() for r in records)
    assert "Retrying" in text and "/api" in text
    assert "s3cr3t" not in text and "hunter2" not in text


async def test_disk_error_when_parent_is_a_file(http_server, client, tmp_path):
    http_server.add("/a.mp3", AUDIO)
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file")
    with pytest.raises(DiskError) as caught:
        await net.download(client, http_server.url_for("/a.mp3"), blocker / "a.mp3")
    assert str(caught.value).startswith(f"Could not write {blocker / 'a.mp3'}: ")
    assert_one_sentence(str(caught.value))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
async def test_disk_full_becomes_disk_error(http_server, client, tmp_path):
    http_server.add("/a.mp3", AUDIO)
    dest = tmp_path / "a.mp3"
    part_of(dest).symlink_to("/dev/full")  # every write fails with ENOSPC
    with pytest.raises(DiskError) as caught:
        await net.download(client, http_server.url_for("/a.mp3"), dest)
    assert str(caught.value) == f"Could not write {dest}: No space left on device."


async def test_cancel_while_waiting_for_headers_is_prompt(http_server, client, tmp_path):
    http_server.add("/slow.mp3", AUDIO, latency=30)
    task = asyncio.create_task(
        net.download(client, http_server.url_for("/slow.mp3"), tmp_path / "s.mp3"))
    await wait_until(lambda: http_server.hits.get("/slow.mp3") == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)


async def test_cancel_mid_body_keeps_part(http_server, client, tmp_path):
    http_server.add("/drip.mp3", AUDIO, chunk_delay=0.05, chunk_size=16 * 1024)
    dest = tmp_path / "drip.mp3"
    seen: list[int] = []
    task = asyncio.create_task(
        net.download(client, http_server.url_for("/drip.mp3"), dest, chunk_size=16 * 1024,
                     on_progress=lambda done, _total: seen.append(done)))
    await wait_until(lambda: bool(seen))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)
    assert part_of(dest).exists() and not dest.exists()
    assert 0 < part_of(dest).stat().st_size < len(AUDIO)


# -- client, fetch ----------------------------------------------------------------------

async def test_client_sends_user_agent_referer_and_cookies(http_server, tmp_path):
    http_server.add("/page", "<html></html>", content_type="text/html")
    jar = tmp_path / "cookies.txt"
    jar.write_text("# Netscape HTTP Cookie File\n"
                   "127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tabc123\n")
    async with net.make_client(cookies=net.load_cookies_txt(jar),
                               referer="https://example.org/show",
                               headers={"X-Extra": "1"}) as c:
        text, response = await net.fetch_text(c, http_server.url_for("/page"))
    assert text == "<html></html>" and response.status_code == 200
    seen = http_server.requests_to("/page")[0].headers
    assert seen["User-Agent"] == USER_AGENT and "Chrome/" in USER_AGENT
    assert seen["Referer"] == "https://example.org/show"
    assert seen["Cookie"] == "session=abc123"
    assert seen["X-Extra"] == "1"


async def test_client_accepts_plain_cookie_dict(http_server):
    http_server.add("/api", b"{}")
    async with net.make_client(cookies={"ct0": "tok"}) as c:
        await net.request(c, "GET", http_server.url_for("/api"))
    assert http_server.requests_to("/api")[0].headers["Cookie"] == "ct0=tok"


def test_clients_share_one_tls_context_per_ca_setting(monkeypatch, tmp_path):
    """Reading the CA bundle once per client cost 25-40 ms each (16 before a Space's first
    chunk); one verifying context serves them all, and a new SSL_CERT_FILE gets its own."""
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    first = net.ssl_context()
    assert net.ssl_context() is first
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    bundle = tmp_path / "ca.pem"
    bundle.write_text(certifi.contents())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    other = net.ssl_context()
    assert other is not first and other.verify_mode == ssl.CERT_REQUIRED


async def test_client_follows_redirects(http_server, client):
    http_server.add("/old", lambda req: (302, {"Location": "/new"}, b""))
    http_server.add("/new", b"moved here")
    body = await net.fetch_bytes(client, http_server.url_for("/old"))
    assert body == b"moved here"


async def test_fetch_text_decodes_charset_and_keeps_response(http_server, client):
    http_server.add("/latin", "café".encode("latin-1"), content_type="text/plain; charset=latin-1")
    text, response = await net.fetch_text(client, http_server.url_for("/latin"))
    assert text == "café"
    assert response.url == http_server.url_for("/latin") and response.content


async def test_fetch_retries_and_caps_size(http_server, client):
    http_server.add("/seg.ts", AUDIO, fail_times=1)
    assert await net.fetch_bytes(client, http_server.url_for("/seg.ts"), policy=FAST) == AUDIO
    http_server.add("/huge", AUDIO, chunked=True)
    with pytest.raises(TooLargeError):
        await net.fetch_bytes(client, http_server.url_for("/huge"), max_bytes=1000)
    with pytest.raises(HTTPStatusError):
        await net.fetch_text(client, http_server.url_for("/missing"), policy=FAST)


async def test_callable_route_sees_query_and_method(http_server, client):
    def echo(req: Request):
        return 200, {"Content-Type": "application/json"}, f'"{req.method} {req.query["q"]}"'

    http_server.add("/echo", echo)
    response = await net.request(client, "POST", http_server.url_for("/echo?q=hi"),
                                 content=b"body")
    assert response.json() == "POST hi"
    assert http_server.requests_to("/echo")[0].body == b"body"


# -- cookies.txt ------------------------------------------------------------------------

def test_load_cookies_txt_reads_netscape_format(tmp_path):
    future = int(time.time()) + 3600
    path = tmp_path / "cookies.txt"
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        "# https://curl.se/docs/http-cookies.html\n"
        "\n"
        f".x.com\tTRUE\t/\tTRUE\t{future}\tct0\tcsrf-value\r\n"
        f"#HttpOnly_.x.com\tTRUE\t/\tTRUE\t{future}\tauth_token\tsecret-token\n"
        f"x.com\tFALSE\t/\tFALSE\t{future}\tlang\ten\n"
        f"x.com\tFALSE\t/\tFALSE\t{future}\tempty\n"
        ".x.com\tTRUE\t/\tFALSE\t1000\told\tgone\n"
    )
    cookies = net.load_cookies_txt(path)
    assert cookies.get("ct0") == "csrf-value"
    assert cookies.get("auth_token") == "secret-token"
    assert cookies.get("lang") == "en"
    assert cookies.get("empty") == ""
    assert cookies.get("old") is None  # expired
    by_name = {c.name: c for c in cookies.jar}
    assert by_name["auth_token"].has_nonstandard_attr("HttpOnly")
    assert by_name["ct0"].secure and by_name["ct0"].domain == ".x.com"


@pytest.mark.parametrize(("content", "phrase"), [
    ("this is not a cookie file\n", "not a Netscape cookies.txt file (line 1"),
    ('[{"name": "ct0", "value": "x"}]', "looks like a JSON export"),
    ("# Netscape HTTP Cookie File\n\n", "contains no cookies"),
    ("SQLite format 3\x00\x10\x00", "cookie database"),
    (".x.com\tTRUE\t/\tTRUE\t1000\tct0\told\n", "have expired"),
])
def test_load_cookies_txt_rejects_bad_files(tmp_path, content, phrase):
    path = tmp_path / "cookies.txt"
    path.write_text(content)
    with pytest.raises(CookieFileError) as caught:
        net.load_cookies_txt(path)
    assert phrase in str(caught.value)
    assert_one_sentence(str(caught.value))


def test_load_cookies_txt_missing_file(tmp_path):
    with pytest.raises(CookieFileError, match="does not exist"):
        net.load_cookies_txt(tmp_path / "nope.txt")


def test_retry_policy_backoff_and_retry_after():
    policy = RetryPolicy(base_delay=1, max_delay=4, max_retry_after=60)
    assert all(0 <= policy.backoff(n) <= min(4, 2 ** (n - 1)) for n in range(1, 10))
    assert policy.retry_after("7") == 7
    assert policy.retry_after("9999") == 60
    assert policy.retry_after("garbage") is None
    assert policy.retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
