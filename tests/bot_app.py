"""The bot face on a real runtime and a fake Telegram (tests/fakes/telegram_bot.py): who
writes, how to wait for what the bot sent, and what a sent file holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from audiofetch_app.bot.gateway import Chat, Sender
from tests.fakes.telegram_bot import FakeBotWorld, Sent
from tests.media import decoded_seconds

T = TypeVar("T")

TOKEN = "123456789:AAFakeTokenForTheTestsOnly_abcdefghij"
API_ID, API_HASH = "12345", "0123456789abcdef0123456789abcdef"
ADA = Sender(1001, "ada_lovelace", "Ada Lovelace")  # allowed by @username
BOB = Sender(1002, None, "Bob")  # allowed by id
EVE = Sender(6666, "eve", "Eve Stranger")  # not allowed


async def until(check: Callable[[], T | None], timeout: float = 60.0, what: str = "") -> T:
    """Poll `check` until it returns something truthy (no fixed sleeps); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)


def last(world: FakeBotWorld, chat_id: int, kind: str | None = None) -> Sent | None:
    found = world.in_chat(chat_id, kind)
    return found[-1] if found else None


def private(sender: Sender) -> Chat:
    return Chat(sender.user_id, sender.label, True)


def seconds_of(path: Path) -> float:
    """Decoded duration of a sent file (every sample decoded with FFmpeg)."""
    return decoded_seconds(path)


async def prepare(runtime, allowed: str = "@Ada_Lovelace\n1002", **settings) -> None:
    """API id/hash and the token in the vault; loopback reachable for bot jobs (the fakes
    live there, and bot jobs are asked for from outside, like a LAN client's)."""
    from audiofetch_app.sources.telegram.bot_token import BotToken

    await runtime.telegram.credentials.set(API_ID, API_HASH)
    await BotToken(runtime.vault).set(TOKEN)
    runtime.settings.update(bot_allowed=allowed, allowed_networks="127.0.0.0/8",
                            **settings)
