"""Shared fixtures: a loopback HTTP server, a fake X and a throwaway AUDIOFETCH_HOME."""

from __future__ import annotations

import os
import tempfile

# NiceGUI reads this on import: keep its storage out of the working tree.
os.environ.setdefault("NICEGUI_STORAGE_PATH", tempfile.mkdtemp(prefix="af-nicegui-"))

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.http_server import FakeServer
from tests.fakes.x_server import FakeX


@pytest.fixture(scope="session", autouse=True)
def _utc_is_this_computers_zone() -> Iterator[None]:
    """Telegram's days and `{date}` follow the computer's time zone by default: for the run it
    is UTC (TZ, time.tzset), so expected names do not depend on where the tests run. Tests of
    other zones set TZ themselves (tests/test_telegram_dates.py). Unix only (no tzset on
    Windows)."""
    if not hasattr(time, "tzset"):
        yield
        return
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def http_server() -> Iterator[FakeServer]:
    """A FakeServer on 127.0.0.1, stopped after the test."""
    server = FakeServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def af_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point AUDIOFETCH_HOME at a fresh folder for this test and return it."""
    home = tmp_path / "home"
    monkeypatch.setenv("AUDIOFETCH_HOME", str(home))
    return home


@pytest.fixture
def fake_x(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeX]:
    """A FakeX on 127.0.0.1 with AUDIOFETCH_X_API pointing at it and no X cookies set."""
    fake = FakeX()
    monkeypatch.setenv("AUDIOFETCH_X_API", fake.url)
    for name in ("AUDIOFETCH_X_AUTH_TOKEN", "AUDIOFETCH_X_CT0", "TWITTER_AUTH_TOKEN",
                 "TWITTER_CT0"):
        monkeypatch.delenv(name, raising=False)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(autouse=True)
def _fresh_app_logging() -> Iterator[None]:
    """Tests that open the runtime install AudioFetch's log handlers; undo that afterwards
    so caplog keeps seeing records in the tests that follow."""
    import logging

    from audiofetch_app.core import logs

    yield
    logger = logging.getLogger("audiofetch_app")
    for handler in logs._handlers:
        logger.removeHandler(handler)
        handler.close()
    logs._handlers.clear()
    logger.propagate = True


@pytest.fixture
def tg_world(af_home: Path, monkeypatch: pytest.MonkeyPatch):
    """A populated fake Telegram behind `open_runtime` (see tests/telegram_app.py)."""
    from audiofetch_app.sources import runtime
    from tests.fakes.telegram import FakeTelegram
    from tests.telegram_app import populate

    world = populate(FakeTelegram())
    monkeypatch.setattr(runtime, "TELEGRAM_FACTORY", world.factory)
    return world


@pytest.fixture
async def tg_app(tmp_path: Path):
    """AudioFetch's Telegram services on real files, a populated fake Telegram behind them."""
    from tests.telegram_app import TelegramApp

    app = TelegramApp(tmp_path / "home")
    await app.jobs.start()
    yield app
    await app.close()


@pytest.fixture(scope="session")
def mp3(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One second of a tone as MP3 bytes (a test module may define a longer one)."""
    from tests.media import make_tone

    return make_tone(tmp_path_factory.mktemp("mp3") / "tone.mp3", seconds=1).read_bytes()


@pytest.fixture
async def runtime(af_home: Path):
    """AudioFetch's runtime on a fresh data folder (a test module may define its own)."""
    from audiofetch_app.sources.runtime import open_runtime

    rt = await open_runtime(console_log=False)
    yield rt
    await rt.close()


@pytest.fixture
def s3():
    """A moto S3 server on loopback with an empty bucket named "bucket"."""
    from tests.fakes.s3_server import FakeS3

    server = FakeS3()
    server.create_bucket("bucket")
    try:
        yield server
    finally:
        server.stop()


# The Telegram bot face's fixtures (bot_env: runtime + fake Telegram + running bot; tones).
from tests.bot_app import bot_env, tones  # noqa: E402, F401
