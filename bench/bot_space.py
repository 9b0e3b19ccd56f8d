"""Time from a Space link sent to the bot to the audio in the chat, for the 2-hour fake Space.

    python bench/bot_space.py [--chunks 2400] [--latency 0.04]

The fake X (tests.fakes.x_server.serve_space_for_bench) and the fake Telegram
(tests.fakes.telegram_bot, 512 KiB parts like Telethon's) run in this process, on loopback.
Prints: link -> card, button -> audio in the chat, and the audio's decoded length."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def bench(chunks: int, latency: float) -> dict:
    from audiofetch_app.bot import runner as bot_runner
    from audiofetch_app.sources.runtime import open_runtime
    from tests.bot_app import ADA, last, prepare, until
    from tests.fakes.telegram_bot import FakeBotWorld
    from tests.fakes.x_server import serve_space_for_bench
    from tests.media import media_seconds

    fake, space = serve_space_for_bench(chunks=chunks, latency=latency)
    os.environ["AUDIOFETCH_X_API"] = fake.url
    world = FakeBotWorld(Path(tempfile.mkdtemp(prefix="bench-bot-")))
    world.part_size = 512 * 1024
    bot_runner.BOT_FACTORY = world.factory
    runtime = await open_runtime(console_log=False)
    try:
        await prepare(runtime)
        runner = bot_runner.BotRunner(runtime)
        runtime.settings.update(bot_enabled=True)
        await until(lambda: runner.bot, what="the bot")
        t0 = time.perf_counter()
        await world.write(ADA, fake.space_url(space.space_id))
        card = await until(lambda: last(world, ADA.user_id, "photo"), 60, "the card")
        t1 = time.perf_counter()
        await world.press(ADA, card, card.button_data[0])
        audio = await until(lambda: last(world, ADA.user_id, "audio"), 3600, "the audio")
        t2 = time.perf_counter()
        job = runtime.jobs.list()[0]
        result = {"chunks": chunks, "link_to_card": t1 - t0, "press_to_audio": t2 - t1,
                  "link_to_audio": t2 - t0,
                  "download": (job.finished_at or 0) - (job.started_at or 0),
                  "size_mb": audio.path.stat().st_size / 1e6,
                  "seconds": media_seconds(audio.path),
                  "expected": fake.expected_duration(space.space_id),
                  "parts": world.part_requests}
        await runner.close()
        return result
    finally:
        await runtime.close()
        fake.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=2400)
    parser.add_argument("--latency", type=float, default=0.04)
    args = parser.parse_args()
    os.environ.setdefault("AUDIOFETCH_HOME", tempfile.mkdtemp(prefix="bench-bot-home-"))
    r = asyncio.run(bench(args.chunks, args.latency))
    print(f"{'chunks':>8} {'link→card':>10} {'press→audio':>12} {'link→audio':>11} "
          f"{'job':>7} {'MB':>6} {'audio s':>8} {'expected s':>10}")
    print(f"{r['chunks']:>8} {r['link_to_card']:>9.2f}s {r['press_to_audio']:>11.2f}s "
          f"{r['link_to_audio']:>10.2f}s {r['download']:>6.1f}s {r['size_mb']:>6.1f} "
          f"{r['seconds']:>8.1f} {r['expected']:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
