"""Settings → Telegram bot: the token from @BotFather (kept in the vault, never shown again),
who may use the bot, in which groups, how much each person may start, and on/off.

The bot itself runs in the bot face; the start-up module sets `status_of` so this section
can say what it is doing. Turning it on or off here applies at once (the bot's runner
follows the settings)."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.vault import VaultError
from audiofetch_app.sources.runtime import Runtime
from audiofetch_app.sources.telegram.bot_token import BotToken

status_of: Callable[[], str] | None = None  # set by audiofetch_app.app when the app starts


class BotSettings:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.token_store = BotToken(runtime.vault)
        with ui.expansion("Telegram bot", icon="smart_toy").classes("w-full") \
                .mark("bot-settings"):
            ui.label("People you allow send the bot an X Space, page or audio link and get "
                     "the audio back in the chat. Create a bot with @BotFather (/newbot) and "
                     "paste its token; the bot uses the Telegram API id and hash above.") \
                .classes("text-caption text-grey-8")
            self.status = ui.label().classes("text-caption").mark("bot-status")
            self.enabled = ui.switch("Run the bot while AudioFetch is open").mark("bot-enabled")
            with ui.row().classes("w-full items-end"):
                self.token = ui.input("Bot token", password=True).classes("w-96") \
                    .mark("bot-token")
                ui.button("Forget token", on_click=self._forget).props("flat no-caps")
            self.people = ui.textarea("Allowed people: Telegram user ids or @usernames, one "
                                      "per line").classes("w-full").mark("bot-allowed")
            self.owner = ui.checkbox("Also the accounts logged in on the Telegram tab") \
                .mark("bot-owner")
            self.groups = ui.input("Groups where it answers (chat ids like -1001234567890; "
                                   "empty: private chats only)").classes("w-full") \
                .mark("bot-groups")
            with ui.row():
                self.at_once = ui.number("Jobs at once per person", min=1, max=16,
                                         precision=0).classes("w-48").mark("bot-at-once")
                self.per_hour = ui.number("Jobs per hour per person", min=1, max=1000,
                                          precision=0).classes("w-48").mark("bot-per-hour")
            ui.button("Save bot settings", on_click=self.save).props("outline") \
                .mark("bot-save")
        self.load()

    def load(self) -> None:
        current = self.runtime.settings.get()
        self.enabled.set_value(current.bot_enabled)
        self.people.set_value(current.bot_allowed)
        self.owner.set_value(current.bot_owner_allowed)
        self.groups.set_value(current.bot_groups)
        self.at_once.set_value(current.bot_jobs_at_once)
        self.per_hour.set_value(current.bot_jobs_per_hour)
        self.token.set_value("")
        try:
            saved = self.token_store.is_set()
        except VaultError:
            saved = False
        hint = "saved; paste a new one to replace it" if saved else "not set"
        self.token.props(f'placeholder="{hint}"')
        self.status.set_text(f"Bot: {status_of() if status_of else 'starts with the app'}")

    async def save(self) -> None:
        try:
            if (self.token.value or "").strip():
                await self.token_store.set(self.token.value)
            self.runtime.settings.update(
                bot_enabled=bool(self.enabled.value), bot_allowed=self.people.value or "",
                bot_owner_allowed=bool(self.owner.value), bot_groups=self.groups.value or "",
                bot_jobs_at_once=int(self.at_once.value or 0),
                bot_jobs_per_hour=int(self.per_hour.value or 0))
        except (ValueError, TypeError, JobError, VaultError) as exc:
            ui.notify(str(exc), type="negative")
            return
        ui.notify("Bot settings saved.", type="positive")
        ui.timer(1.0, self.load, once=True)  # the runner has started or stopped by then

    async def _forget(self) -> None:
        await self.token_store.clear()
        self.load()
        ui.notify("Bot token forgotten.")


def build(runtime: Runtime) -> BotSettings:
    """The section, inside the Settings dialog."""
    return BotSettings(runtime)
