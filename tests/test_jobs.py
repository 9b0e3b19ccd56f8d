"""JobManager: limits, cancel, retry, dedupe, events, throttled writes, restart recovery."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from audiofetch_app.core import registry
from audiofetch_app.core.job_context import JobContext, JobError
from audiofetch_app.core.job_record import JobState
from audiofetch_app.core.jobs import INTERRUPTED_MESSAGE, JobManager
from audiofetch_app.core.store import JOBS, Store

gates: dict[str, asyncio.Event] = {}
started: dict[str, asyncio.Event] = {}


async def _blocking(ctx: JobContext) -> None:
    """Writes a partial file, then waits until the test opens its gate."""
    part = ctx.track_partial(ctx.output_dir / f"{ctx.job.id}.part")
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"partial")
    started.setdefault(ctx.job.url, asyncio.Event()).set()
    await gates.setdefault(ctx.job.url, asyncio.Event()).wait()
    final = ctx.output_dir / f"{ctx.job.id}.bin"
    part.replace(final)
    ctx.untrack_partial(part)
    ctx.add_file(final)
    ctx.set_output(final)


async def _chatty(ctx: JobContext) -> None:
    for i in range(2000):
        ctx.progress(bytes_done=i * 1000, bytes_total=2_000_000, items_done=i, items_total=2000)
        if i % 100 == 0:
            await asyncio.sleep(0.05)


async def _failing(ctx: JobContext) -> None:
    if ctx.job.url.endswith("bug"):
        raise KeyError("internal detail that means nothing to a person")
    raise JobError("The page has no audio players.")


registry.register(registry.Source("t_block", "test", _blocking))
registry.register(registry.Source("t_chatty", "test", _chatty))
registry.register(registry.Source("t_fail", "test", _failing))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "db.json")


@pytest.fixture
async def manager(store: Store, tmp_path: Path):
    gates.clear()
    started.clear()
    mgr = JobManager(store, max_running=2, default_output=tmp_path / "out")
    await mgr.start()
    yield mgr
    for gate in gates.values():
        gate.set()
    await mgr.close()


async def _wait_started(url: str) -> None:
    await asyncio.wait_for(started.setdefault(url, asyncio.Event()).wait(), 5)


async def test_job_runs_to_done_and_persists(manager: JobManager, store: Store) -> None:
    events = []
    manager.subscribe(lambda e: events.append((e.type, e.job.state)))
    job = await manager.submit("t_block", "u1")
    gates.setdefault("u1", asyncio.Event()).set()
    done = await asyncio.wait_for(manager.wait(job.id), 5)
    assert done.state == JobState.DONE and done.finished_at and done.started_at
    assert Path(done.output_path).read_bytes() == b"partial"
    assert ("added", JobState.QUEUED) in events and ("updated", JobState.DONE) in events
    rows = store.run(lambda db: db.table(JOBS).all())
    assert [r["state"] for r in rows] == ["done"]


async def test_running_limit_and_fifo(manager: JobManager) -> None:
    jobs = [await manager.submit("t_block", f"q{i}") for i in range(4)]
    await _wait_started("q0")
    await _wait_started("q1")
    states = [manager.get(j.id).state for j in jobs]
    assert states == [JobState.RUNNING, JobState.RUNNING, JobState.QUEUED, JobState.QUEUED]
    gates.setdefault("q0", asyncio.Event()).set()
    await _wait_started("q2")
    assert manager.get(jobs[3].id).state == JobState.QUEUED


async def test_same_url_and_options_returns_the_running_job(manager: JobManager) -> None:
    first = await manager.submit("t_block", "dup", {"a": 1})
    again = await manager.submit("t_block", "dup", {"a": 1})
    other = await manager.submit("t_block", "dup", {"a": 2})
    assert again.id == first.id and other.id != first.id
    assert manager.count() == 2


async def test_cancel_stops_and_removes_partials(manager: JobManager, tmp_path: Path) -> None:
    job = await manager.submit("t_block", "c1")
    await _wait_started("c1")
    part = tmp_path / "out" / f"{job.id}.part"
    assert part.exists()
    await asyncio.wait_for(manager.cancel(job.id), 1)
    assert manager.get(job.id).state == JobState.CANCELLED
    assert not part.exists()


async def test_cancel_queued_job(manager: JobManager) -> None:
    for i in range(2):
        await manager.submit("t_block", f"busy{i}")
    queued = await manager.submit("t_block", "waiting")
    waiter = asyncio.create_task(manager.wait(queued.id))
    await manager.cancel(queued.id)
    assert (await asyncio.wait_for(waiter, 1)).state == JobState.CANCELLED


async def test_failures_become_sentences(manager: JobManager) -> None:
    job = await manager.submit("t_fail", "page")
    done = await manager.wait(job.id)
    assert done.state == JobState.FAILED and done.error == "The page has no audio players."
    bug = await manager.wait((await manager.submit("t_fail", "bug")).id)
    assert bug.error.startswith("Unexpected error (KeyError)")
    assert "internal detail" not in bug.error


async def test_unknown_kind_is_refused(manager: JobManager) -> None:
    with pytest.raises(KeyError, match="Unknown kind"):
        await manager.submit("nope", "x")
    assert manager.count() == 0


async def test_progress_is_throttled_on_disk(manager: JobManager, store: Store,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    writes = 0
    original = store.arun

    async def counting(fn):
        nonlocal writes
        writes += 1
        return await original(fn)

    monkeypatch.setattr(store, "arun", counting)
    progress_events = 0

    def on_event(event) -> None:
        nonlocal progress_events
        progress_events += event.type == "progress"

    manager.subscribe(on_event)
    job = await manager.submit("t_chatty", "chatty")
    done = await manager.wait(job.id)
    assert done.state == JobState.DONE and done.items_done == 1999
    assert progress_events >= 5  # the UI hears about progress
    # 2000 updates over about a second: submit + start + finish + about one flush a second.
    assert writes <= 6


async def test_restart_marks_running_jobs_interrupted_and_resume_works(
        store: Store, tmp_path: Path) -> None:
    gates.clear()
    started.clear()
    first = JobManager(store, max_running=2, default_output=tmp_path / "out")
    job = await first.submit("t_block", "r1")
    await _wait_started("r1")
    # Simulate a crash: the task dies without the manager writing a final state.
    first._flusher.cancel()
    first._tasks[job.id].cancel()
    first._closing = True
    store.run(lambda db: db.table(JOBS).update({"state": "running"}))
    second = JobManager(store, max_running=2, default_output=tmp_path / "out")
    await second.start()
    recovered = second.get(job.id)
    assert recovered.state == JobState.INTERRUPTED and recovered.error == INTERRUPTED_MESSAGE
    gates.setdefault("r1", asyncio.Event()).set()
    await second.retry(job.id)
    assert (await asyncio.wait_for(second.wait(job.id), 5)).state == JobState.DONE
    await second.close()


async def test_delete_with_and_without_files(manager: JobManager) -> None:
    kept = await manager.submit("t_block", "d1")
    gates.setdefault("d1", asyncio.Event()).set()
    kept = await manager.wait(kept.id)
    await manager.delete(kept.id)
    assert manager.get(kept.id) is None and Path(kept.output_path).exists()
    gone = await manager.submit("t_block", "d2")
    gates.setdefault("d2", asyncio.Event()).set()
    gone = await manager.wait(gone.id)
    await manager.delete(gone.id, with_files=True)
    assert not Path(gone.output_path).exists()


async def test_delete_running_job_cancels_it(manager: JobManager) -> None:
    job = await manager.submit("t_block", "d3")
    await _wait_started("d3")
    await asyncio.wait_for(manager.delete(job.id), 2)
    assert manager.get(job.id) is None


async def test_list_paginates_newest_first(manager: JobManager) -> None:
    ids = []
    for i in range(5):
        job = await manager.submit("t_fail", f"l{i}")
        ids.append(job.id)
        await manager.wait(job.id)
    page = manager.list(offset=1, limit=2)
    assert [j.id for j in page] == [ids[3], ids[2]]
    assert len(manager.list(states=[JobState.FAILED])) == 5


async def test_cancel_right_after_start_settles_the_job(manager: JobManager) -> None:
    """A task cancelled before its first step never runs the job code; it must still end."""
    job = await manager.submit("t_block", "instant")
    assert manager.get(job.id).state == JobState.RUNNING
    cancelled = await asyncio.wait_for(manager.cancel(job.id), 2)
    assert cancelled.state == JobState.CANCELLED
    again = await manager.submit("t_block", "instant")
    assert again.id != job.id  # the old one is no longer active


_pause_calls: dict[str, int] = {}


async def _pausing(ctx: JobContext) -> None:
    """Pauses itself on the first run (for `ctx.job.url` seconds), finishes on the next."""
    import time as _time

    from audiofetch_app.core.job_context import JobPaused

    runs = _pause_calls[ctx.job.id] = _pause_calls.get(ctx.job.id, 0) + 1
    ctx.set_status("working")
    if runs == 1:
        raise JobPaused("Asked to wait; goes on by itself.", _time.time() + float(ctx.job.url))


registry.register(registry.Source("t_pause", "test", _pausing))


async def test_paused_job_queues_itself_again_when_its_time_comes(manager: JobManager) -> None:
    job = await manager.submit("t_pause", "0.2")
    paused = await manager.wait(job.id)
    assert paused.state == JobState.PAUSED and paused.error == "Asked to wait; goes on by itself."
    assert paused.resume_at is not None and paused.status == ""
    for _ in range(200):
        if manager.get(job.id).state == JobState.DONE:
            break
        await asyncio.sleep(0.02)
    done = manager.get(job.id)
    assert done.state == JobState.DONE and done.resume_at is None and done.error is None


async def test_paused_job_survives_a_restart_and_can_be_cancelled(store: Store,
                                                                  tmp_path: Path) -> None:
    first = JobManager(store, default_output=tmp_path)
    job = await first.submit("t_pause", "3600")
    assert (await first.wait(job.id)).state == JobState.PAUSED
    await first.close()
    second = JobManager(store, default_output=tmp_path)
    await second.start()
    again = second.get(job.id)
    assert again.state == JobState.PAUSED and again.resume_at > 0
    assert job.id in second._wakeups
    await second.cancel(job.id)
    assert second.get(job.id).state == JobState.CANCELLED and job.id not in second._wakeups
    await second.retry(job.id)  # "Resume now" on a paused job is the same call
    assert (await second.wait(job.id)).state == JobState.DONE
    await second.close()
