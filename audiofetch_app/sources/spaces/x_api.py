"""X's web API as Spaces need it: auth (cookies or guest token), metadata, stream status.

X changes ids and shapes now and then; everything that names X's API lives in this module.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from audiofetch_app.core import net
from audiofetch_app.core.job_context import JobError
from audiofetch_app.sources.spaces.metadata import SpaceMetadata, parse_audio_space

log = logging.getLogger(__name__)

API_ENV = "AUDIOFETCH_X_API"
# The public bearer token of X's own web client (not a secret: it ships in x.com's JS).
PUBLIC_BEARER = ("AAAAAAAAAAAAAAAAAAAAANRILgAAAAAAnNwIzUejRCOuH5E6I8xnZz4puTs%3D"
                 "1Zv7ttfk8LF81IUq16cHjhLTvJu4FA33AGWWjCpTnA")
REFERER = "https://x.com/"
GUEST_ACTIVATE = "https://api.x.com/1.1/guest/activate.json"
AUDIO_SPACE = "https://x.com/i/api/graphql/{query_id}/AudioSpaceById"
STREAM_STATUS = "https://api.x.com/1.1/live_video_stream/status/{media_key}"
FEATURES = {
    "spaces_2022_h2_spaces_communities": True,
    "spaces_2022_h2_clipping": True,
    "creator_subscriptions_tweet_preview_api_enabled": True,
    "responsive_web_graphql_exclude_directive_enabled": True,
    "verified_phone_label_enabled": False,
    "responsive_web_graphql_skip_user_profile_image_extensions_enabled": False,
    "responsive_web_graphql_timeline_navigation_enabled": True,
}
# Right after a Space ends, X's replay playlist and stream status can answer 404 for some
# seconds: waits of 0.5, 1, 2, 4, 8, 15, 15 s (45.5 s in all) before believing it is gone.
GONE_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0)
JUST_ENDED = 15 * 60  # seconds after its end that a Space counts as just ended
MAX_RATE_LIMIT_WAIT = 60.0  # seconds we wait for X's limit to reset before telling the user
_X_HOSTS = {"x.com", "api.x.com", "twitter.com", "api.twitter.com"}


def endpoint(url: str) -> str:
    """Apply AUDIOFETCH_X_API: X's scheme and host replaced, X's path kept."""
    override = os.environ.get(API_ENV, "").strip().rstrip("/")
    parts = urlsplit(url)
    if not override or parts.hostname not in _X_HOSTS:
        return url
    base = urlsplit(override)
    path = (base.path.rstrip("/") + parts.path) if base.path else parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))


@dataclass(frozen=True)
class XCookies:
    auth_token: str
    ct0: str


@dataclass
class StreamInfo:
    playlist_url: str
    live: bool


class XClient:
    """Talks to X for one job; a fresh guest token per download and on 403/429."""

    def __init__(self, http: httpx.AsyncClient, *, cookies: XCookies | None = None,
                 query_id: str = "p8k4kaPusjNj85gj8w_YAQ") -> None:
        self.http = http
        self.cookies = cookies
        self.query_id = query_id
        self._guest_token: str | None = None

    async def _headers(self) -> dict[str, str]:
        headers = {"authorization": f"Bearer {PUBLIC_BEARER}", "referer": REFERER,
                   "x-twitter-active-user": "yes", "x-twitter-client-language": "en"}
        if self.cookies:
            headers["x-csrf-token"] = self.cookies.ct0
            headers["x-twitter-auth-type"] = "OAuth2Session"
            headers["cookie"] = f"auth_token={self.cookies.auth_token}; ct0={self.cookies.ct0}"
        else:
            headers["x-guest-token"] = await self._guest()
        return headers

    async def _guest(self) -> str:
        for _ in range(2):
            if self._guest_token is not None:
                break
            response = await net.request(
                self.http, "POST", endpoint(GUEST_ACTIVATE), retry_status=False,
                headers={"authorization": f"Bearer {PUBLIC_BEARER}", "referer": REFERER})
            if response.status_code == 429:
                wait = _reset_in(response)
                if wait is None or wait > MAX_RATE_LIMIT_WAIT:
                    raise JobError(_rate_limited(response), retryable=True)
                await _sleep(wait)
                continue
            token = _json(response).get("guest_token")
            if response.status_code != 200 or not token:
                raise JobError(_explain(response, "X did not hand out a guest token"))
            self._guest_token = str(token)
        if self._guest_token is None:
            raise JobError("X is limiting requests right now; try again in a few minutes.",
                           retryable=True)
        return self._guest_token

    async def _get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self._call(url, params)
        if response.status_code != 200:
            raise JobError(self._explain(response, "X refused the request"))
        return _json(response)

    def _explain(self, response: httpx.Response, what: str) -> str:
        if response.status_code == 403 and not self.cookies and not _error_codes(response) & {
                239, 353}:
            return ("X only shows this to logged-in accounts; add your X cookies (auth_token "
                    "and ct0) in Settings.")
        return _explain(response, what)

    async def _call(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        """GET with X's auth; fresh guest tokens on 403/429, waits out short rate limits."""
        waited = 0.0
        for attempt in range(4):
            response = await net.request(self.http, "GET", endpoint(url), params=params,
                                         headers=await self._headers(), retry_status=False)
            status = response.status_code
            if status < 400:
                return response
            if status >= 500 and attempt < 3:
                await _sleep(net.DEFAULT_POLICY.backoff(attempt + 1))
                continue
            if status in (403, 429) and not self.cookies and attempt < 3:
                self._guest_token = None  # guest tokens run out: get a fresh one
                if status == 403:
                    continue
            if status == 429:
                wait = _reset_in(response)
                if wait is not None and waited + wait <= MAX_RATE_LIMIT_WAIT and attempt < 3:
                    log.info("X rate limit; waiting %.0f s", wait)
                    await _sleep(wait)
                    waited += wait
                    continue
                raise JobError(_rate_limited(response), retryable=True)
            return response
        raise JobError("X kept refusing the request; try again later or add your X cookies.")

    async def space(self, space_id: str) -> SpaceMetadata:
        variables = {"id": space_id, "isMetatagsQuery": False, "withReplays": True,
                     "withListeners": True}
        payload = await self._get(AUDIO_SPACE.format(query_id=self.query_id), params={
            "variables": json.dumps(variables, separators=(",", ":")),
            "features": json.dumps(FEATURES, separators=(",", ":")),
        })
        errors = payload.get("errors") or []
        if errors and not ((payload.get("data") or {}).get("audioSpace") or {}):
            message = errors[0].get("message", "unknown error")
            raise JobError(f"X could not look up this Space: {message.rstrip('.')}.")
        return parse_audio_space(space_id, payload)

    async def stream(self, media_key: str, *, just_ended: bool = False) -> StreamInfo:
        """Where the Space's audio is. `just_ended`: X may not know the replay for some
        seconds after the end, so a 404 is asked again over GONE_WAITS first."""
        waits = iter(GONE_WAITS if just_ended else ())
        while True:
            response = await self._call(STREAM_STATUS.format(media_key=media_key))
            if response.status_code != 404 or (wait := next(waits, None)) is None:
                break
            log.info("X does not know this Space's stream yet; asking again in %.1f s", wait)
            await _sleep(wait)
        if response.status_code == 404:
            raise JobError("X has no recording of this Space (it ended without a replay, "
                           "or the replay was removed).")
        if response.status_code != 200:
            raise JobError(self._explain(response, "X would not give out the Space's stream"))
        source = _json(response).get("source") or {}
        location = source.get("noRedirectPlaybackUrl") or source.get("location") or ""
        if "/live_video_stream/geoblocked/" in (source.get("location") or "") + location:
            raise JobError("X does not let this Space be played from your country "
                           "(geoblocked).")
        if not location:
            raise JobError("X did not say where this Space's audio is.")
        return StreamInfo(playlist_url=location, live="type=live" in location)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error_codes(response: httpx.Response) -> set[int]:
    return {e.get("code") for e in _json(response).get("errors") or [] if isinstance(e, dict)}


def _explain(response: httpx.Response, what: str) -> str:
    codes = _error_codes(response)
    if 32 in codes or response.status_code == 401:
        return ("Your X cookies have expired or are wrong; log in to x.com again and copy "
                "auth_token and ct0 into Settings.")
    if 353 in codes:
        return ("Your X cookies do not match each other (auth_token and ct0 come from "
                "different logins); copy both again.")
    if 239 in codes:
        return "X refused its guest access; try again later, or add your X cookies."
    return f"{what} (HTTP {response.status_code})."


def _reset_in(response: httpx.Response) -> float | None:
    reset = response.headers.get("x-rate-limit-reset")
    if reset and reset.isdigit():
        return max(0.0, int(reset) - time.time())
    return net.RetryPolicy().retry_after(response.headers.get("retry-after"))


def _rate_limited(response: httpx.Response) -> str:
    reset = response.headers.get("x-rate-limit-reset")
    if reset and reset.isdigit():
        when = datetime.fromtimestamp(int(reset)).strftime("%H:%M")
        return f"X is limiting requests right now; try again after {when}."
    return "X is limiting requests right now; try again in a few minutes."


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)
