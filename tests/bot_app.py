"""The bot face on a real runtime and a fake Telegram (tests/fakes/telegram_bot.py): who
writes, how to wait for what the bot sent, and what a sent file holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from audiofetch_app.bot.gateway import Chat, Sender
from tests.fakes.telegram_bot import FakeBotWorld, Sent
from tests.media import decoded_seconds, make_tone

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


def said(world: FakeBotWorld, chat_id: int) -> str:
    """The text of the last thing the bot sent to the chat ("" before anything)."""
    sent = last(world, chat_id)
    return sent.text if sent else ""


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


@pytest.fixture(scope="module")
def tones(tmp_path_factory) -> list[bytes]:
    """Twelve short MP3s of 1.0, 1.5, 2.0 … seconds, so each track is told by its length."""
    folder = tmp_path_factory.mktemp("tones")
    return [make_tone(folder / f"{n}.mp3", seconds=1 + n * 0.25).read_bytes()
            for n in range(12)]


@pytest.fixture
async def bot_env(af_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """(runtime, fake Telegram, the runner) with the bot running; edits paced at 0.2 s."""
    from audiofetch_app.bot import runner as bot_runner
    from audiofetch_app.sources.runtime import open_runtime

    world = FakeBotWorld(tmp_path / "telegram")
    monkeypatch.setattr(bot_runner, "BOT_FACTORY", world.factory)
    runtime = await open_runtime(console_log=False)
    await prepare(runtime)
    runner = bot_runner.BotRunner(runtime)
    runtime.settings.update(bot_enabled=True)
    bot = await until(lambda: runner.bot, what="the bot to start")
    bot.board.interval = 0.2
    yield runtime, world, runner
    await runner.close()
    await runtime.close()
