"""Secrets at rest: Fernet tokens in TinyDB, keyed by a 0600 key file or a passphrase."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from tinydb import Query

from audiofetch_app.core.logs import register_secret
from audiofetch_app.core.store import SECRETS, Store, atomic_write_bytes

KEY_FILE_VERSION = 1
_CHECK = b"audiofetch vault check v1"
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_DAMAGED = "The vault key file is missing or damaged; secrets cannot be read."


class VaultError(Exception):
    """Secrets cannot be read or written; the message says why in plain words."""


class WrongPassphrase(VaultError):
    """The vault is locked with a passphrase and the one given is missing or wrong."""


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> Fernet:
    key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def _keyfile_doc(keys: list[bytes]) -> dict[str, Any]:
    return {"version": KEY_FILE_VERSION, "mode": "keyfile",
            "keys": [k.decode("ascii") for k in keys]}


def _new_key(passphrase: str | None) -> tuple[dict[str, Any], MultiFernet]:
    """A fresh key file document and the matching cipher (random key, or passphrase + salt)."""
    if not passphrase:
        key = Fernet.generate_key()
        return _keyfile_doc([key]), MultiFernet([Fernet(key)])
    salt = os.urandom(16)
    fernet = _derive(passphrase, salt, **_SCRYPT)
    doc = {"version": KEY_FILE_VERSION, "mode": "passphrase",
           "salt": base64.b64encode(salt).decode("ascii"), **_SCRYPT,
           "check": fernet.encrypt(_CHECK).decode("ascii")}
    return doc, MultiFernet([fernet])


class Vault:
    """Named secrets, encrypted before they reach the store; plaintext lives only in memory."""

    def __init__(self, store: Store, key_path: Path, passphrase: str | None = None) -> None:
        self.store = store
        self.key_path = Path(key_path)
        self._lock = threading.RLock()
        self._fernet: MultiFernet | None = None
        self._keys: list[bytes] = []
        self._mode = "keyfile"
        self._passphrase: str | None = None
        # A missing or damaged key must not stop the app from starting: it is reported by
        # each operation that needs the key. A wrong passphrase is the caller's to handle now.
        self._broken: VaultError | None = None
        try:
            self._open(passphrase)
        except WrongPassphrase:
            raise
        except VaultError as exc:
            self._broken = exc
        else:
            self._finish_pending()

    @property
    def mode(self) -> str:
        """"keyfile" or "passphrase"."""
        return self._mode

    @staticmethod
    def needs_passphrase(key_path: Path) -> bool:
        """True if the key file at `key_path` is in passphrase mode (ask the user for it)."""
        try:
            return json.loads(Path(key_path).read_bytes()).get("mode") == "passphrase"
        except (OSError, ValueError, AttributeError):
            return False

    # ------------------------------------------------------------------ key file

    def _open(self, passphrase: str | None) -> None:
        if passphrase:
            register_secret(passphrase)
        try:
            raw = self.key_path.read_bytes()
        except FileNotFoundError:
            if self._db(lambda t: len(t)):
                raise VaultError(_DAMAGED) from None  # a new key would orphan the secrets
            self._adopt(*_new_key(passphrase))
            self._passphrase = passphrase or None
            return
        except OSError as exc:
            raise VaultError(f"The vault key file could not be read: {exc.strerror}.") from exc
        if os.name == "posix":
            with contextlib.suppress(OSError):  # reading still works; rewrites are 0600 anyway
                if self.key_path.stat().st_mode & 0o077:
                    os.chmod(self.key_path, 0o600)
        try:
            doc = json.loads(raw)
            if doc.get("version") != KEY_FILE_VERSION:
                raise ValueError("unknown version")
            if doc["mode"] == "keyfile":
                keys = [k.encode("ascii") for k in doc["keys"]]
                self._keys, self._mode = keys, "keyfile"
                self._fernet = MultiFernet([Fernet(k) for k in keys])
                return
            if doc["mode"] != "passphrase":
                raise ValueError("unknown mode")
            salt = base64.b64decode(doc["salt"], validate=True)
            n, r, p = int(doc["n"]), int(doc["r"]), int(doc["p"])
            if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
                raise ValueError("unreasonable scrypt parameters")
            check = doc["check"].encode("ascii")
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise VaultError(_DAMAGED) from exc
        if not passphrase:
            raise WrongPassphrase("The secrets are locked with a passphrase; enter it to unlock.")
        fernet = _derive(passphrase, salt, n, r, p)
        try:
            if fernet.decrypt(check) != _CHECK:
                raise InvalidToken
        except InvalidToken:
            raise WrongPassphrase("The passphrase is not correct.") from None
        self._keys, self._mode, self._fernet = [], "passphrase", MultiFernet([fernet])
        self._passphrase = passphrase

    def _adopt(self, doc: dict[str, Any], fernet: MultiFernet) -> None:
        """Write `doc` as the key file (0600, atomically) and start using `fernet`."""
        try:
            atomic_write_bytes(self.key_path, json.dumps(doc, indent=1).encode(), mode=0o600)
        except OSError as exc:
            raise VaultError(f"The vault key file could not be saved: {exc.strerror}.") from exc
        self._mode, self._fernet = doc["mode"], fernet
        self._keys = [k.encode("ascii") for k in doc.get("keys", [])]

    # ------------------------------------------------------------------ secrets

    def _db(self, fn: Callable[[Any], Any]) -> Any:
        return self.store.run(lambda db: fn(db.table(SECRETS)))

    def _ready(self) -> MultiFernet:
        if self._broken is not None:
            raise self._broken
        assert self._fernet is not None
        return self._fernet

    def set(self, name: str, value: str) -> None:
        """Encrypt `value` and save it under `name` (replacing any earlier value)."""
        register_secret(value)
        with self._lock:
            token = self._ready().encrypt(value.encode("utf-8")).decode("ascii")
            self._db(lambda t: t.upsert({"name": name, "token": token}, Query().name == name))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The decrypted secret `name`, or `default` if there is none."""
        with self._lock:
            doc = self._db(lambda t: t.get(Query().name == name))
            if doc is None:
                return default
            value = self._open_token(self._ready(), doc)[1]
        register_secret(value)
        return value

    @staticmethod
    def _open_token(fernet: MultiFernet, doc: dict[str, Any]) -> tuple[bytes, str]:
        """(token, plaintext); a `next_token` exists only after an interrupted re-keying."""
        for token in (doc.get("token"), doc.get("next_token")):
            try:
                raw = token.encode("ascii")
                return raw, fernet.decrypt(raw).decode("utf-8")
            except (AttributeError, InvalidToken, UnicodeError):
                continue
        raise VaultError(f"The secret “{doc.get('name')}” is damaged or was saved with "
                         "another key; enter it again.")

    def delete(self, name: str) -> None:
        """Forget the secret `name` (no error if there is none)."""
        with self._lock:
            self._db(lambda t: t.remove(Query().name == name))

    def names(self) -> list[str]:
        """Names of the stored secrets, sorted; names are not secret."""
        return sorted(doc["name"] for doc in self._db(lambda t: t.all()))

    # ------------------------------------------------------------------ key changes

    def rotate(self) -> None:
        """Encrypt every secret under a fresh key (a new salt in passphrase mode), drop old keys."""
        with self._lock:
            old = self._ready()
            if self._mode == "passphrase":
                self.set_passphrase(self._passphrase)
                return
            key = Fernet.generate_key()
            both = MultiFernet([Fernet(k) for k in (key, *self._keys)])
            # Old keys stay in the key file until every token has been rotated.
            self._reencrypt(old, both.rotate, _keyfile_doc([key, *self._keys]), both)
            self._adopt(_keyfile_doc([key]), MultiFernet([Fernet(key)]))

    def set_passphrase(self, passphrase: str | None) -> None:
        """Lock the secrets with `passphrase`, or with a key file again if it is None."""
        with self._lock:
            old = self._ready()
            doc, new = _new_key(passphrase)
            register_secret(passphrase)
            self._reencrypt(old, lambda token: new.encrypt(old.decrypt(token)), doc, new)
            self._passphrase = passphrase or None

    def reset(self) -> None:
        """Forget every secret and start over with a new key file (for a lost key or passphrase)."""
        with self._lock:
            self._db(lambda t: t.truncate())
            self._adopt(*_new_key(None))
            self._passphrase, self._broken = None, None

    def _reencrypt(self, old: MultiFernet, convert: Callable[[bytes], bytes],
                   doc: dict[str, Any], new: MultiFernet) -> None:
        """Re-encrypt every secret and switch to `doc`, readable whenever a crash hits.

        New tokens are first saved beside the old ones, then the key file is replaced, then
        the old tokens are dropped: at each step one of the two tokens opens with the file.
        """
        # All are converted before anything is written: a damaged secret stops it here.
        fresh = {d["name"]: convert(self._open_token(old, d)[0]).decode("ascii")
                 for d in self._db(lambda t: t.all())}
        self._db(lambda t: t.update_multiple(
            [({"next_token": tok}, Query().name == name) for name, tok in fresh.items()]))
        self._adopt(doc, new)
        self._finish_pending()

    def _finish_pending(self) -> None:
        """Keep whichever of `token`/`next_token` the current key opens (one DB write)."""
        fernet = self._ready()
        pending = Query().next_token.exists()
        if not self._db(lambda t: t.contains(pending)):
            return

        def promote(doc: Any) -> None:
            with contextlib.suppress(InvalidToken):
                fernet.decrypt(doc["next_token"].encode("ascii"))
                doc["token"] = doc["next_token"]
            del doc["next_token"]

        self._db(lambda t: t.update(promote, pending))

    @staticmethod
    def mask(value: str) -> str:
        """"••••1234" for long values; short ones reveal nothing at all."""
        if not value:
            return ""
        return "••••" + (value[-4:] if len(value) >= 12 else "")
