"""`audiofetch bot`: the Telegram bot without a window, for a home server. The token comes
from `--token-file` or the vault (Settings → Telegram bot), the allowed people from `--allow`
or Settings; it runs until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable

from audiofetch_app.bot.runner import BotRunner
from audiofetch_app.bot.service import TelegramBot
from audiofetch_app.core.job_context import JobError
from audiofetch_app.settings import bot_people
from audiofetch_app.sources.telegram.bot_token import check_token

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def run_headless(args: argparse.Namespace) -> int:
    """Run the bot until stopped; the exit code (0 when it was stopped, 1 when it could not
    start, 2 for a bad token file or --allow)."""
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:
        return EXIT_OK


def _read_token(args: argparse.Namespace) -> str | None:
    if not args.token_file:
        return None
    try:
        lines = args.token_file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise JobError(f"Cannot read the token file {args.token_file}: "
                       f"{exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise JobError(f"{args.token_file} is not a text file; it should hold the bot token "
                       "@BotFather gave (like 123456789:AAE…) on its first line.") from None
    return check_token(lines[0] if lines else "")


async def serve(args: argparse.Namespace, stop: asyncio.Event | None = None,
                on_ready: Callable[[TelegramBot], None] | None = None) -> int:
    """The command's work; `stop` ends it (SIGINT/SIGTERM set it too)."""
    from audiofetch_app.sources.runtime import AlreadyRunning, open_runtime

    people = ",".join(args.allow) if args.allow else None
    try:
        token = _read_token(args)
        if people is not None:
            bot_people(people)
    except (JobError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    try:
        runtime = await open_runtime(console_log=bool(getattr(args, "verbose", False)))
    except AlreadyRunning as exc:
        print(f"{exc} There, turn the bot on in Settings → Telegram bot.", file=sys.stderr)
        return EXIT_FAIL
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    runner = BotRunner(runtime, token=token, people=people, always=True)
    try:
        bot = await runner.start()
        if bot is None:
            print(runner.status, file=sys.stderr)
            return EXIT_FAIL
        print(f"The Telegram bot @{bot.account.username if bot.account else '?'} is "
              "running; Ctrl-C stops it.", flush=True)
        if on_ready:
            on_ready(bot)
        await stop.wait()
        return EXIT_OK
    finally:
        await runner.close()
        await runtime.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)
