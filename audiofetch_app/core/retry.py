"""Retrying a request: RetryPolicy, backoff with jitter, Retry-After, and what earns a retry."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import math
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import httpx

from audiofetch_app.core.net_errors import (
    HTTPStatusError,
    NetError,
    request_error,
    strip_query,
    transport_error,
)

# Retries are logged under core.net, as they were before the split: log filters key on it.
log = logging.getLogger("audiofetch_app.core.net")
T = TypeVar("T")

# Worth another try: the network or the server may well behave next time.
RETRYABLE = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError,
             httpx.ProxyError)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; `attempts` counts the first try too."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0

    def backoff(self, failures: int) -> float:
        """Exponential backoff with full jitter after the `failures`-th failure (1-based)."""
        cap = min(self.max_delay, self.base_delay * 2 ** min(max(failures - 1, 0), 30))
        return random.uniform(0, cap)

    def retry_after(self, value: str | None) -> float | None:
        """Seconds asked for by a Retry-After header (seconds or HTTP-date), capped."""
        if not value:
            return None
        try:
            seconds = float(value.strip())
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value.strip())
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - datetime.now(UTC)).total_seconds()
        if not math.isfinite(seconds):
            return None
        return min(max(seconds, 0.0), self.max_retry_after)


DEFAULT_POLICY = RetryPolicy()


class Again(Exception):
    """This attempt failed in a way another attempt may fix."""

    def __init__(self, error: NetError, response: httpx.Response | None = None, *,
                 progress_counts: bool = True) -> None:
        super().__init__(str(error))
        self.error, self.response = error, response
        # False: a failure even when bytes arrived (a trickle must not retry forever).
        self.progress_counts = progress_counts


class Restart(Exception):
    """Try again at once, from byte 0: the .part cannot be continued."""


async def retrying(policy: RetryPolicy, url: str, attempt: Callable[[], Awaitable[T]],
                   progress: Callable[[], int] | None = None) -> T:
    """Run `attempt` until it succeeds, pausing after each Again; progress earns new tries."""
    furthest = progress() if progress else 0
    failures = tries = 0
    while True:
        tries += 1
        try:
            return await attempt()
        except Restart:
            continue
        except Again as again:
            if progress and (size := progress()) > furthest:
                furthest = size
                if again.progress_counts:
                    failures = 0
            failures += 1
            if failures >= policy.attempts:
                raise _gave_up(again, url, tries) from again.__cause__
            retry_after = again.response.headers.get("retry-after") if again.response else None
            asked = policy.retry_after(retry_after)
            delay = asked if asked is not None else policy.backoff(failures)
            log.debug("Retrying %s in %.2fs after failure %d of %d: %s", strip_query(url),
                      delay, failures, policy.attempts, again.error)
            await asyncio.sleep(delay)


def _gave_up(again: Again, url: str, tries: int) -> NetError:
    if isinstance(again.__cause__, RETRYABLE):
        return transport_error(again.__cause__, url, tries)
    if isinstance(again.error, HTTPStatusError):
        return HTTPStatusError(again.error.status, again.error.url, attempts=tries)
    return again.error


@contextlib.contextmanager
def translated(url: str) -> Iterator[None]:
    """Turn httpx exceptions into Again (worth retrying) or a NetError sentence."""
    try:
        yield
    except RETRYABLE as exc:
        raise Again(transport_error(exc, url)) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise request_error(exc, url) from exc


def check_status(response: httpx.Response) -> None:
    """Raise Again for 429 and 5xx (worth retrying), HTTPStatusError for other 4xx."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise Again(HTTPStatusError(status, str(response.url)), response)
    if status >= 400:
        raise HTTPStatusError(status, str(response.url))
