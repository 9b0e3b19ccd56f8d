"""The NetError family and the one-sentence messages it carries, with URLs safe to show."""

from __future__ import annotations

import socket
from http import HTTPStatus

import httpx

from audiofetch_app.core import transfer_limits

_STATUS_HINTS = {
    401: " (access denied; the link may need a login or fresh cookies)",
    403: " (access denied; the link may have expired or need a login)",
    404: " (nothing is there; the link may be wrong or expired)",
    410: " (the file has been removed)",
    429: " (too many requests; try again later)",
}


class NetError(Exception):
    """A network failure; `str()` is one sentence meant for the user. `retryable`: whether
    trying again later can help (a cut or a timeout can; a wrong link cannot)."""

    retryable = True

    def __init__(self, *args: object, retryable: bool | None = None) -> None:
        super().__init__(*args)
        if retryable is not None:
            self.retryable = retryable


class HTTPStatusError(NetError):
    """The server answered with an error status; `url` has no query string."""

    def __init__(self, status: int, url: str, *, attempts: int = 1) -> None:
        self.status, self.url = status, strip_query(url)
        try:
            reason = f"{status} {HTTPStatus(status).phrase}"
        except ValueError:
            reason = str(status)
        hint = _STATUS_HINTS.get(status, " (a problem on the server's side; try again later)"
                                 if status >= 500 else "")
        tries = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
        super().__init__(f"The server answered {reason} for {show_url(url)}{hint}{tries}.",
                         retryable=status >= 500 or status in (408, 425, 429))


class NotAudioError(NetError):
    """Audio was expected but the server sent a web page."""

    retryable = False


class TooLargeError(NetError):
    """The response is bigger than the caller allowed."""

    retryable = False


class CookieFileError(NetError):
    """A cookies.txt file is missing, unreadable or not in Netscape format."""

    retryable = False


class DiskError(NetError):
    """A downloaded file could not be written to disk."""


def not_audio(url: str, kind: str, what: str = "a web page") -> NotAudioError:
    """The error for a web page (or `what` else) where audio was expected; `kind` is "" or
    " (text/html)"."""
    return NotAudioError(f"Expected audio from {show_url(url)} but the server sent {what}"
                         f"{kind}.")


def transport_error(exc: BaseException, url: str, attempts: int = 1) -> NetError:
    """One sentence for a connect, timeout or cut-off failure, naming only the host."""
    host = url_host(url)
    causes = _causes(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        what = f"Could not connect to {host}: the connection timed out"
    elif isinstance(exc, httpx.ProxyError):
        what = f"The proxy refused the connection to {host}"
    elif isinstance(exc, httpx.ConnectError):
        what = f"Could not connect to {host}"
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            what += ": the connection was refused"
        elif any(isinstance(c, socket.gaierror) for c in causes):
            what += ": the address could not be found"
    elif isinstance(exc, httpx.TimeoutException):
        what = f"The server at {host} stopped responding"
    else:
        what = f"The connection to {host} was cut off"
    tries = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
    return NetError(f"{what}{tries}.")


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what lies beneath it: httpx wraps httpcore wraps anyio wraps the OSError."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def request_error(exc: Exception, url: str) -> NetError:
    """One sentence for an httpx error that another attempt would not fix."""
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return NetError(f"{show_url(url)} is not a web address AudioFetch can open.",
                        retryable=False)
    if isinstance(exc, httpx.TooManyRedirects):
        return NetError(f"{show_url(url)} redirected too many times.", retryable=False)
    if isinstance(exc, httpx.DecodingError):
        return NetError(f"The server at {url_host(url)} sent data that could not be decoded.")
    return NetError(f"A network error occurred while fetching {show_url(url)}.")


def strip_query(url: str) -> str:
    """The URL without credentials, query string or fragment: safe to log and show."""
    try:
        parsed: httpx.URL | None = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or not parsed.host:
        return str(url).split("?", 1)[0].split("#", 1)[0]
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{host}{port}{parsed.path}"


def url_host(url: str) -> str:
    """The host name of `url`, or "the server" when there is none to name."""
    try:
        return httpx.URL(url).host or "the server"
    except (httpx.InvalidURL, TypeError):
        return "the server"


def show_url(url: str, limit: int = 100) -> str:
    """`url` as a sentence shows it: no scheme or query string, at most `limit` characters."""
    shown = strip_query(url).split("://", 1)[-1]
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def check_size(size: int | None, limit: int, url: str, hint: str = "") -> None:
    """TooLargeError when `size` (bytes, None: unknown) passes `limit`; `hint` says where
    the limit is set."""
    if size is not None and size > limit:
        raise TooLargeError(f"The file at {show_url(url)} is larger than the limit of "
                            f"{transfer_limits.show_size(limit)}{hint}.")
