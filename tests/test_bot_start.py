"""Starting the bot (issue 18, point 1): Settings on/off, the token kept secret, what it says
without the API id/hash or the token, `audiofetch bot` headless; and the Telethon adapter's
mapping of updates, buttons, media and errors (point 8), on Telethon's real types."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from telethon import errors
from telethon.tl import types

from audiofetch_app.bot import runner as bot_runner
from audiofetch_app.bot.gateway import AudioItem, Chat, FloodWait, TokenRefused, Upload
from audiofetch_app.bot.telethon_bot import audio_media, inline_keyboard, map_error, message_of
from audiofetch_app.settings import log_dir
from audiofetch_app.sources.runtime import open_runtime
from audiofetch_app.sources.telegram.bot_token import BotToken
from tests.bot_app import ADA, API_HASH, API_ID, TOKEN, last, prepare, until
from tests.fakes.telegram_bot import FakeBotWorld


@pytest.fixture
async def setup(af_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    world = FakeBotWorld(tmp_path / "telegram")
    monkeypatch.setattr(bot_runner, "BOT_FACTORY", world.factory)
    runtime = await open_runtime(console_log=False)
    yield runtime, world
    await runtime.close()


async def test_settings_turn_it_on_and_off_and_the_token_stays_secret(setup) -> None:
    runtime, world = setup
    await prepare(runtime)
    runner = bot_runner.BotRunner(runtime)
    assert await runner.start() is None and runner.status == "Off."
    runtime.settings.update(bot_enabled=True)
    bot = await until(lambda: runner.bot, what="the bot to start")
    assert world.tokens == [TOKEN] and runner.status == "Running as @audiofetch_test_bot."
    await world.write(ADA, "/start")
    await until(lambda: last(world, ADA.user_id), what="an answer")
    runtime.settings.update(bot_enabled=False)
    await until(lambda: runner.bot is None and not world.gateway.started, what="it to stop")
    assert bot.account.username == "audiofetch_test_bot"
    await runner.close()
    logged = "".join(p.read_text(errors="replace") for p in log_dir().glob("*.log*"))
    assert TOKEN not in logged and TOKEN not in runtime.store.path.read_text()


async def test_without_the_api_id_and_hash_it_says_where_to_get_them(setup) -> None:
    runtime, world = setup
    await BotToken(runtime.vault).set(TOKEN)
    runtime.settings.update(bot_enabled=True)
    runner = bot_runner.BotRunner(runtime)
    assert await runner.start() is None
    assert "my.telegram.org" in runner.status and world.tokens == []
    await runner.close()


async def test_without_a_token_or_with_a_refused_one_it_says_what_to_do(setup) -> None:
    runtime, world = setup
    await runtime.telegram.credentials.set(API_ID, API_HASH)
    runtime.settings.update(bot_enabled=True)
    runner = bot_runner.BotRunner(runtime)
    assert await runner.start() is None and "@BotFather" in runner.status
    with pytest.raises(Exception, match="not a bot token"):
        await BotToken(runtime.vault).set("hello")
    await BotToken(runtime.vault).set(TOKEN)
    world.refused_tokens.add(TOKEN)
    assert await runner.start() is None and "refused the bot token" in runner.status
    await runner.close()


async def test_audiofetch_bot_runs_headless_with_a_token_file_and_allow(
        af_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from audiofetch_app.bot.headless import serve
    from audiofetch_app.cli.parser import build_parser

    world = FakeBotWorld(tmp_path / "telegram")
    monkeypatch.setattr(bot_runner, "BOT_FACTORY", world.factory)
    runtime = await open_runtime(console_log=False)
    await runtime.telegram.credentials.set(API_ID, API_HASH)
    await runtime.close()
    token_file = tmp_path / "token.txt"
    token_file.write_text(TOKEN + "\n")
    args = build_parser().parse_args(["bot", "--token-file", str(token_file),
                                      "--allow", "@ada_lovelace"])
    stop = asyncio.Event()
    running = asyncio.create_task(serve(args, stop))
    await until(lambda: world.gateway and world.gateway.started, what="the headless bot")
    assert world.tokens == [TOKEN]
    await world.write(ADA, "/help")
    answer = await until(lambda: last(world, ADA.user_id), what="an answer")
    assert "Send me links" in answer.text  # allowed by --allow, not by Settings
    stop.set()
    assert await running == 0
    assert "@audiofetch_test_bot is running" in capsys.readouterr().out
    bad = build_parser().parse_args(["bot", "--token-file", str(token_file), "--allow", "x y"])
    assert await serve(bad) == 2


def test_the_adapter_reads_links_as_telegram_marks_them() -> None:
    text = "🎧 listen https://x.com/i/spaces/1YqKDqDkXvWJV and this"
    start = len("🎧 listen ".encode("utf-16-le")) // 2  # offsets count UTF-16 units
    raw = types.Message(id=5, peer_id=types.PeerUser(1), date=None, message=text, entities=[
        types.MessageEntityUrl(offset=start, length=len("https://x.com/i/spaces/1YqKDqDkXvWJV")),
        types.MessageEntityTextUrl(offset=text.index("this") + 1, length=4,
                                   url="https://example.com/page")])
    message = message_of(raw, Chat(1, "Ada", True), ADA)
    assert message.urls == ("https://x.com/i/spaces/1YqKDqDkXvWJV", "https://example.com/page")


def test_the_adapter_maps_buttons_media_and_errors() -> None:
    from audiofetch_app.bot.gateway import InlineButton

    rows = inline_keyboard([[InlineButton("m4a", b"o:ab:m4a")]])
    assert isinstance(rows[0][0], types.KeyboardInlineButton)
    assert rows[0][0].type.data == b"o:ab:m4a"
    item = AudioItem(Upload(Path("a.m4a"), "a.m4a", 20 << 20, 42, parts_done=40), "T", "P",
                     61, "audio/mp4")
    media = audio_media(item, None)
    assert isinstance(media.file, types.InputFileBig) and media.file.parts == 40
    audio = media.attributes[0]
    assert (audio.duration, audio.title, audio.performer, audio.voice) == (61, "T", "P", False)
    flood = map_error(errors.FloodWaitError(request=None, capture=17))
    assert isinstance(flood, FloodWait) and flood.seconds == 17
    assert isinstance(map_error(errors.AccessTokenInvalidError(request=None)), TokenRefused)
