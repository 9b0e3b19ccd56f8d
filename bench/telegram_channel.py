"""A first sync of a 200,000-message channel: is the rate steady from start to end, and what
memory does it take?

    python bench/telegram_channel.py [--messages 200000] [--audio 0.3] [--size-kb 4]
                                     [--workers 6] [--code DIR] [--json]

The fake Telegram of the tests makes the channel's history on demand (nothing held), 30% of
its posts carrying a music file of --size-kb, the rest text. AudioFetch runs a real sync job
(TelegramService, JobManager, the history folder, a folder target) in a process of its own,
so its peak RSS (ru_maxrss) is the sync's and nothing else's. The files saved are counted as
the job reports them; the run is cut into ten equal stretches of files and the rate of each
is printed, with the last stretch's rate over the first's (1.0: steady; the issue measured
188 files/s falling to 57, 0.30, before). --code DIR runs another checkout of AudioFetch
(an older one, to compare) with this bench and the fakes of this tree.
Targets: steady (last / first >= 0.8) and peak RSS under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(args: argparse.Namespace) -> dict[str, object]:
    if args.code:
        sys.path.insert(0, args.code)
    sys.path.insert(1, str(ROOT))
    from tests.fakes import telegram as fake
    from tests.telegram_app import CODE, PHONE, TelegramApp

    size = args.size_kb * 1024

    def make(msg_id: int):  # type: ignore[no-untyped-def]
        if int(msg_id * args.audio) != int((msg_id - 1) * args.audio):  # that share, evenly
            return fake.music(90, msg_id, title=f"Episode {msg_id}", size=size,
                              doc_id=10_000_000 + msg_id)
        return fake.text(90, msg_id, "chat between the episodes")

    async def run(home: Path) -> dict[str, object]:
        world = fake.FakeTelegram()
        world.add_account(PHONE, code=CODE)
        world.add_channel(90, "Archive", "archive")
        world.generate(-1000000000090, args.messages, make)
        app = TelegramApp(home, world)
        app.settings.update(telegram_workers=args.workers)
        await app.jobs.start()
        session = await app.logged_in("bench")
        out = home / "out"
        source = await app.service.add_source(session, "@archive", template="{title}.{ext}",
                                              target={"type": "folder", "path": str(out)})
        samples: list[tuple[float, int]] = []
        app.jobs.subscribe(lambda e: samples.append((time.perf_counter(),
                                                     e.job.items_done or 0)))
        started = time.perf_counter()
        job = await app.service.sync_now(source.id)
        done = await app.jobs.wait(job.id)
        elapsed = time.perf_counter() - started
        await app.close()
        if done.state.value != "done":
            raise SystemExit(f"The sync failed: {done.error}")
        files = sum(1 for _ in out.iterdir())
        return {"seconds": elapsed, "files": files, "rates": stretch_rates(started, samples,
                                                                            files)}

    with tempfile.TemporaryDirectory(prefix="af-bench-tgch-") as tmp:
        result = asyncio.run(run(Path(tmp)))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def stretch_rates(started: float, samples: list[tuple[float, int]], files: int
                  ) -> list[float]:
    """Files per second over each tenth of the files."""
    rates: list[float] = []
    last_t, last_n = started, 0
    for tenth in range(1, 11):
        goal = files * tenth // 10
        hit = next(((t, n) for t, n in samples if n >= goal), None)
        if hit is None:
            break
        t, n = hit
        rates.append((n - last_n) / max(t - last_t, 1e-9))
        last_t, last_n = t, n
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--audio", type=float, default=0.3, help="share of posts with audio")
    parser.add_argument("--size-kb", type=int, default=4)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--code", help="run this checkout of AudioFetch instead")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return 0
    command = [sys.executable, __file__, "--child", *sys.argv[1:]]
    result = json.loads(subprocess.run(command, check=True, capture_output=True,
                                       text=True).stdout.strip().splitlines()[-1])
    rates = result["rates"]
    steady = rates[-1] / rates[0] if rates else float("nan")
    result["last_over_first"] = steady
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.messages} messages, {result['files']} files of {args.size_kb} KiB, "
              f"{args.workers} at once: {result['seconds']:.1f} s, "
              f"{result['files'] / result['seconds']:.0f} files/s, "
              f"peak RSS {result['peak_rss_mb']:.0f} MB")
        print("files/s per tenth of the files: " + " ".join(f"{r:.0f}" for r in rates))
        print(f"last tenth / first tenth: {steady:.2f}")
    return 0 if steady >= 0.8 and result["peak_rss_mb"] < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
