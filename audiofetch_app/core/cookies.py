"""Parse Netscape `cookies.txt` files (the format browser extensions and yt-dlp export)."""

from __future__ import annotations

import time
from http.cookiejar import Cookie

_HTTPONLY_PREFIX = "#HttpOnly_"


class CookieFormatError(ValueError):
    """The text is not a usable cookies.txt; the message is one plain sentence."""


def parse_cookies_txt(text: str, source: str = "The cookie file", *,
                      now: float | None = None) -> list[Cookie]:
    """Return the unexpired cookies in `text`; raise CookieFormatError if there are none."""
    now = time.time() if now is None else now
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("SQLite format"):
        raise CookieFormatError(
            f"{source} is a browser's cookie database; export the cookies to a "
            "cookies.txt file with a browser extension instead.")
    if stripped.startswith(("[", "{")):
        raise CookieFormatError(
            f"{source} looks like a JSON export; export the cookies in Netscape "
            "cookies.txt format instead.")
    cookies: list[Cookie] = []
    expired = 0
    first_bad: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip("\ufeff\r\n")
        http_only = line.startswith(_HTTPONLY_PREFIX)
        if http_only:
            line = line[len(_HTTPONLY_PREFIX):]
        elif not line.strip() or line.lstrip().startswith("#"):
            continue
        cookie = _parse_line(line, http_only)
        if cookie is None:
            first_bad = first_bad or number
        elif cookie.expires is not None and cookie.expires < now:
            expired += 1
        else:
            cookies.append(cookie)
    if cookies:
        return cookies
    if expired:
        raise CookieFormatError(
            f"All cookies in {source} have expired; log in again in your browser and "
            "export them again.")
    if first_bad is not None:
        raise CookieFormatError(
            f"{source} is not a Netscape cookies.txt file (line {first_bad} is not in the "
            "expected format).")
    raise CookieFormatError(f"{source} contains no cookies.")


def _parse_line(line: str, http_only: bool) -> Cookie | None:
    fields = line.split("\t")
    if len(fields) not in (6, 7):
        # Some tools write spaces instead of tabs; cookie values never contain whitespace.
        fields = line.split()
    if len(fields) == 6:  # exporters drop the trailing tab when the value is empty
        fields.append("")
    if len(fields) != 7:
        return None
    domain, subdomains, path, secure, expires, name, value = (f.strip() for f in fields)
    if not domain or not name or subdomains.upper() not in ("TRUE", "FALSE"):
        return None
    try:
        expiry = int(float(expires or "0"))
    except ValueError:
        return None
    include_subdomains = subdomains.upper() == "TRUE"
    if include_subdomains and not domain.startswith("."):
        domain = "." + domain
    return Cookie(
        version=0, name=name, value=value, port=None, port_specified=False,
        domain=domain, domain_specified=include_subdomains,
        domain_initial_dot=domain.startswith("."),
        path=path or "/", path_specified=True, secure=secure.upper() == "TRUE",
        expires=expiry if expiry > 0 else None, discard=expiry <= 0,
        comment=None, comment_url=None,
        rest={"HttpOnly": ""} if http_only else {}, rfc2109=False,
    )
