"""A Telegram test harness: a fake Telegram world, and AudioFetch's real services on it.

`TelegramApp` is the service layer alone (real TinyDB, vault, JobManager); the `tg_world`
fixture in conftest puts the same fake world behind `open_runtime` for CLI, REST and UI
tests.
"""

from __future__ import annotations

from pathlib import Path

from audiofetch_app.core.jobs import JobManager
from audiofetch_app.core.store import Store
from audiofetch_app.core.vault import Vault
from audiofetch_app.settings import SettingsService
from audiofetch_app.sources.telegram.service import TelegramService
from tests.fakes import telegram as fake

PHONE = "+447700900123"
CODE = "11111"
PHONE_2FA = "+15550100987"
CODE_2FA = "22222"
PASSWORD_2FA = "hunter2-secret"
API_ID = "12345"
API_HASH = "0123456789abcdef0123456789abcdef"
MUSIC_PEER = -1000000000011  # "Music" (@music), a public channel
FORUM_PEER = -1000000000012  # "A Forum", a forum group with two topics
PRIVATE_INVITE = "AbCdEfGh1234"


def populate(world: fake.FakeTelegram) -> fake.FakeTelegram:
    """Two accounts, a music channel with every kind of message, a forum, a private channel."""
    world.add_account(PHONE, code=CODE)
    world.add_account(PHONE_2FA, code=CODE_2FA, password=PASSWORD_2FA, first_name="Grace",
                      last_name="Hopper")
    world.add_channel(11, "Music", "music")
    world.add_channel(12, "A Forum", forum=True)
    world.add_topic(FORUM_PEER, 5, "Jazz")
    world.add_topic(FORUM_PEER, 9, "Talk")
    world.add_basic_group(13, "friends")
    world.add_private_channel(14, "Secret Tapes", PRIVATE_INVITE)
    world.post(fake.music(11, 1, title="First Song", performer="Band", file_name="first.mp3"))
    world.post(fake.text(11, 2, "hello"))
    world.post(fake.voice(11, 3))
    world.post(fake.round_video(11, 4))
    world.post(fake.document(11, 5, mime="audio/flac", file_name="live.flac"))
    world.post(fake.document(11, 6, mime="application/pdf", file_name="notes.pdf"))
    world.post(fake.music(11, 7, title="Second Song", file_name="second.mp3", size=50_000))
    world.post(fake.music(12, 20, title="Blue", file_name="blue.mp3", topic=5))
    world.post(fake.music(12, 21, title="Chat", file_name="chat.mp3", topic=9))
    world.post(fake.music(14, 30, title="Hidden", file_name="hidden.mp3"))
    return world


class TelegramApp:
    """AudioFetch's Telegram services on real files in `home`, talking to a fake world."""

    def __init__(self, home: Path, world: fake.FakeTelegram | None = None) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.db_path = home / "audiofetch.json"
        self.store = Store(self.db_path)
        self.vault = Vault(self.store, home / "secret.key")
        self.settings = SettingsService(self.store)
        self.settings.update(download_dir=str(home / "downloads"))
        self.jobs = JobManager(self.store, self.settings, secrets=self.vault)
        self.world = world or populate(fake.FakeTelegram())
        self.service = TelegramService(self.store, self.vault, self.jobs, self.settings,
                                       self.world.factory, staging_dir=home / "staging")

    async def logged_in(self, name: str = "Main") -> str:
        """Enter the API credentials and log in by code; returns the new session's id."""
        await self.service.credentials.set(API_ID, API_HASH)
        login_id = await self.service.login.start_login(PHONE)
        await self.service.login.submit_code(login_id, CODE)
        return (await self.service.login.finish(login_id, name)).id

    def raw(self) -> str:
        return self.db_path.read_text(encoding="utf-8")

    async def close(self) -> None:
        await self.service.close()
        await self.jobs.close()
        self.store.close()
