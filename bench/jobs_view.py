"""How the Jobs view copes with a long history: 5,000 jobs, paginated vs rendering them all.

Run: python bench/jobs_view.py [--jobs 5000]   (it runs itself under pytest, which NiceGUI's
simulated user requires)
Prints a table of milliseconds for: opening the page, turning a page, applying 100 progress
events, and a burst of 50 new jobs; the "peer" is the naive view that renders every row.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("NICEGUI_STORAGE_PATH", tempfile.mkdtemp(prefix="af-bench-nicegui-"))


async def measure(n_jobs: int, page_size: int) -> dict[str, float]:
    from nicegui.testing.user_simulation import user_simulation

    from audiofetch_app.core.job_record import Job, JobState
    from audiofetch_app.core.store import JOBS
    from audiofetch_app.sources.runtime import open_runtime
    from audiofetch_app.ui import jobs_view, shell, state

    jobs_view.PAGE_SIZE = page_size
    home = Path(tempfile.mkdtemp(prefix="af-bench-home-"))
    os.environ["AUDIOFETCH_HOME"] = str(home)
    runtime = await open_runtime(console_log=False)
    states = list(JobState)
    records = [Job(kind="direct", url=f"https://example.com/{i}.mp3", title=f"Track {i}",
                   state=states[i % 4 + 2], created_at=1_700_000_000 + i,
                   bytes_done=i * 1000, bytes_total=i * 1000).to_dict()
               for i in range(n_jobs)]
    runtime.store.run(lambda db: db.table(JOBS).insert_multiple(records))
    await runtime.close()
    runtime = await open_runtime(console_log=False)
    state.set_runtime(runtime)
    results: dict[str, float] = {}
    async with user_simulation(root=shell.build) as user:
        t = time.perf_counter()
        await user.open("/")
        results["open page"] = (time.perf_counter() - t) * 1000
        (view,) = [o for o in gc.get_objects() if isinstance(o, jobs_view.JobsView)]
        job = runtime.jobs._jobs[runtime.jobs.list(limit=1)[0].id]
        t = time.perf_counter()
        for i in range(100):  # what a running download sends the view
            job.bytes_done = i
            runtime.jobs._changed(job, False)
        results["100 progress events"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        view.page = 2
        view.render()
        results["turn a page"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        view.render()  # what a new or deleted job costs
        results["redraw after new job"] = (time.perf_counter() - t) * 1000
    state.set_runtime(None)
    await runtime.close()
    return results


N_JOBS = int(os.environ.get("AF_BENCH_JOBS", "5000"))


async def test_jobs_view_bench() -> None:
    ours = await measure(N_JOBS, 25)
    peer = await measure(N_JOBS, N_JOBS)
    print(f"\nJobs view with {N_JOBS} jobs in history (milliseconds)")
    print(f"{'step':<24}{'paginated (25/page)':>22}{'render all (peer)':>20}{'ratio':>10}")
    for key in ours:
        ratio = peer[key] / ours[key] if ours[key] else float("inf")
        print(f"{key:<24}{ours[key]:>22.1f}{peer[key]:>20.1f}{ratio:>9.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=N_JOBS)
    args = parser.parse_args()
    os.environ["AF_BENCH_JOBS"] = str(args.jobs)
    import pytest

    raise SystemExit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider",
                                  "-o", "asyncio_mode=auto"]))


if __name__ == "__main__":
    main()
