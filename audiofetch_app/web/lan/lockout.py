"""Brute-force protection: five wrong passwords from one address lock it out for a while.

The first lockout lasts a minute; each further one from the same address doubles it, up to a
day. A right password clears the address's record.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

ATTEMPTS = 5
FIRST_LOCK = 60.0
LONGEST_LOCK = 24 * 3600.0
FORGET_AFTER = 24 * 3600.0  # an address quiet this long starts over


class LockedOut(Exception):
    """The address may try again at `until` (time.time() seconds)."""

    def __init__(self, until: float, now: float) -> None:
        self.until = until
        self.retry_after = max(1, int(until - now + 0.999))
        super().__init__(f"Too many wrong passwords; try again in {_say(self.retry_after)}.")


@dataclass
class _Record:
    failures: int = 0
    lockouts: int = 0
    locked_until: float = 0.0
    last_seen: float = 0.0


class Lockout:
    """Counts wrong passwords per client address."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def check(self, address: str) -> None:
        """Raise LockedOut when `address` may not try now."""
        now = self.clock()
        with self._lock:
            record = self._records.get(address)
            if record is not None and record.locked_until > now:
                raise LockedOut(record.locked_until, now)

    def failed(self, address: str) -> None:
        """Count a wrong password; raises LockedOut when this one locks the address."""
        now = self.clock()
        with self._lock:
            self._forget_old(now)
            record = self._records.setdefault(address, _Record())
            record.last_seen = now
            record.failures += 1
            if record.failures >= ATTEMPTS:
                record.failures = 0
                record.lockouts += 1
                length = min(FIRST_LOCK * 2 ** (record.lockouts - 1), LONGEST_LOCK)
                record.locked_until = now + length
                raise LockedOut(record.locked_until, now)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._records.pop(address, None)

    def _forget_old(self, now: float) -> None:
        if len(self._records) < 1000:
            return
        for address in [a for a, r in self._records.items()
                        if now - r.last_seen > FORGET_AFTER and r.locked_until < now]:
            del self._records[address]


def _say(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 7200:
        return f"{-(-seconds // 60)} minutes"
    return f"{-(-seconds // 3600)} hours"
