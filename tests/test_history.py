"""Job history layout: hot jobs, write-once archive parts by month, paging at any offset,
moves that survive a crash at any step, and the first start on a database of today's format."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest

from audiofetch_app.core import history, history_archive, registry
from audiofetch_app.core.history_migrate import MARKER, migrate_jobs
from audiofetch_app.core.job_context import JobContext
from audiofetch_app.core.job_record import Job, JobState
from audiofetch_app.core.jobs import JobManager
from audiofetch_app.core.store import (
    JOBS,
    SETTINGS,
    DamagedStore,
    Store,
    history_dir,
    restore_good_copy,
)

DAY = 86400.0
FINISHED = [JobState.DONE, JobState.FAILED, JobState.CANCELLED, JobState.INTERRUPTED]


async def _quick(ctx: JobContext) -> None:
    ctx.set_output(ctx.output_dir / "x")


registry.register(registry.Source("t_hist", "test", _quick))


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "HOT_KEEP", 5)
    monkeypatch.setattr(history, "ARCHIVE_BATCH", 7)
    monkeypatch.setattr(history_archive, "PART_SIZE", 4)


def _records(n: int, seed: int = 1, start: float = 1_700_000_000.0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        state = JobState.RUNNING if i % 97 == 5 else JobState.PAUSED if i % 89 == 7 \
            else FINISHED[rng.randrange(4)]
        out.append(Job(kind=rng.choice(["direct", "page", "telegram"]), url=f"https://e.com/{i}",
                       title=f"Job {i}", state=state, created_at=start + i * DAY / 7,
                       resume_at=start + 10 * DAY if state == JobState.PAUSED else None
                       ).to_dict())
    rng.shuffle(out)
    return out


def _write_legacy(path: Path, records: list[dict]) -> None:
    """A database in the one-file format: what AudioFetch wrote before the history folder."""
    data = {JOBS: {str(i): r for i, r in enumerate(records, 1)},
            SETTINGS: {"1": {"download_dir": "/music"}}}
    path.write_text(json.dumps(data), encoding="utf-8")


def _expected(records: list[dict], states: set[str] | None = None,
              kind: str | None = None) -> list[str]:
    chosen = [r for r in records if (states is None or r["state"] in states)
              and (kind is None or r["kind"] == kind)]
    chosen.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
    return [r["id"] for r in chosen]


async def _manager(store: Store, tmp_path: Path) -> JobManager:
    manager = JobManager(store, default_output=tmp_path / "out")
    await manager.start()
    return manager


async def test_old_finished_jobs_move_to_month_parts_and_page_like_before(
        tmp_path: Path) -> None:
    records = _records(120)
    store = Store(tmp_path / "db.json")
    store.run(lambda db: db.table(JOBS).insert_multiple(records))
    manager = await _manager(store, tmp_path)
    # Recovered running jobs are interrupted (finished, so archivable too).
    for r in records:
        if r["state"] == "running":
            r["state"] = "interrupted"
    hot = store.run(lambda db: db.table(JOBS).all())
    assert len(hot) == 5 + sum(r["state"] == "paused" for r in records)
    parts = sorted((tmp_path / "db-history" / "archive").glob("*.idx.json"))
    assert parts and all(p.name[:7].count("-") == 1 for p in parts)  # YYYY-MM.NNNNNN
    assert manager.count() == 120
    for states, kind in [(None, None), ({"done"}, None), (None, "page"),
                         ({"failed", "cancelled", "interrupted"}, "telegram"),
                         ({"paused", "queued", "running"}, None)]:
        want = _expected(records, states, kind)
        every = []
        for offset in range(0, len(want) + 10, 9):
            page, total = manager.page(states=[JobState(s) for s in states] if states else None,
                                       kind=kind, offset=offset, limit=9)
            assert total == len(want)
            every += [j.id for j in page]
        assert every == want
    assert [j.id for j in manager.list()] == _expected(records)
    oldest = _expected(records)[-1]
    assert manager.get(oldest).id == oldest
    await manager.close()


async def test_retry_and_delete_reach_archived_jobs_and_survive_a_restart(
        tmp_path: Path) -> None:
    records = _records(60, seed=2)
    for r in records:
        r["kind"] = "t_hist"
    store = Store(tmp_path / "db.json")
    store.run(lambda db: db.table(JOBS).insert_multiple(records))
    manager = await _manager(store, tmp_path)
    ids = _expected(records)
    archived = [i for i in ids if i not in manager._jobs]
    again, gone = archived[-1], archived[-2]
    await manager.retry(again)
    assert (await asyncio.wait_for(manager.wait(again), 5)).state == JobState.DONE
    await manager.delete(gone)
    assert manager.get(gone) is None
    assert manager.count() == 59
    await manager.close()
    store.close()
    store = Store(tmp_path / "db.json")
    second = await _manager(store, tmp_path)
    assert second.count() == 59 and second.get(gone) is None
    assert second.get(again).state == JobState.DONE
    listed = [j.id for j in second.list()]
    assert len(listed) == len(set(listed)) == 59
    await second.close()


async def test_new_jobs_finishing_move_in_batches(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.json")
    manager = await _manager(store, tmp_path)
    for i in range(30):
        job = await manager.submit("t_hist", f"u{i}")
        await asyncio.wait_for(manager.wait(job.id), 5)
    await manager._history.close()
    assert len(store.run(lambda db: db.table(JOBS).all())) < 5 + 7 + 1
    assert manager.count() == 30
    assert [j.url for j in manager.list()] == [f"u{i}" for i in reversed(range(30))]
    await manager.close()


async def test_a_move_cut_between_part_and_hot_write_keeps_one_copy(tmp_path: Path) -> None:
    records = _records(40, seed=3)
    for r in records:
        r["state"] = "done"
    store = Store(tmp_path / "db.json")
    store.run(lambda db: db.table(JOBS).insert_multiple(records))
    # The parts of a move are written, then the process dies before the hot table shrinks.
    archive = history_archive.Archive(history_dir(store.path) / "archive")
    archive.write_parts(records[:20], 1)
    # And one part whose index was never written.
    history_archive.Archive(archive.folder).write_parts(records[20:22], 50)
    for idx in archive.folder.glob("*.000050.idx.json"):
        idx.unlink()
    manager = await _manager(store, tmp_path)
    assert manager.count() == 40
    assert [j.id for j in manager.list()] == _expected(records)
    assert not list(archive.folder.glob("*.000050.json"))
    await manager.close()
    again = history_archive.Archive(archive.folder)
    again.load()
    assert len(again.by_id) + len(store.run(lambda db: db.table(JOBS).all())) == 40


def test_first_start_moves_100k_jobs_of_the_one_file_format(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setattr(history, "HOT_KEEP", 100)
    monkeypatch.setattr(history_archive, "PART_SIZE", 500)
    records = _records(100_000, seed=4)
    path = tmp_path / "audiofetch.json"
    _write_legacy(path, records)
    old = Store(path)
    folder = history_dir(path)
    hot = Store(folder / "jobs.json")

    # A crash after the parts and before the old table goes: the old file still works.
    def crash(fn):
        raise KeyboardInterrupt

    real_run = old.run
    calls = {"n": 0}

    def run_once_then_crash(fn):
        calls["n"] += 1
        return real_run(fn) if calls["n"] == 1 else crash(fn)

    monkeypatch.setattr(old, "run", run_once_then_crash)
    with pytest.raises(KeyboardInterrupt):
        migrate_jobs(old, hot, folder)
    assert (folder / MARKER).exists()
    monkeypatch.setattr(old, "run", real_run)
    assert len(json.loads(path.read_text())[JOBS]) == 100_000  # untouched
    assert migrate_jobs(old, hot, folder) == 100_000
    assert not (folder / MARKER).exists()
    assert set(json.loads(path.read_text())) == {SETTINGS}
    archive = history_archive.Archive(folder / "archive")
    assert archive.load() == []  # nothing kept twice
    hot_ids = {d["id"] for d in hot.run(lambda db: db.table(JOBS).all())}
    assert not hot_ids & set(archive.by_id)
    assert hot_ids | set(archive.by_id) == {r["id"] for r in records}
    assert len(list(archive.folder.glob("*.idx.json"))) == len(
        list(archive.folder.glob("*.[0-9][0-9][0-9][0-9][0-9][0-9].json")))
    assert migrate_jobs(old, hot, folder) == 0  # once only
    old.close()
    hot.close()

    async def page_through() -> None:
        manager = JobManager(Store(folder / "jobs.json"), history=folder,
                             default_output=tmp_path / "out")
        await manager.start()
        assert manager.count() == 100_000
        want = _expected(records)
        for offset in (0, 25, 50_000, 99_990):
            page, total = manager.page(offset=offset, limit=25)
            assert total == 100_000 and [j.id for j in page] == want[offset:offset + 25]
        await manager.close()

    asyncio.run(page_through())


async def test_damaged_archive_says_so_and_restore_puts_it_back(tmp_path: Path) -> None:
    records = _records(40, seed=5)
    path = tmp_path / "db.json"
    store = Store(path)
    store.run(lambda db: db.table(JOBS).insert_multiple(records))
    manager = await _manager(store, tmp_path)
    await manager.close()
    manager = await _manager(store, tmp_path)  # the clean read keeps the good copies
    await manager.close()
    index = sorted((history_dir(path) / "archive").glob("*.idx.json"))[0]
    index.write_bytes(b'{"index": {"1": {"ids"')
    with pytest.raises(DamagedStore) as err:
        await _manager(store, tmp_path)
    assert err.value.path == index and err.value.good_copy is not None
    kept = restore_good_copy(path)  # what `audiofetch restore-database` calls
    assert kept.name.startswith(index.name + ".damaged-")
    manager = await _manager(store, tmp_path)
    assert manager.count() == 40
    await manager.close()


async def test_delete_with_files_leaves_what_an_archived_job_lists(tmp_path: Path) -> None:
    """An old finished job, long moved to the archive, lists a file a newer job lists too:
    deleting the newer one with its files leaves that file, removes its own."""
    shared, own = tmp_path / "out" / "shared.mp3", tmp_path / "out" / "own.mp3"
    shared.parent.mkdir()
    shared.write_bytes(b"old")
    own.write_bytes(b"new")
    records = _records(40, seed=3)
    oldest = min(records, key=lambda r: r["created_at"])
    oldest.update(state="done", files=[str(shared)], output_path=str(shared))
    newest = max(records, key=lambda r: r["created_at"])
    newest.update(state="done", files=[str(shared), str(own)], output_path=str(tmp_path / "out"))
    store = Store(tmp_path / "db.json")
    store.run(lambda db: db.table(JOBS).insert_multiple(records))
    manager = await _manager(store, tmp_path)
    assert oldest["id"] not in manager._jobs and newest["id"] in manager._jobs  # archived, hot
    assert await manager.deletable_files(newest["id"]) == [own]
    await manager.delete(newest["id"], with_files=True)
    assert shared.read_bytes() == b"old" and not own.exists()
    await manager.close()
