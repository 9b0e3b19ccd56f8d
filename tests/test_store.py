"""The store survives kill -9 mid-write, and keeps reads and writes consistent."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tinydb import TinyDB

from audiofetch_app.core.store import JOBS, SECRETS, SETTINGS, AtomicJSONStorage, Store, StoreError

WRITER = textwrap.dedent("""
    import sys
    from audiofetch_app.core.store import Store, JOBS
    store = Store(sys.argv[1])
    table = store.table(JOBS)
    blob = "x" * 400
    i = 0
    while True:
        i += 1
        store.run(lambda db: db.table(JOBS).insert({"n": i, "blob": blob}))
        print(i, flush=True)
""")


def test_tables_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.json")
    store.run(lambda db: db.table(JOBS).insert({"id": "a"}))
    store.run(lambda db: db.table(SETTINGS).insert({"k": 1}))
    store.run(lambda db: db.table(SECRETS).insert({"name": "s"}))
    store.close()
    raw = json.loads((tmp_path / "db.json").read_text())
    assert set(raw) == {JOBS, SETTINGS, SECRETS}
    again = Store(tmp_path / "db.json")
    assert again.run(lambda db: db.table(JOBS).all()) == [{"id": "a"}]


async def test_arun_runs_off_the_loop(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.json")
    doc_id = await store.arun(lambda db: db.table(JOBS).insert({"id": "b"}))
    assert await store.arun(lambda db: db.table(JOBS).get(doc_id=doc_id)) == {"id": "b"}


def test_damaged_file_gives_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    path.write_text('{"jobs": {"1": {"id"')
    with pytest.raises(StoreError, match="damaged"):
        Store(path).run(lambda db: db.table(JOBS).all())


def test_disk_error_when_target_is_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    store = Store(path)
    store.run(lambda db: db.table(JOBS).insert({"id": "kept"}))
    path.unlink()
    path.mkdir()  # os.replace onto a directory fails the same way a full disk would
    with pytest.raises(StoreError, match="Could not save"):
        store.run(lambda db: db.table(JOBS).insert({"id": "lost"}))


def test_stale_temp_files_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".db.json.abc.tmp"
    stale.write_text("half")
    Store(tmp_path / "db.json")
    assert not stale.exists()


def test_sigkill_mid_write_leaves_a_readable_database(tmp_path: Path) -> None:
    """Kill a writer with SIGKILL at random points, many times; the file always parses."""
    path = tmp_path / "db.json"
    rng = random.Random(1234)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    last_seen = 0
    for _round in range(30):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)],
                                stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        wanted = rng.randint(1, 15)
        for _ in range(wanted):
            line = proc.stdout.readline()
            assert line, "writer died on its own"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        data = json.loads(path.read_text())  # never half-written
        count = len(data[JOBS])
        assert count >= last_seen + wanted  # every acknowledged write survived
        last_seen = count
        db = TinyDB(path, storage=AtomicJSONStorage)
        assert len(db.table(JOBS)) == count
        db.close()
