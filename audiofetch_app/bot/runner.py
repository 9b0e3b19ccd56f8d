"""Runs the bot while the app is open: on when Settings → Telegram bot says so and a token
and the Telegram API id and hash are there; off again when Settings says off. `status` says
in one sentence what it is doing (shown in Settings)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from audiofetch_app.bot.gateway import BotGatewayFactory, TelegramError
from audiofetch_app.bot.service import TelegramBot
from audiofetch_app.core.job_context import JobError
from audiofetch_app.settings import Settings
from audiofetch_app.sources.telegram.bot_token import BotToken
from audiofetch_app.sources.telegram.credentials import HOW_TO as API_HOW_TO
from audiofetch_app.sources.telegram.credentials import CredentialsMissing

if TYPE_CHECKING:
    from audiofetch_app.sources.runtime import Runtime

log = logging.getLogger(__name__)

BOT_FACTORY: BotGatewayFactory | None = None  # None: Telethon in bot mode; tests put a fake


def _factory() -> BotGatewayFactory:
    if BOT_FACTORY is not None:
        return BOT_FACTORY
    from audiofetch_app.bot.telethon_bot import telethon_bot_factory

    return telethon_bot_factory


class BotRunner:
    """Owns the running `TelegramBot`, if any. `token`/`people` replace the vault's token
    and Settings' allowed people for this run (`audiofetch bot --token-file/--allow`);
    `always`: run whatever Settings' on/off says (the headless command)."""

    def __init__(self, runtime: Runtime, *, token: str | None = None,
                 people: str | None = None, always: bool = False) -> None:
        self.runtime = runtime
        self.token = token
        self.people = people
        self.always = always
        self.bot: TelegramBot | None = None
        self.status = "Off."
        self._lock = asyncio.Lock()
        self._unsubscribe = runtime.settings.subscribe(self._on_settings)
        self._pending: asyncio.Task[None] | None = None

    def wanted(self, settings: Settings | None = None) -> bool:
        return self.always or bool((settings or self.runtime.settings.get()).bot_enabled)

    async def start(self) -> TelegramBot | None:
        """Start the bot when it is wanted; the bot, or None with `status` saying why not."""
        async with self._lock:
            if self.bot is not None or not self.wanted():
                if not self.wanted():
                    self.status = "Off."
                return self.bot
            try:
                token = self.token or await BotToken(self.runtime.vault).get()
                api_id, api_hash = await self.runtime.telegram.credentials.get()
            except CredentialsMissing:
                self.status = ("The bot needs the Telegram API id and hash, the same as the "
                               "Telegram tab uses. " + API_HOW_TO)
                log.warning("Telegram bot not started: %s", self.status)
                return None
            except JobError as exc:
                self.status = str(exc)
                log.warning("Telegram bot not started: %s", exc)
                return None
            bot = TelegramBot(self.runtime, _factory()(token, api_id, api_hash),
                              people=self.people)
            try:
                account = await bot.start()
            except (TelegramError, OSError) as exc:
                self.status = f"Not running: {exc}"
                log.warning("Telegram bot not started: %s", exc)
                with contextlib.suppress(Exception):
                    await bot.gateway.stop()
                return None
            self.bot = bot
            self.status = f"Running as @{account.username}."
            return bot

    async def stop(self) -> None:
        async with self._lock:
            bot, self.bot = self.bot, None
            if bot is not None:
                await bot.stop()
            self.status = "Off."

    async def close(self) -> None:
        self._unsubscribe()
        if self._pending is not None:
            self._pending.cancel()
        await self.stop()

    def _on_settings(self, settings: Settings) -> None:
        if self.wanted(settings) == (self.bot is not None):
            return
        with contextlib.suppress(RuntimeError):  # no loop: applied at the next start
            loop = asyncio.get_running_loop()
            self._pending = loop.create_task(self.start() if self.wanted(settings)
                                             else self.stop())
