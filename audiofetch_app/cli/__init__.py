"""The command line face: `audiofetch get|jobs|page|space|telegram`.

`audiofetch_app.app.main` parses the command line with `build_parser`; the window commands
(`gui`, `serve`) start there, every other command runs here through `run`. Each command's
module is imported only when that command runs, so the window starts without them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from audiofetch_app.cli.parser import WINDOW_COMMANDS, build_parser

__all__ = ["WINDOW_COMMANDS", "build_parser", "run"]


def run(args: argparse.Namespace) -> int:
    """Run one parsed command (not gui or serve); the exit code (0 only on success)."""
    from audiofetch_app.cli.common import EXIT_USAGE, stop_message

    command = args.command
    try:
        if command == "get":
            from audiofetch_app.cli.get import get_command

            return asyncio.run(get_command(args))
        if command == "jobs":
            from audiofetch_app.cli.jobs import jobs_command

            return asyncio.run(jobs_command(args))
        if command == "page":
            from audiofetch_app.cli.page import page_command

            return asyncio.run(page_command(args))
        if command == "space":
            from audiofetch_app.cli.space import space_command

            return asyncio.run(space_command(args))
        if command == "extension":
            from audiofetch_app.cli.extension import extension_command

            return extension_command(args)
        if command == "restore-database":
            from audiofetch_app.cli.database import restore_command

            return restore_command(args)
        if command == "telegram":
            if args.tg_command is None:
                args.tg_help(sys.stderr)
                return EXIT_USAGE
            from audiofetch_app.cli.telegram import telegram_command

            return asyncio.run(telegram_command(args))
        build_parser().print_help(sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(stop_message[0], file=sys.stderr)
        return 130
