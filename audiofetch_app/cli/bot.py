"""`audiofetch bot`: the words of the command. It runs in the bot face
(audiofetch_app.bot.headless), started by audiofetch_app.app like the window commands."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_bot_parser(sub: argparse._SubParsersAction) -> None:
    """Register `audiofetch bot [--token-file F] [--allow WHO ...]`."""
    bot = sub.add_parser(
        "bot", help="run the Telegram bot without a window (for a home server)",
        description="Run the Telegram bot until Ctrl-C: people you allow send it X Space, "
                    "page or audio links and get the audio back in the chat. Uses the "
                    "Telegram API id and hash of `audiofetch telegram credentials`.")
    bot.add_argument("--token-file", type=Path,
                     help="a file whose first line is the bot token from @BotFather "
                          "(default: the token saved in Settings → Telegram bot)")
    bot.add_argument("--allow", action="append", default=[], metavar="WHO",
                     help="a Telegram user id or @username who may use the bot (repeat, or "
                          "separate with commas); replaces Settings' list for this run")
