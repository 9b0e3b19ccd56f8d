"""The login page, `POST /api/auth/login` and `POST /api/auth/logout` (LAN mode only)."""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from audiofetch_app import APP_NAME
from audiofetch_app.web.auth import (
    LOGIN_API,
    LOGIN_PAGE,
    LOGOUT_API,
    MAX_LOGIN_BODY,
    SESSION_COOKIE,
    LanAuth,
    LockedOut,
    WrongPassword,
    parse_login_body,
    safe_next,
)

log = logging.getLogger(__name__)


class LoginRequest(BaseModel):
    password: str = Field(max_length=1024)


class LoginAnswer(BaseModel):
    token: str
    expires_at: float
    token_type: str = "bearer"


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{app} — log in</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f4f6fa;display:flex;min-height:100vh;
margin:0;align-items:center;justify-content:center}}
@media (prefers-color-scheme:dark){{body{{background:#121417;color:#e6e6e6}}
form{{background:#1d2025!important}}input{{background:#121417;color:#e6e6e6}}}}
form{{background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0002;width:20rem}}
h1{{font-size:1.3rem;margin:0 0 1rem;color:#1f6feb}}
input{{width:100%;box-sizing:border-box;padding:.6rem;margin:.4rem 0 1rem;border:1px solid #999;
border-radius:6px;font-size:1rem}}
button{{width:100%;padding:.6rem;background:#1f6feb;color:#fff;border:0;border-radius:6px;
font-size:1rem;cursor:pointer}}
.error{{color:#c62828;margin:0 0 1rem}}
</style></head><body>
<form method="post" action="{action}">
<h1>🎧 {app}</h1>
<p>This AudioFetch is shared on the network. Enter its password.</p>
{error}
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password"
 autofocus required maxlength="1024">
<input type="hidden" name="next" value="{next}">
<button type="submit">Log in</button>
</form></body></html>"""


def login_page(next_path: str, error: str = "") -> str:
    note = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return _PAGE.format(app=APP_NAME, action=LOGIN_API, error=note,
                        next=html.escape(safe_next(next_path), quote=True))


def build_auth_router(get_auth: Callable[[], LanAuth], *, secure_cookie: bool = False
                      ) -> APIRouter:
    router = APIRouter()

    @router.get(LOGIN_PAGE, include_in_schema=False)
    def show_login(next: str = "/", error: str = "") -> HTMLResponse:
        return HTMLResponse(login_page(next, error[:200]),
                            headers={"cache-control": "no-store"})

    @router.post(LOGIN_API, response_model=LoginAnswer, tags=["auth"],
                 responses={401: {"description": "Wrong password"},
                            429: {"description": "Locked out after wrong passwords"}})
    async def log_in(request: Request) -> Response:
        """Log in with the LAN password: JSON `{password}` returns a Bearer token; the login
        page's form gets a session cookie and a redirect."""
        content_type = request.headers.get("content-type", "")
        is_form = not content_type.startswith("application/json")
        try:
            body = await _read_limited(request)
            password, next_path = parse_login_body(body, content_type)
        except ValueError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        auth = get_auth()
        address = request.client.host if request.client else "unknown"
        try:
            token, expires = await auth.login(password, address)
        except LockedOut as exc:
            log.warning("LAN login refused for %s: locked out for %d s", address,
                        exc.retry_after)
            if is_form:
                return _back_to_login(next_path, str(exc))
            return JSONResponse({"detail": str(exc)}, status_code=429,
                                headers={"retry-after": str(exc.retry_after)})
        except WrongPassword as exc:
            log.warning("Wrong LAN password from %s", address)
            if is_form:
                return _back_to_login(next_path, str(exc))
            return JSONResponse({"detail": str(exc)}, status_code=401)
        log.info("LAN login from %s", address)
        # Whatever session the browser had before is dropped: no fixation.
        auth.tokens.revoke(auth.token_of({"cookie": request.headers.get("cookie", "")}))
        if is_form:
            response: Response = RedirectResponse(safe_next(next_path), status_code=303)
        else:
            response = JSONResponse(LoginAnswer(token=token, expires_at=expires).model_dump())
        response.set_cookie(SESSION_COOKIE, token, max_age=int(expires - time.time()),
                            httponly=True, samesite="lax", secure=secure_cookie, path="/")
        return response

    @router.post(LOGOUT_API, tags=["auth"])
    async def log_out(request: Request) -> Response:
        """End this session (the token or cookie stops working at once)."""
        auth = get_auth()
        auth.tokens.revoke(auth.token_of(dict(request.headers)))
        wants_page = "text/html" in request.headers.get("accept", "")
        response: Response = (RedirectResponse(LOGIN_PAGE, status_code=303) if wants_page
                              else JSONResponse({"detail": "Logged out."}))
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router


def _back_to_login(next_path: str | None, error: str) -> Response:
    target = f"{LOGIN_PAGE}?next={quote(safe_next(next_path))}&error={quote(error)}"
    return RedirectResponse(target, status_code=303)


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_LOGIN_BODY:
        raise ValueError("The request is too large.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LOGIN_BODY:
            raise ValueError("The request is too large.")
    return body
