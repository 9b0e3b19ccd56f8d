"""Login tokens for LAN mode: random, stored only hashed, with an expiry; logout revokes."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tinydb import Query

if TYPE_CHECKING:
    from audiofetch_app.core.store import Store

TOKENS_TABLE = "auth_tokens"
DEFAULT_TTL = 24 * 3600.0


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Issues and checks tokens; a copy of the live ones is kept in memory for fast checks."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        docs = store.run(lambda db: list(db.table(TOKENS_TABLE)))
        now = clock()
        self._live: dict[str, float] = {d["digest"]: d["expires"] for d in docs
                                        if d.get("expires", 0) > now}

    def issue(self, ttl: float = DEFAULT_TTL, kind: str = "api") -> tuple[str, float]:
        """A new token and when it expires; only its hash is kept."""
        token = secrets.token_urlsafe(32)
        expires = self.clock() + ttl
        digest = _digest(token)
        now = self.clock()

        def write(db: Any) -> None:
            table = db.table(TOKENS_TABLE)
            table.remove(Query().expires <= now)
            table.insert({"digest": digest, "expires": expires, "kind": kind})

        self.store.run(write)
        with self._lock:
            self._live[digest] = expires
        return token, expires

    def valid(self, token: str | None) -> bool:
        if not token or len(token) > 200:
            return False
        digest = _digest(token)
        with self._lock:
            expires = self._live.get(digest)
            if expires is None:
                return False
            if expires <= self.clock():
                del self._live[digest]
                return False
        return True

    def revoke(self, token: str | None) -> None:
        if not token:
            return
        digest = _digest(token)
        with self._lock:
            self._live.pop(digest, None)
        self.store.run(lambda db: db.table(TOKENS_TABLE).remove(Query().digest == digest))

    def revoke_all(self) -> None:
        """After a password change nobody stays logged in with the old one."""
        with self._lock:
            self._live.clear()
        self.store.run(lambda db: db.table(TOKENS_TABLE).truncate())
