"""The shared httpx client: timeouts, retries with backoff, Retry-After, capped fetches.

The NetError family lives in net_errors, RetryPolicy in retry and resumable downloads in
download; they are re-exported here, so callers keep writing `net.NetError`, `net.download`.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
from pathlib import Path
from typing import Any

import httpx

from audiofetch_app.core import address_guard
from audiofetch_app.core.cookies import CookieFormatError, parse_cookies_txt
from audiofetch_app.core.download import DownloadResult, ProgressCallback, download
from audiofetch_app.core.net_errors import (
    CookieFileError,
    DiskError,
    HTTPStatusError,
    NetError,
    NotAudioError,
    TooLargeError,
    check_size,
)
from audiofetch_app.core.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    check_status,
    retrying,
    translated,
)

__all__ = [
    "DEFAULT_POLICY", "USER_AGENT", "CookieFileError", "DiskError", "DownloadResult",
    "HTTPStatusError", "NetError", "NotAudioError", "ProgressCallback", "RetryPolicy",
    "TooLargeError", "download", "fetch_bytes", "fetch_text", "load_cookies_txt", "make_client",
    "request",
]

log = logging.getLogger(__name__)

# Bump now and then: some CDNs answer old or non-browser agents with an error page.
USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36")


def ssl_context() -> ssl.SSLContext:
    """The verifying TLS context every client shares (httpx's default: SSL_CERT_FILE or
    SSL_CERT_DIR when set, else certifi's bundle).

    Made once per process and per those two variables: reading the CA bundle takes 25-40 ms
    of the event loop, which each client used to pay again (16 times before a Space's first
    chunk). An SSLContext is meant to be shared by many connections."""
    return _ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()


def load_cookies_txt(path: str | Path) -> httpx.Cookies:
    """Read a Netscape cookies.txt (as exported from a browser) into httpx cookies."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        parsed = parse_cookies_txt(text, f"The cookie file {path}")
    except FileNotFoundError:
        raise CookieFileError(f"The cookie file {path} does not exist.") from None
    except OSError as exc:
        raise CookieFileError(f"Could not read the cookie file {path}: "
                              f"{exc.strerror or type(exc).__name__}.") from None
    except CookieFormatError as exc:
        raise CookieFileError(str(exc)) from None
    cookies = httpx.Cookies()
    for cookie in parsed:
        cookies.jar.set_cookie(cookie)
    return cookies


def make_client(*, cookies: httpx.Cookies | dict[str, str] | None = None,
                referer: str | None = None, headers: dict[str, str] | None = None,
                timeout: float = 30.0, max_connections: int = 32,
                proxy: str | None = None) -> httpx.AsyncClient:
    """An AsyncClient that looks like a desktop browser, follows redirects and pools widely;
    inside a LAN client's job it reaches only what `address_guard.current` permits."""
    base = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Language": "en-US,en;q=0.9"}
    if referer:
        base["Referer"] = referer
    base.update(headers or {})
    limits = httpx.Limits(max_connections=max_connections,
                          max_keepalive_connections=max_connections)
    verify = ssl_context()
    # A LAN client's job (see core.address_guard): every connection is checked.
    policy = address_guard.current.get()
    transport = (address_guard.guarded_transport(policy, limits=limits, verify=verify)
                 if policy else None)
    return httpx.AsyncClient(
        headers=base, cookies=cookies, follow_redirects=True, http2=False, verify=verify,
        proxy=None if transport else proxy, transport=transport,
        # No pool timeout: waiting for a free connection is queueing, not a failure.
        timeout=httpx.Timeout(timeout, connect=15.0, pool=None), limits=limits,
    )


async def request(client: httpx.AsyncClient, method: str, url: str, *,
                  policy: RetryPolicy | None = None, expect_ok: bool = True,
                  retry_status: bool = True, **kwargs: Any) -> httpx.Response:
    """Send a request and read the whole body, retrying network errors, 5xx and 429.

    `retry_status=False` returns any HTTP answer at once (only network errors are retried),
    for callers such as the X client that handle 403/429 their own way.
    """
    last: list[httpx.Response] = []

    async def attempt() -> httpx.Response:
        with translated(url):
            response = await client.request(method, url, **kwargs)
        last[:] = [response]
        if retry_status:
            check_status(response)
        return response

    try:
        return await retrying(policy or DEFAULT_POLICY, url, attempt)
    except HTTPStatusError:
        if expect_ok or not last:
            raise
        return last[0]  # the caller wants the last answer, whatever it was


async def fetch_text(client: httpx.AsyncClient, url: str, *, max_bytes: int = 20 * 1024 * 1024,
                     policy: RetryPolicy | None = None,
                     headers: dict[str, str] | None = None,
                     truncate: bool = False) -> tuple[str, httpx.Response]:
    """GET a text resource (page, playlist, JSON), refusing bodies over `max_bytes`.

    `truncate=True` keeps the first `max_bytes` instead (huge web pages are still useful).
    """
    response = await _fetch_capped(client, url, max_bytes, policy, headers, truncate)
    return response.text, response


async def fetch_bytes(client: httpx.AsyncClient, url: str, *, max_bytes: int = 50 * 1024 * 1024,
                      policy: RetryPolicy | None = None,
                      headers: dict[str, str] | None = None) -> bytes:
    """GET a small binary resource (cover art, HLS segment) into memory."""
    return (await _fetch_capped(client, url, max_bytes, policy, headers)).content


async def _fetch_capped(client: httpx.AsyncClient, url: str, max_bytes: int,
                        policy: RetryPolicy | None,
                        headers: dict[str, str] | None, truncate: bool = False
                        ) -> httpx.Response:
    async def attempt() -> httpx.Response:
        with translated(url):
            async with client.stream("GET", url, headers=headers) as response:
                check_status(response)
                if not truncate:
                    check_size(_content_length(response), max_bytes, url)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if truncate and len(body) >= max_bytes:
                        del body[max_bytes:]
                        break
                    check_size(len(body), max_bytes, url)
        # A complete Response around the decoded body, so .text/.json() work as usual.
        full_headers = response.headers.copy()
        for name in ("content-encoding", "transfer-encoding"):
            full_headers.pop(name, None)
        full_headers["content-length"] = str(len(body))
        full = httpx.Response(response.status_code, headers=full_headers, content=bytes(body),
                              request=response.request, history=response.history,
                              extensions=response.extensions)
        full.elapsed = response.elapsed
        return full

    return await retrying(policy or DEFAULT_POLICY, url, attempt)


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.strip().isdigit() else None
