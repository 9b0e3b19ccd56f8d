"""A damaged database: one sentence and a non-zero exit, never a traceback; the last good
copy is kept beside it and can be put back from the CLI or the window."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from nicegui.testing.user_simulation import user_simulation

from audiofetch_app.core.store import (
    JOBS,
    DamagedStore,
    Store,
    StoreError,
    good_copy_path,
    restore_good_copy,
)
from audiofetch_app.ui import recovery
from tests.test_cli import run_cli

DAMAGE = {
    "random bytes": os.urandom(4096).replace(b"{", b"?"),
    "JSON that is a list": b"[1, 2, 3]",
    "JSON whose tables are not objects": b'{"jobs": [1, 2]}',
    "an empty file": b"",
    "a cut-off file": b'{"jobs": {"1": {"kind": "direct", "url": "https://e',
}


def _good_database(path: Path) -> None:
    store = Store(path)
    store.run(lambda db: db.table(JOBS).insert({"id": "abc123", "kind": "direct",
                                                 "url": "https://e.com/a.mp3",
                                                 "state": "done", "created_at": 1.0}))
    store.close()


@pytest.mark.parametrize("what", sorted(DAMAGE))
def test_every_kind_of_damage_is_one_sentence(tmp_path: Path, what: str) -> None:
    path = tmp_path / "audiofetch.json"
    path.write_bytes(DAMAGE[what])
    with pytest.raises(DamagedStore) as err:
        Store(path)
    message = str(err.value)
    assert message.startswith(f"The database {path} is damaged (") and "\n" not in message
    assert path.read_bytes() == DAMAGE[what]  # nothing was changed
    assert err.value.good_copy is None


def test_a_clean_open_keeps_a_good_copy_that_restores(tmp_path: Path) -> None:
    path = tmp_path / "audiofetch.json"
    _good_database(path)
    Store(path).close()  # the start after the write keeps the copy
    assert json.loads(good_copy_path(path).read_bytes()) == json.loads(path.read_bytes())
    assert good_copy_path(path).stat().st_mode & 0o777 == 0o600
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(DamagedStore) as err:
        Store(path)
    assert err.value.good_copy == good_copy_path(path)
    kept = restore_good_copy(path)
    assert kept.read_bytes() == b"\x00" * 100  # the damaged file stays, for a closer look
    store = Store(path)
    assert store.run(lambda db: db.table(JOBS).all())[0]["id"] == "abc123"
    store.close()


def test_restore_without_a_good_copy_says_so(tmp_path: Path) -> None:
    path = tmp_path / "audiofetch.json"
    path.write_bytes(b"garbage")
    with pytest.raises(StoreError, match="no earlier good copy"):
        restore_good_copy(path)


def test_the_cli_says_what_is_damaged_and_how_to_restore(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    path = home / "audiofetch.json"
    _good_database(path)
    assert run_cli("jobs", "list", home=home).returncode == 0  # makes the good copy
    path.write_bytes(b"")
    for command in (["jobs", "list"], ["get", "https://e.com/a.mp3"], ["serve"]):
        result = run_cli(*command, home=home)
        assert result.returncode == 1, result
        assert "Traceback" not in result.stderr
        assert f"The database {path} is damaged (the file is empty)" in result.stderr
        assert "run `audiofetch restore-database` to put it back" in result.stderr
    restored = run_cli("restore-database", home=home)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip().splitlines()[-1] == str(path)
    listed = run_cli("jobs", "list", home=home)
    assert listed.returncode == 0 and "abc123" in listed.stdout
    assert [p.name for p in home.glob("audiofetch.json.damaged-*")]


async def test_the_window_offers_the_restore(tmp_path: Path) -> None:
    path = tmp_path / "audiofetch.json"
    _good_database(path)
    Store(path).close()
    path.write_bytes(b"not json")
    with pytest.raises(DamagedStore) as err:
        Store(path)
    async with user_simulation(root=lambda: recovery.build(err.value)) as user:
        await user.open("/")
        await user.should_see("is damaged")
        user.find(marker="recovery-restore").click()
        await user.should_see("Restored.")
    Store(path).close()  # reads cleanly again


def test_restore_refuses_a_database_that_is_not_damaged(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    path = home / "audiofetch.json"
    _good_database(path)
    assert run_cli("jobs", "list", home=home).returncode == 0  # makes the good copy
    before = path.read_bytes()
    result = run_cli("restore-database", home=home)
    assert result.returncode == 1 and "reads cleanly, so there is nothing to restore" in \
        result.stderr
    assert path.read_bytes() == before and not list(home.glob("*.damaged-*"))


def test_a_clean_close_refreshes_the_good_copy(tmp_path: Path) -> None:
    """What a session wrote survives later damage: the good copy is made again at close."""
    path = tmp_path / "audiofetch.json"
    _good_database(path)
    store = Store(path)
    store.run(lambda db: db.table(JOBS).insert({"id": "later", "kind": "direct",
                                                 "url": "https://e.com/b.mp3",
                                                 "state": "done", "created_at": 2.0}))
    store.close()
    path.write_bytes(b"garbage")
    restore_good_copy(path)
    store = Store(path)
    assert {j["id"] for j in store.run(lambda db: db.table(JOBS).all())} == {"abc123", "later"}
    store.close()
