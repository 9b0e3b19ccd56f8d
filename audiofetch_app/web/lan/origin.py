"""Which requests come from another site's page, and which proxies may name the client.

A browser sends cookies with requests that another site's page starts (SameSite=Lax does not
cover another port on the same host), and a page may send a simple cross-site POST to the
loopback server without any preflight. Browsers say where such a request came from in
`Origin` and `Sec-Fetch-Site`; those headers decide here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable, Mapping
from urllib.parse import urlsplit

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})  # "none": the user typed or clicked
DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "::1"})
CROSS_SITE_DETAIL = ("Refused: this request came from another site's page, and only "
                     "AudioFetch's own pages may change things here.")

Origin = tuple[str, str, int]
# Browser extensions' own pages and workers (AudioFetch's extension among them). No web page
# can send these origins, and an extension reaches this server only through host permissions
# the user granted it, so they are not another site's page.
EXTENSION_SCHEMES = ("chrome-extension://", "moz-extension://")


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an `Origin` value or an http(s) URL; None when it is not one
    (including the opaque origin `null`)."""
    try:
        parts = urlsplit(value.strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def own_origin(scheme: str, host_header: str) -> Origin | None:
    """The server's origin as this request reached it: its scheme and its Host header."""
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    if not host_header or any(c in host_header for c in "/?#@\\ "):
        return None
    return parse_origin(f"{scheme}://{host_header}")


def is_loopback_host(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(headers: Mapping[str, str], own: Origin | None,
            allowed_origins: Collection[str] = ()) -> str | None:
    """Why a state-changing request (or websocket) must be refused as cross-site, or None.

    `headers` are lower-cased names. Origin must be the server's own, a browser extension's
    or a CORS origin that Settings allows; without Origin, Sec-Fetch-Site must be absent,
    same-origin or none.
    Requests that carry a Bearer token are not the browser's ambient credentials: they pass.
    """
    if headers.get("authorization", "")[:7].lower() == "bearer ":
        return None
    origin = headers.get("origin")
    fetch_site = headers.get("sec-fetch-site", "").strip().lower()
    if origin is not None:
        if origin.strip() in allowed_origins or origin.strip().startswith(EXTENSION_SCHEMES):
            return None
        seen = parse_origin(origin)
        if seen is None or own is None or seen != own:
            return f"Origin {origin[:100]!r}"
    if fetch_site and fetch_site not in SAME_ORIGIN_FETCH:
        return f"Sec-Fetch-Site {fetch_site[:20]!r}"
    return None


def trusted_proxies(values: Iterable[str]) -> list[str]:
    """The `--trusted-proxy` values (repeated or comma-separated) as addresses or networks.

    Raises ValueError with a sentence for anything that is not an IP address or network.
    """
    found: list[str] = []
    for value in values:
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            try:
                text = str(ipaddress.ip_network(item, strict=False)) if "/" in item \
                    else str(ipaddress.ip_address(item))
            except ValueError:
                raise ValueError(f"--trusted-proxy takes IP addresses or networks "
                                 f"(like 127.0.0.1 or 10.0.0.0/8), not {item!r}.") from None
            if text not in found:
                found.append(text)
    return found
