"""The LAN password, from Settings, a file or AUDIOFETCH_PASSWORD; stored as a Scrypt hash."""

from __future__ import annotations

import base64
import hmac
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from tinydb.table import Document

from audiofetch_app.core.logs import register_secret

if TYPE_CHECKING:
    from audiofetch_app.core.store import Store

PASSWORD_ENV = "AUDIOFETCH_PASSWORD"
MIN_LENGTH = 8
MAX_LENGTH = 1024  # hashing a megabyte "password" would be a cheap denial of service
AUTH_TABLE = "auth"
_DOC_KEY = "lan_password"
# n=2**15, r=8: about 32 MiB and 50-100 ms per check; slow for guessing, fine for a login.
_N, _R, _P = 2**15, 8, 1


class PasswordError(ValueError):
    """A password that cannot be used; the message says why."""


def check_strength(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"The password needs at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"The password can have at most {MAX_LENGTH} characters.")
    if not password.strip():
        raise PasswordError("The password cannot be only spaces.")
    return password


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash`, all that is ever stored of a password."""
    check_strength(password)
    salt = os.urandom(16)
    digest = Scrypt(salt=salt, length=32, n=_N, r=_R, p=_P).derive(password.encode())
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash (constant time; False for any bad input)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or len(password) > MAX_LENGTH:
            return False
        kdf = Scrypt(salt=_unb64(salt), length=32, n=int(n), r=int(r), p=int(p))
        kdf.verify(password.encode(), _unb64(digest))
        return True
    except (InvalidKey, ValueError, TypeError):
        return False


def read_password_file(path: str | Path) -> str:
    """The password in the first line of `path` (a trailing newline is not part of it)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PasswordError(f"Could not read the password file {path}: "
                            f"{exc.strerror or exc}.") from exc
    lines = text.splitlines()
    password = lines[0] if lines else ""
    register_secret(password)
    return check_strength(password)


class PasswordStore:
    """The hash in TinyDB's auth table (never the password)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def is_set(self) -> bool:
        return self._hash() is not None

    def set(self, password: str) -> None:
        register_secret(password)
        value = hash_password(password)

        self.store.run(lambda db: db.table(AUTH_TABLE).upsert(
            Document({_DOC_KEY: value}, doc_id=1)))

    def clear(self) -> None:
        self.store.run(lambda db: db.table(AUTH_TABLE).truncate())

    def verify(self, password: str) -> bool:
        stored = self._hash()
        if stored is None:
            return False
        return verify_password(password, stored)

    def _hash(self) -> str | None:
        def read(db: Any) -> str | None:
            doc = db.table(AUTH_TABLE).get(doc_id=1)
            return doc.get(_DOC_KEY) if doc else None

        return self.store.run(read)


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
