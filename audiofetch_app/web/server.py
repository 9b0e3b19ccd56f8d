"""The HTTP face put together: REST routers, OpenAPI docs, and in LAN mode the login gate.

`ui/app.py` calls `install` once on NiceGUI's FastAPI app before the server starts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audiofetch_app import settings as settings_mod
from audiofetch_app.core.install_secret import install_secret
from audiofetch_app.core.store import Store
from audiofetch_app.web.auth import LanAuth, LanGate, LocalGate
from audiofetch_app.web.lan.access import LanAccess
from audiofetch_app.web.lan.origin import (
    CROSS_SITE_DETAIL,
    STATE_CHANGING,
    is_loopback_host,
    own_origin,
    refusal,
)
from audiofetch_app.web.lan.passwords import (
    PASSWORD_ENV,
    PasswordError,
    PasswordStore,
    check_strength,
    read_password_file,
)
from audiofetch_app.web.lan.tokens import TokenStore

if TYPE_CHECKING:
    from audiofetch_app.sources.runtime import Runtime

log = logging.getLogger(__name__)

DOCS_PATH = "/docs"
STORAGE_SECRET_FILE = "storage.secret"


class LanRefused(Exception):
    """LAN mode cannot start; the message says what to do."""


@dataclass
class LanSetup:
    """What LAN mode needs before the server starts: where the password hash lives."""

    db_path: Path


def prepare_lan(password_file: Path | None) -> LanSetup:
    """Store the password given by file or environment (as a hash), or check one is stored.

    Raises LanRefused when there is none: LAN mode has no default password.
    """
    given: str | None = None
    try:
        if password_file is not None:
            given = read_password_file(password_file)
        elif os.environ.get(PASSWORD_ENV):
            given = check_strength(os.environ[PASSWORD_ENV])
    except PasswordError as exc:
        raise LanRefused(str(exc)) from exc
    db_path = settings_mod.db_path()
    store = Store(db_path)
    try:
        passwords = PasswordStore(store)
        if given is not None:
            if not passwords.verify(given):
                passwords.set(given)
                TokenStore(store).revoke_all()  # a new password logs everybody out
        elif not passwords.is_set():
            raise LanRefused(
                "Serving on the network needs a password: give it with --password-file FILE "
                f"or {PASSWORD_ENV}, or set one in Settings first.")
    finally:
        store.close()
    return LanSetup(db_path)


def storage_secret() -> str:
    """The per-install secret NiceGUI signs browser storage with (0600 in the data folder)."""
    value = install_secret(settings_mod.data_dir() / STORAGE_SECRET_FILE)
    assert value is not None  # made when missing
    return value


API_PATHS = ("/api/", DOCS_PATH, "/openapi.json", "/login", "/ws")


def is_api(path: str) -> bool:
    return path.startswith(API_PATHS[0]) or path in API_PATHS[1:]


def install(app: Any, get_runtime: Callable[[], Runtime], get_lan: Callable[[], LanAccess], *,
            lan: bool,
            static_prefix: str, cors_origins: list[str], secure_cookie: bool = False,
            trusted_proxies: Collection[str] = (), local_token: str | None = None) -> Any:
    """Put the REST API in front of NiceGUI's app, and in LAN mode the login gate before both.

    In front of everything, state-changing requests and websockets from another site's page
    are refused (`FrontDoor`). `trusted_proxies` (set up in uvicorn, which rewrites the client
    from X-Forwarded-For) only tells the front door not to insist on a loopback Host.

    The API is a FastAPI app of its own that the front door calls directly: REST requests
    skip NiceGUI's per-request middleware (browser storage is made for every cookie-less
    request there, which programs and attackers would pile up). Returns the API app.
    """
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse, JSONResponse

    from audiofetch_app import __version__
    from audiofetch_app.web.api import build_router, validation_error
    from audiofetch_app.web.auth_routes import build_auth_router
    from audiofetch_app.web.downloads_api import build_downloads_router
    from audiofetch_app.web.events_api import build_events_router
    from audiofetch_app.web.limits import BodyLimit

    api = FastAPI(title="AudioFetch REST API", version=__version__, docs_url=None,
                  redoc_url=None, openapi_url=None)
    api.include_router(build_router(get_runtime))
    api.add_exception_handler(RequestValidationError, validation_error)
    api.include_router(build_downloads_router(get_runtime))
    api.include_router(build_events_router(get_runtime))

    made: list[LanAuth] = []

    def auth() -> LanAuth:
        if not made:
            made.append(LanAuth(get_lan(), local_token))
        return made[0]

    if lan:
        api.include_router(build_auth_router(auth, secure_cookie=secure_cookie))

    @api.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(api.openapi())

    @api.get(DOCS_PATH, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="AudioFetch REST API")

    api.add_middleware(BodyLimit)
    api_entry: Any = api
    ui_entry: Callable[[Any], Any] = lambda inner: inner  # noqa: E731
    if lan:
        api_entry = _LazyGate(api_entry, auth, static_prefix)
        ui_entry = lambda inner: _LazyGate(inner, auth, static_prefix)  # noqa: E731
    else:
        api_entry = LocalGate(api_entry, auth)
    if cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        # Outside the gate, so that preflight requests are answered without a login.
        api_entry = CORSMiddleware(api_entry, allow_origins=cors_origins,
                                   allow_credentials=False,
                                   allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
                                   allow_headers=["authorization", "content-type"])
    nicegui_stack = app.build_middleware_stack

    def build_middleware_stack() -> Any:
        # NiceGUI adds its own middleware inside ui.run(), after this function has run, and
        # Starlette puts the last added outermost; wrapping the built stack is the only way
        # to stand in front of all of it.
        return FrontDoor(api_entry, ui_entry(nicegui_stack()), allowed_origins=cors_origins,
                         loopback_host=not lan and not trusted_proxies)

    app.build_middleware_stack = build_middleware_stack
    app.state.audiofetch_api = api
    return api


class FrontDoor:
    """ASGI: refuses cross-site writes, then sends REST paths to the API app and everything
    else to NiceGUI.

    Every request passes here, in LAN mode and on loopback alike: a POST, PUT, PATCH or
    DELETE, or a websocket, whose Origin or Sec-Fetch-Site names another site gets a 403
    unless it carries a Bearer token or comes from a CORS origin Settings allows.
    `loopback_host`: the server listens on loopback only, so its own origin must have a
    loopback host (a page on a rebound DNS name is another site).
    """

    def __init__(self, api: Any, ui: Any, *, allowed_origins: Collection[str] = (),
                 loopback_host: bool = False) -> None:
        self.api = api
        self.ui = ui
        self.allowed_origins = frozenset(allowed_origins)
        self.loopback_host = loopback_host

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            if await self._refused_cross_site(scope, receive, send):
                return
            if is_api(scope.get("path", "")):
                await self.api(scope, receive, send)
                return
        await self.ui(scope, receive, send)

    async def _refused_cross_site(self, scope: Any, receive: Any, send: Any) -> bool:
        websocket = scope["type"] == "websocket"
        method = "WEBSOCKET" if websocket else str(scope.get("method", "")).upper()
        if not websocket and method not in STATE_CHANGING:
            return False
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        own = own_origin(scope.get("scheme", "http"), headers.get("host", ""))
        if own is not None and self.loopback_host and not is_loopback_host(own[1]):
            own = None
        why = refusal(headers, own, self.allowed_origins)
        if why is None:
            return False
        client = scope.get("client")
        log.warning("Refused a cross-site %s %s from %s (%s)", method,
                    scope.get("path", "")[:200], client[0] if client else "unknown", why)
        if websocket:
            await send({"type": "websocket.close", "code": 4403})
            return True
        from starlette.responses import JSONResponse

        answer = JSONResponse({"detail": CROSS_SITE_DETAIL}, status_code=403,
                              headers={"cache-control": "no-store"})
        await answer(scope, receive, send)
        return True


class _LazyGate:
    """LanGate whose auth is built on first use (the runtime opens after the app is made)."""

    def __init__(self, app: Any, auth: Callable[[], LanAuth], static_prefix: str) -> None:
        self.app = app
        self.auth = auth
        self.static_prefix = static_prefix
        self._gate: LanGate | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._gate is None:
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
                return
            self._gate = LanGate(self.app, self.auth(), self.static_prefix)
        await self._gate(scope, receive, send)


def describe_routes(app: Any) -> list[dict[str, Any]]:
    """Every route the server answers (NiceGUI's and the API's), for the log and the test
    that checks them all."""
    found: list[dict[str, Any]] = []
    api = getattr(app.state, "audiofetch_api", None)
    for route in [*app.routes, *(api.routes if api is not None else [])]:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # FastAPI ≥ 0.130 keeps included routers whole
            for context in contexts():
                original = context.original_route
                found.append({"path": context.path or getattr(original, "path", ""),
                              "kind": type(original).__name__,
                              "methods": sorted(getattr(context, "methods", None) or [])})
            continue
        found.append({"path": getattr(route, "path", ""), "kind": type(route).__name__,
                      "methods": sorted(getattr(route, "methods", None) or [])})
    return found
