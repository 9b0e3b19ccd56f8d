"""LAN auth parts: the password hash, the lockout, the tokens (real TinyDB files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiofetch_app.core.store import Store
from audiofetch_app.web.lan import lockout as lk
from audiofetch_app.web.lan.passwords import (
    PasswordError,
    PasswordStore,
    hash_password,
    read_password_file,
    verify_password,
)
from audiofetch_app.web.lan.tokens import TokenStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_hash_is_scrypt_salted_and_verifies() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("scrypt$32768$8$1$") and first != second
    assert "correct horse" not in first
    assert verify_password("correct horse", first)
    assert not verify_password("correct horsE", first)
    assert not verify_password("correct horse", "scrypt$1$2")
    assert not verify_password("correct horse", "md5$x$y$z$a$b")
    with pytest.raises(PasswordError, match="8 characters"):
        hash_password("short")
    with pytest.raises(PasswordError, match="only spaces"):
        hash_password(" " * 12)


def test_password_store_keeps_only_the_hash(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.json")
    passwords = PasswordStore(store)
    assert not passwords.is_set() and not passwords.verify("anything at all")
    passwords.set("tr0ub4dor&3-long")
    raw = (tmp_path / "db.json").read_text()
    assert "tr0ub4dor" not in raw and "scrypt$" in raw
    again = PasswordStore(Store(tmp_path / "db.json"))
    assert again.is_set() and again.verify("tr0ub4dor&3-long")
    assert not again.verify("tr0ub4dor&3-lonG")
    passwords.clear()
    assert not PasswordStore(Store(tmp_path / "db.json")).is_set()


def test_password_file(tmp_path: Path) -> None:
    good = tmp_path / "pw"
    good.write_text("a long enough secret\n")
    assert read_password_file(good) == "a long enough secret"
    (tmp_path / "empty").write_text("")
    with pytest.raises(PasswordError, match="8 characters"):
        read_password_file(tmp_path / "empty")
    with pytest.raises(PasswordError, match="Could not read"):
        read_password_file(tmp_path / "missing")


def test_five_wrong_passwords_lock_an_address_longer_each_time() -> None:
    clock = Clock()
    guard = lk.Lockout(clock)
    for _ in range(4):
        guard.failed("10.0.0.5")
    guard.check("10.0.0.5")
    with pytest.raises(lk.LockedOut) as locked:
        guard.failed("10.0.0.5")
    assert locked.value.retry_after == 60 and "60 seconds" in str(locked.value)
    with pytest.raises(lk.LockedOut):
        guard.check("10.0.0.5")
    guard.check("10.0.0.6")  # another address is not affected
    clock.now += 61
    guard.check("10.0.0.5")
    for _ in range(4):
        guard.failed("10.0.0.5")
    with pytest.raises(lk.LockedOut) as locked:
        guard.failed("10.0.0.5")
    assert locked.value.retry_after == 120 and "2 minutes" in str(locked.value)
    clock.now += 121
    guard.succeeded("10.0.0.5")
    for _ in range(4):
        guard.failed("10.0.0.5")
    guard.check("10.0.0.5")


def test_tokens_expire_revoke_and_are_stored_hashed(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(tmp_path / "db.json")
    tokens = TokenStore(store, clock)
    token, expires = tokens.issue(ttl=100)
    assert expires == clock.now + 100 and tokens.valid(token)
    assert token not in (tmp_path / "db.json").read_text()
    assert not tokens.valid(token + "x") and not tokens.valid("") and not tokens.valid(None)
    assert TokenStore(Store(tmp_path / "db.json"), clock).valid(token)  # survives a restart
    tokens.revoke(token)
    assert not tokens.valid(token)
    assert not TokenStore(Store(tmp_path / "db.json"), clock).valid(token)
    other, _ = tokens.issue(ttl=100)
    clock.now += 101
    assert not tokens.valid(other)
    third, _ = tokens.issue(ttl=100)
    tokens.revoke_all()
    assert not tokens.valid(third)
