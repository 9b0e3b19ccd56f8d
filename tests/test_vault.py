"""core.vault with real TinyDB files and key files in tmp_path."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from audiofetch_app.core import logs
from audiofetch_app.core import vault as vault_module
from audiofetch_app.core.store import SECRETS, Store
from audiofetch_app.core.vault import Vault, VaultError, WrongPassphrase

SECRET = "zebra-quokka-7731-plaintext-marker"
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audiofetch.json"


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "vault.key"


def open_vault(db_path: Path, key_path: Path, passphrase: str | None = None) -> Vault:
    return Vault(Store(db_path), key_path, passphrase)


def tokens(db_path: Path) -> dict[str, str]:
    data = json.loads(db_path.read_text())
    return {doc["name"]: doc["token"] for doc in data.get(SECRETS, {}).values()}


def test_set_get_delete_names(db_path, key_path):
    vault = open_vault(db_path, key_path)
    assert vault.get("x_auth_token") is None
    assert vault.get("x_auth_token", "fallback") == "fallback"
    vault.set("x_auth_token", SECRET)
    vault.set("telegram_api_hash", "abcdef0123456789")
    vault.set("x_auth_token", SECRET + "-v2")  # replaces, no duplicate
    assert vault.names() == ["telegram_api_hash", "x_auth_token"]
    assert vault.get("x_auth_token") == SECRET + "-v2"
    vault.delete("telegram_api_hash")
    vault.delete("never-existed")
    assert vault.names() == ["x_auth_token"]
    # A fresh process sees the same secrets.
    assert open_vault(db_path, key_path).get("x_auth_token") == SECRET + "-v2"


def test_plaintext_never_reaches_the_database_file(db_path, key_path):
    vault = open_vault(db_path, key_path)
    vault.set("cookie", SECRET)
    raw = db_path.read_bytes()
    encoded = SECRET.encode()
    assert encoded not in raw
    for b64 in (base64.b64encode(encoded), base64.urlsafe_b64encode(encoded)):
        assert b64.rstrip(b"=") not in raw
    assert b"cookie" in raw  # names are not secret
    assert SECRET not in key_path.read_text()


def test_values_are_registered_for_log_redaction(db_path, key_path):
    vault = open_vault(db_path, key_path)
    vault.set("a", "set-value-to-redact-123")
    assert "set-value-to-redact-123" not in logs.redact("x set-value-to-redact-123 y")
    vault.store.run(lambda db: db.table(SECRETS).update(
        {"token": vault._ready().encrypt(b"got-value-to-redact-456").decode()}))
    assert vault.get("a") == "got-value-to-redact-456"
    assert "got-value-to-redact-456" not in logs.redact("got-value-to-redact-456")


@posix_only
def test_key_file_is_private_and_gets_tightened(db_path, key_path):
    open_vault(db_path, key_path).set("a", SECRET)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    doc = json.loads(key_path.read_text())
    assert doc["version"] == 1 and doc["mode"] == "keyfile" and len(doc["keys"]) == 1
    os.chmod(key_path, 0o644)
    assert open_vault(db_path, key_path).get("a") == SECRET
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_rotate_replaces_key_and_every_token(db_path, key_path):
    vault = open_vault(db_path, key_path)
    for i in range(3):
        vault.set(f"s{i}", f"{SECRET}-{i}")
    old_keys = json.loads(key_path.read_text())["keys"]
    old_tokens = tokens(db_path)
    vault.rotate()
    new_keys = json.loads(key_path.read_text())["keys"]
    assert len(new_keys) == 1 and new_keys[0] not in old_keys
    new_tokens = tokens(db_path)
    assert new_tokens.keys() == old_tokens.keys()
    assert all(new_tokens[n] != old_tokens[n] for n in old_tokens)
    assert "next_token" not in db_path.read_text()
    reopened = open_vault(db_path, key_path)
    assert [reopened.get(f"s{i}") for i in range(3)] == [f"{SECRET}-{i}" for i in range(3)]


def test_passphrase_mode(db_path, key_path):
    vault = open_vault(db_path, key_path, passphrase="correct horse battery")
    vault.set("api_hash", SECRET)
    doc = json.loads(key_path.read_text())
    assert doc["mode"] == "passphrase" and "keys" not in doc
    assert {"salt", "n", "r", "p", "check"} <= doc.keys() and doc["n"] == 2**15
    assert Vault.needs_passphrase(key_path)

    assert open_vault(db_path, key_path, "correct horse battery").get("api_hash") == SECRET
    with pytest.raises(WrongPassphrase):
        open_vault(db_path, key_path, "wrong horse")
    with pytest.raises(WrongPassphrase):
        open_vault(db_path, key_path)


def test_switching_modes_reencrypts(db_path, key_path):
    vault = open_vault(db_path, key_path)
    vault.set("a", SECRET)
    before = tokens(db_path)
    vault.set_passphrase("s3cret phrase")
    assert vault.mode == "passphrase" and tokens(db_path) != before
    assert "keys" not in json.loads(key_path.read_text())
    assert open_vault(db_path, key_path, "s3cret phrase").get("a") == SECRET
    vault.rotate()  # passphrase mode: new salt, same passphrase
    assert open_vault(db_path, key_path, "s3cret phrase").get("a") == SECRET
    vault.set_passphrase(None)
    assert not Vault.needs_passphrase(key_path)
    assert open_vault(db_path, key_path).get("a") == SECRET


def test_interrupted_rekey_stays_readable(db_path, key_path, monkeypatch):
    vault = open_vault(db_path, key_path)
    vault.set("a", SECRET)

    # Crash before the new key file is written: the old key still opens everything.
    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vault_module, "atomic_write_bytes", refuse)
    with pytest.raises(VaultError, match="could not be saved: No space left"):
        vault.set_passphrase("phrase one")
    monkeypatch.undo()
    assert "next_token" in db_path.read_text()
    assert open_vault(db_path, key_path).get("a") == SECRET
    assert "next_token" not in db_path.read_text()

    # Crash after the key file is written but before the old tokens are dropped.
    vault = open_vault(db_path, key_path)
    monkeypatch.setattr(vault, "_finish_pending", lambda: None)
    vault.set_passphrase("phrase two")
    assert "next_token" in db_path.read_text()
    assert open_vault(db_path, key_path, "phrase two").get("a") == SECRET
    assert "next_token" not in db_path.read_text()


def test_missing_key_file_with_secrets_is_a_clear_error(db_path, key_path):
    open_vault(db_path, key_path).set("a", SECRET)
    key_path.unlink()
    vault = open_vault(db_path, key_path)  # the app still starts
    assert vault.names() == ["a"]
    assert vault.get("absent") is None
    with pytest.raises(VaultError, match="key file is missing or damaged"):
        vault.get("a")
    with pytest.raises(VaultError):
        vault.set("b", "x")
    assert not key_path.exists()  # no new key that would orphan the old secrets
    vault.reset()
    assert vault.names() == []
    vault.set("b", SECRET)
    assert open_vault(db_path, key_path).get("b") == SECRET


def test_damaged_key_file_is_a_clear_error(db_path, key_path):
    open_vault(db_path, key_path).set("a", SECRET)
    key_path.write_text("{not json")
    with pytest.raises(VaultError, match="missing or damaged"):
        open_vault(db_path, key_path).get("a")


def test_damaged_token_names_the_secret(db_path, key_path):
    vault = open_vault(db_path, key_path)
    vault.set("x_ct0", SECRET)
    vault.store.run(lambda db: db.table(SECRETS).update({"token": "gAAAAAgarbage"}))
    with pytest.raises(VaultError) as info:
        vault.get("x_ct0")
    assert "x_ct0" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(VaultError, match="x_ct0"):
        vault.rotate()
    # Rotation refused before touching anything: the key file still has its one key.
    assert len(json.loads(key_path.read_text())["keys"]) == 1


def test_mask():
    assert Vault.mask("") == ""
    assert Vault.mask("abc") == "••••"
    assert Vault.mask("short-pass") == "••••"
    assert Vault.mask("0123456789abcdef1234") == "••••1234"
    long_value = "x" * 100 + "9876"
    assert Vault.mask(long_value) == "••••9876"
    assert "x" not in Vault.mask(long_value)
