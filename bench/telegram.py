"""Telegram sync: AudioFetch's sync job at 1-6 parallel downloads against a one-by-one loop.

    python bench/telegram.py [--files 30] [--size-kb 1024] [--block-delay 0.002]
                             [--latency 0.15] [--workers-list 1,3,6] [--json]

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
Columns: wall time, files, MiB/s, and the ratio of the peer's time to each run's time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audiofetch_app.sources.telegram import media
from tests.fakes import telegram as fake
from tests.telegram_app import TelegramApp

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


async def audiofetch_run(world: fake.FakeTelegram, workers: int, home: Path) -> tuple[float, int]:
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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    size = args.size_kb * 1024
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="af-bench-tg-") as tmp:
        world = make_world(args.files, size, args.latency, args.block_delay)
        peer_s, peer_n = asyncio.run(sequential_run(world, Path(tmp)))
        rows.append({"run": "one by one (peer)", "seconds": peer_s, "files": peer_n})
        for workers in [int(w) for w in args.workers_list.split(",")]:
            world = make_world(args.files, size, args.latency, args.block_delay)
            secs, n = asyncio.run(audiofetch_run(world, workers, Path(tmp) / f"w{workers}"))
            rows.append({"run": f"AudioFetch, {workers} at once", "seconds": secs, "files": n})
    total_mib = args.files * size / 2**20
    for row in rows:
        row["mib_s"] = total_mib / float(row["seconds"])
        row["vs_peer"] = peer_s / float(row["seconds"])
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{args.files} files × {args.size_kb} KiB, {args.latency * 1000:.0f} ms per "
              f"download start, {4 / max(args.block_delay, 1e-9) / 1024:.1f} MiB/s per connection")
        print(f"{'run':<26}{'wall s':>9}{'files':>7}{'MiB/s':>8}{'× peer':>8}")
        for row in rows:
            print(f"{row['run']:<26}{row['seconds']:>9.2f}{row['files']:>7}"
                  f"{row['mib_s']:>8.2f}{row['vs_peer']:>8.2f}")
    ok = all(row["files"] == args.files for row in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
