"""The Telegram bot's token (from @BotFather), kept in the vault: set once, never shown again,
never logged. The bot face (audiofetch_app/bot) reads it; Settings and `audiofetch bot` set it."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.logs import register_secret

if TYPE_CHECKING:
    from audiofetch_app.core.vault import Vault

BOT_TOKEN = "telegram_bot_token"
HOW_TO = ("Get a bot token from @BotFather in Telegram (/newbot), then enter it in "
          "Settings → Telegram bot or give it to `audiofetch bot --token-file`.")
_SHAPE = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{30,64}")


class TokenMissing(JobError):
    """No bot token yet."""


def check_token(token: str) -> str:
    """The token stripped, registered as a secret (never logged); JobError with a sentence
    when it is not shaped like BotFather's `123456789:AA…` (digits, a colon, 30+ letters)."""
    token = (token or "").strip()
    register_secret(token)
    if not _SHAPE.fullmatch(token):
        raise JobError("That is not a bot token; copy the whole line BotFather sent, like "
                       "123456789:AAE… (digits, a colon, then letters and digits).")
    return token


class BotToken:
    """The token in the vault; `get` says what to do when it is missing."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    async def set(self, token: str) -> None:
        """Check its shape and keep it encrypted."""
        token = check_token(token)
        await asyncio.to_thread(self.vault.set, BOT_TOKEN, token)

    async def get(self) -> str:
        """The token; TokenMissing with the how-to when none was entered."""
        token = await asyncio.to_thread(self.vault.get, BOT_TOKEN)
        if not token:
            raise TokenMissing(HOW_TO)
        register_secret(token)
        return token

    def is_set(self) -> bool:
        return BOT_TOKEN in self.vault.names()

    async def clear(self) -> None:
        await asyncio.to_thread(self.vault.delete, BOT_TOKEN)
