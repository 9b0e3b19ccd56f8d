"""Telegram sync: AudioFetch's sync job at 1-6 parallel downloads against a one-by-one loop.

    python bench/telegram.py [--files 30] [--size-kb 1024] [--block-delay 0.002]
                             [--latency 0.15] [--workers-list 1,3,6] [--history 0]
                             [--code DIR] [--json]

Telegram cannot be reached from here, so both sides talk to the fake Telegram of the tests
(tests/fakes/telegram.py) with a cost per call: `latency` seconds before each download starts
(a round trip to Telegram's file DC) and `block-delay` seconds per 4 KiB, paid per 128 KiB
part as Telethon receives them (0.002 s: about 2 MiB/s per connection, what one Telethon
download gets from a far data centre).
- AudioFetch: a real sync job (TelegramService, JobManager, TinyDB, a folder target) with
  `telegram_workers` = each value of --workers-list.
- The peer is the loop the replaced server-side scraper (and most scripts) run: walk the
  messages with iter_messages(reverse=True) and download each matching file in turn, through
  the same gateway, to the same kind of folder. tdl cannot run here (it needs Telegram itself).
- --history 0,10000,100000: each AudioFetch run starts with that many past jobs, written in
  the one-file format of earlier versions (this tree moves them to its history folder
  before the clock starts); --code DIR runs another checkout of AudioFetch (an older one,
  to compare) with this bench and the fakes of this tree.
Columns: past jobs, wall time, files, MiB/s, and the ratio of the peer's time to each run's
time (and, with several --history sizes, to the same run's time with an empty history).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if "--code" in sys.argv:  # another AudioFetch, found before this tree (whose tests/ we use)
    sys.path.insert(0, sys.argv[sys.argv.index("--code") + 1])

from audiofetch_app.sources.telegram import media  # noqa: E402
from tests.fakes import telegram as fake  # noqa: E402
from tests.telegram_app import TelegramApp  # noqa: E402

PART = 128 * 1024


def make_world(files: int, size: int, latency: float, block_delay: float) -> fake.FakeTelegram:
    world = fake.FakeTelegram()
    world.add_account("+447700900123", code="11111")
    world.add_channel(50, "Bench", "bench")
    for i in range(1, files + 1):
        world.post(fake.music(50, i * 2, title=f"Track {i:03d}", file_name=f"t{i}.mp3",
                              size=size))
        world.post(fake.text(50, i * 2 + 1, "chat between the tracks"))
    async def paced(self, message, dest, *, offset=0, progress=None):  # type: ignore[no-untyped-def]
        # Telethon hands out 128 KiB parts; pace per part, as the network would.
        await asyncio.sleep(latency)
        doc = message.media.document
        data = fake.content_of(doc.id, doc.size)
        for start in range(offset, len(data), PART):
            chunk = data[start:start + PART]
            await asyncio.sleep(block_delay * len(chunk) / 4096)
            dest.write(chunk)
            if progress is not None:
                progress(start + len(chunk), doc.size)
        return len(data)

    fake.FakeGateway.download = paced  # type: ignore[method-assign]
    return world


def past_jobs(home: Path, n: int) -> None:
    """n finished jobs in the one-file format (every job in audiofetch.json's jobs table)."""
    home.mkdir(parents=True, exist_ok=True)
    jobs = {str(i + 1): {
        "kind": "telegram", "url": f"telegram:source/old{i % 20}", "options": {
            "source_id": f"old{i % 20}"}, "id": f"{i:012x}", "title": f"Sync old {i}",
        "state": "done", "bytes_done": 1000, "bytes_total": 1000, "items_done": 1,
        "items_total": None, "speed": 0.0, "created_at": 1_650_000_000 + i * 600,
        "started_at": None, "finished_at": None, "output_path": "/music/Telegram",
        "files": [f"/music/Telegram/{i}.mp3"], "error": None, "status": "", "resume_at": None,
        "detail": {}, "from_network": False} for i in range(n)}
    (home / "audiofetch.json").write_text(json.dumps({"jobs": jobs}), encoding="utf-8")


async def audiofetch_run(world: fake.FakeTelegram, workers: int, home: Path,
                         history: int = 0) -> tuple[float, int]:
    if history:
        past_jobs(home, history)
    app = TelegramApp(home, world)
    app.settings.update(telegram_workers=workers)
    await app.jobs.start()
    await app.service.credentials.set("12345", "0123456789abcdef0123456789abcdef")
    login = await app.service.login.start_login("+447700900123")
    await app.service.login.submit_code(login, "11111")
    session = (await app.service.login.finish(login, "bench")).id
    out = home / "out"
    source = await app.service.add_source(session, "@bench",
                                          target={"type": "folder", "path": str(out)})
    started = time.perf_counter()
    job = await app.service.sync_now(source.id)
    done = await app.jobs.wait(job.id)
    elapsed = time.perf_counter() - started
    await app.close()
    if done.state != "done":
        raise SystemExit(f"AudioFetch sync failed: {done.error}")
    return elapsed, len(list(out.rglob("*.mp3")))


async def sequential_run(world: fake.FakeTelegram, home: Path) -> tuple[float, int]:
    world.add_account("+15550100987", code="22222")
    gateway = world.factory(None, 1, "x")
    await gateway.connect()
    code_hash = await gateway.send_code("+15550100987")
    await gateway.sign_in("+15550100987", "22222", code_hash)
    channel = fake.channel_of(world.chats[0])
    out = home / "seq"
    out.mkdir(parents=True)
    started = time.perf_counter()
    count = 0
    async for message in gateway.iter_messages(channel, reverse=True):
        item = media.classify(message)
        if item is None or not media.wanted(item, media.Keep()):
            continue
        with open(out / f"{item.message_id}.{item.ext}", "wb") as f:
            await gateway.download(message, f)
        count += 1
    return time.perf_counter() - started, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--size-kb", type=int, default=1024)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--block-delay", type=float, default=0.002)
    parser.add_argument("--workers-list", default="1,3,6")
    parser.add_argument("--history", default="0", help="past jobs, e.g. 0,10000,100000")
    parser.add_argument("--code", help="run this checkout of AudioFetch instead")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    size = args.size_kb * 1024
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="af-bench-tg-") as tmp:
        world = make_world(args.files, size, args.latency, args.block_delay)
        peer_s, peer_n = asyncio.run(sequential_run(world, Path(tmp)))
        rows.append({"run": "one by one (peer)", "history": 0, "seconds": peer_s,
                     "files": peer_n})
        for history in [int(h) for h in args.history.split(",")]:
            for workers in [int(w) for w in args.workers_list.split(",")]:
                world = make_world(args.files, size, args.latency, args.block_delay)
                secs, n = asyncio.run(audiofetch_run(
                    world, workers, Path(tmp) / f"w{workers}-h{history}", history))
                rows.append({"run": f"AudioFetch, {workers} at once", "history": history,
                             "seconds": secs, "files": n})
    total_mib = args.files * size / 2**20
    empty = {r["run"]: float(r["seconds"]) for r in rows if r["history"] == 0}
    for row in rows:
        row["mib_s"] = total_mib / float(row["seconds"])
        row["vs_peer"] = peer_s / float(row["seconds"])
        row["vs_empty"] = float(row["seconds"]) / empty.get(str(row["run"]), float("nan"))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{args.files} files × {args.size_kb} KiB, {args.latency * 1000:.0f} ms per "
              f"download start, {4 / max(args.block_delay, 1e-9) / 1024:.1f} MiB/s per connection")
        print(f"{'run':<26}{'past jobs':>10}{'wall s':>9}{'files':>7}{'MiB/s':>8}"
              f"{'× peer':>8}{'÷ empty':>9}")
        for row in rows:
            print(f"{row['run']:<26}{row['history']:>10}{row['seconds']:>9.2f}{row['files']:>7}"
                  f"{row['mib_s']:>8.2f}{row['vs_peer']:>8.2f}{row['vs_empty']:>9.2f}")
    ok = all(row["files"] == args.files for row in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
