"""LAN mode's front door: the password check, login and logout, and a gate on every request.

On loopback with LAN sharing off there is no gate. In LAN mode every HTTP request and
websocket must carry a valid token, as `Authorization: Bearer` (programs) or the
`af_session` cookie (browsers), except the login page, the login call and static assets.
A fresh token is made at each login, so a cookie planted before login is worth nothing.

The command line on this computer shows the per-install local token instead (see
`sources.runtime.local_token`): it is taken only from a loopback peer that no proxy forwarded,
in LAN mode and on loopback alike. On loopback there is no gate, but a request that carries a
Bearer token must carry a good one (`LocalGate`), so a stale token is told, not ignored.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from audiofetch_app.web.lan.access import LanAccess
from audiofetch_app.web.lan.lockout import LockedOut
from audiofetch_app.web.lan.passwords import MAX_LENGTH

SESSION_COOKIE = "af_session"
LOGIN_PAGE = "/login"
LOGIN_API = "/api/auth/login"
LOGOUT_API = "/api/auth/logout"
MAX_LOGIN_BODY = 8 * 1024

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class WrongPassword(Exception):
    def __init__(self) -> None:
        super().__init__("The password is not correct.")


class LanAuth:
    """Checks passwords (with the lockout) and tokens; one per server, on `LanAccess`."""

    def __init__(self, access: LanAccess, local_token: str | None = None) -> None:
        self.access = access
        self.tokens = access.tokens
        self.local_token = local_token

    async def login(self, password: str, address: str) -> tuple[str, float]:
        """A new token and its expiry; raises LockedOut or WrongPassword."""
        lockout = self.access.lockout
        lockout.check(address)
        ok = len(password) <= MAX_LENGTH and await asyncio.to_thread(
            self.access.passwords.verify, password)
        if not ok:
            lockout.failed(address)  # raises LockedOut on the fifth
            raise WrongPassword()
        lockout.succeeded(address)
        return await asyncio.to_thread(self.tokens.issue, self.access.session_seconds)

    def token_of(self, headers: dict[str, str]) -> str | None:
        """The token a request carries: the Bearer header first, else the session cookie."""
        header = headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return header[7:].strip()
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no login, not a crash
            return None
        morsel = cookie.get(SESSION_COOKIE)
        return morsel.value if morsel else None

    def allowed(self, headers: dict[str, str], scope: Scope | None = None) -> bool:
        """A valid login token, or the local token from this computer (`scope` tells)."""
        token = self.token_of(headers)
        return self.tokens.valid(token) or (
            scope is not None and is_local_token(token, self.local_token, scope, headers))


LOCAL_USER = "audiofetch_local_user"  # request.state flag: the local token was shown
LOGGED_IN = "audiofetch_logged_in"  # request.state flag: a LAN login's token was shown


def mark_local_user(auth: LanAuth, scope: Scope, headers: dict[str, str]) -> None:
    """Note on the request (`request.state`) that it carries the local token from this
    computer: it comes from the user who owns the data folder, not just from loopback."""
    if is_local_token(auth.token_of(headers), auth.local_token, scope, headers):
        scope.setdefault("state", {})[LOCAL_USER] = True


def from_this_computer(scope: Scope, headers: dict[str, str]) -> bool:
    """The peer is a loopback address and no proxy forwarded the request."""
    client = scope.get("client")
    try:
        address = ipaddress.ip_address(str(client[0] if client else "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    forwarded = "x-forwarded-for" in headers or "forwarded" in headers
    return address.is_loopback and not forwarded


def is_local_token(token: str | None, local: str | None, scope: Scope,
                   headers: dict[str, str]) -> bool:
    """`token` is the local token and came from this computer (never from the network)."""
    return bool(token and local and secrets.compare_digest(token, local)
                and from_this_computer(scope, headers))


def is_public(path: str, static_prefix: str) -> bool:
    """The login page, the login call and static files need no login."""
    return path in (LOGIN_PAGE, LOGIN_API, "/favicon.ico") or path.startswith(static_prefix)


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path on this server (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return "/"
    return target


class LanGate:
    """ASGI middleware: lets through what is public or carries a valid token."""

    def __init__(self, app: Any, auth: LanAuth, static_prefix: str) -> None:
        self.app = app
        self.auth = auth
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        if is_public(path, self.static_prefix) or self.auth.allowed(headers, scope):
            if not is_public(path, self.static_prefix):
                scope.setdefault("state", {})[LOGGED_IN] = True
            mark_local_user(self.auth, scope, headers)
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4401})
            return
        wants_page = scope.get("method") == "GET" and "text/html" in headers.get("accept", "") \
            and not path.startswith("/api/")
        if wants_page:
            query = scope.get("query_string", b"").decode("latin-1")
            target = path + (f"?{query}" if query else "")
            await _respond(send, 303, b"", [(b"location",
                                             f"{LOGIN_PAGE}?next={quote(target)}".encode())])
            return
        body = json.dumps({"detail": "Log in first: this AudioFetch is protected by a "
                                     "password."}).encode()
        await _respond(send, 401, body, [(b"content-type", b"application/json"),
                                         (b"www-authenticate", b"Bearer")])


WRONG_TOKEN = ("The token this request carries is not valid here; log in again, or run the "
               "command line with the data folder the running AudioFetch uses.")


class LocalGate:
    """ASGI middleware for loopback mode (no password): requests without a Bearer token pass
    as before; one with a token passes only if it is the local token (from this computer) or
    a valid login token, else 401."""

    def __init__(self, app: Any, auth: Callable[[], LanAuth]) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope.get("headers", [])}
            header = headers.get("authorization", "")
            if header[:7].lower() == "bearer " and not self.auth().allowed(headers, scope):
                body = json.dumps({"detail": WRONG_TOKEN}).encode()
                await _respond(send, 401, body, [(b"content-type", b"application/json"),
                                                 (b"www-authenticate", b"Bearer")])
                return
            if header:
                mark_local_user(self.auth(), scope, headers)
        await self.app(scope, receive, send)


async def _respond(send: Send, status: int, body: bytes,
                   headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


def parse_login_body(body: bytes, content_type: str) -> tuple[str, str | None]:
    """(password, next) from a JSON or form body (already read within MAX_LOGIN_BODY)."""
    if content_type.startswith("application/json"):
        data = json.loads(body or b"{}")
        if not isinstance(data, dict) or not isinstance(data.get("password"), str):
            raise ValueError("Send {\"password\": \"...\"}.")
        return data["password"], None
    form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return (form.get("password") or [""])[0], (form.get("next") or [None])[0]


__all__ = ["LOCAL_USER", "LOGGED_IN", "LanAuth", "LanGate", "LocalGate", "LockedOut",
           "WrongPassword", "from_this_computer", "is_local_token", "is_public",
           "mark_local_user", "safe_next"]
