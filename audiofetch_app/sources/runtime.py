"""The services every face shares, opened once per process: store, settings, vault, jobs."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from audiofetch_app import settings as settings_mod
from audiofetch_app.core.history_migrate import migrate_jobs
from audiofetch_app.core.install_secret import install_secret
from audiofetch_app.core.instance import InstanceLock
from audiofetch_app.core.jobs import JobManager
from audiofetch_app.core.logs import setup_logging
from audiofetch_app.core.store import Store, history_dir
from audiofetch_app.core.vault import Vault
from audiofetch_app.sources.telegram.gateway import GatewayFactory
from audiofetch_app.sources.telegram.service import TelegramService

log = logging.getLogger(__name__)


class AlreadyRunning(Exception):
    """Another AudioFetch owns this data folder."""

    def __init__(self, info: dict[str, object]) -> None:
        self.info = info
        where = f" at {info['url']}" if info.get("url") else ""
        super().__init__(
            f"AudioFetch is already running with this data folder{where} "
            f"(process {info.get('pid', '?')}). Use that one, or set AUDIOFETCH_HOME "
            "to another folder."
        )


@dataclass
class Runtime:
    store: Store
    settings: settings_mod.SettingsService
    vault: Vault
    jobs: JobManager
    lock: InstanceLock
    telegram: TelegramService
    history: Store | None = None  # the hot jobs' own file (see core.history)

    async def close(self) -> None:
        await self.telegram.close()
        await self.jobs.close()
        if self.history is not None:
            self.history.close()
        self.store.close()
        self.lock.release()


def acquire_instance() -> InstanceLock:
    """Own the data folder, or raise AlreadyRunning with how to reach the running one."""
    lock = InstanceLock(settings_mod.data_dir())
    if not lock.acquire():
        raise AlreadyRunning(lock.read_info())
    return lock


LOCAL_TOKEN_FILE = "local.token"


def local_token_path() -> Path:
    """Where the per-install local token lives: `local.token` in the data folder."""
    return settings_mod.data_dir() / LOCAL_TOKEN_FILE


def local_token(*, create: bool = True) -> str | None:
    """The per-install token a command line on this computer shows the running app (mode
    0600, made on first use; only someone who can read the data folder knows it). None when
    there is none yet and `create` is False."""
    return install_secret(local_token_path(), create=create)


TELEGRAM_FACTORY: GatewayFactory | None = None  # None: Telethon; tests put a fake here


async def open_runtime(*, console_log: bool = True, console_level: int = logging.INFO,
                       lock: InstanceLock | None = None) -> Runtime:
    """Open everything in the data folder; raises AlreadyRunning if another process has it."""
    import audiofetch_app.sources  # noqa: F401 - registers every source

    lock = lock or acquire_instance()
    try:
        setup_logging(settings_mod.log_dir(), console_level=console_level, console=console_log)
        store = Store(settings_mod.db_path())
        # Jobs live in a folder of their own: settings, secrets and Telegram state stay in the
        # database file, so neither kind of write rewrites the other (see core.history).
        folder = history_dir(store.path)
        history = Store(folder / "jobs.json")
        await asyncio.to_thread(migrate_jobs, store, history, folder)
        settings = settings_mod.SettingsService(store)
        vault = Vault(store, settings_mod.key_path())
        jobs = JobManager(history, settings, secrets=vault, history=folder)
        telegram = TelegramService(store, vault, jobs, settings, TELEGRAM_FACTORY,
                                   staging_dir=settings_mod.data_dir() / "telegram-staging")
        await jobs.start()
    except BaseException:
        lock.release()
        raise
    return Runtime(store, settings, vault, jobs, lock, telegram, history)
