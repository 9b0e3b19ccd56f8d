"""The bot while jobs run: progress edited in place within the pace and FLOOD_WAITs, uploads
cut half-way, nothing sent twice, cancel from the chat and from REST, commands, the upload
limit. Issue 18's points 3, 4, 6 and 7, through the fake Telegram."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from audiofetch_app.bot import delivery as delivery_mod
from audiofetch_app.bot.status import EDIT_INTERVAL
from audiofetch_app.core.job_record import JobState
from tests.bot_app import ADA, BOB, last, said, seconds_of, until
from tests.fakes.x_server import FakeSpace, FakeX


def status_of(world, chat_id: int, nth: int = 0):
    found = [s for s in world.in_chat(chat_id, "message") if "Cancel" in s.button_texts]
    return found[nth] if len(found) > nth else None


async def _no_wait(_seconds: float) -> None:
    await asyncio.sleep(0)


# -- 3: one status message, edited in place, paced, FLOOD_WAIT slows only the edits ---------


async def test_progress_is_edited_in_place_at_most_once_per_interval(
        bot_env, http_server, tones) -> None:
    _runtime, world, runner = bot_env
    runner.bot.board.interval = EDIT_INTERVAL  # the real pace: 3 s per chat
    http_server.add("/long.mp3", tones[11] * 24, content_type="audio/mpeg",
                    chunk_delay=0.05, chunk_size=8192)
    await world.write(ADA, http_server.url_for("/long.mp3"))
    status = await until(lambda: status_of(world, ADA.user_id), what="the status message")
    await until(lambda: last(world, ADA.user_id, "audio"), 120, "the audio")
    await until(lambda: "Done." in world.text_of(ADA.user_id, status.message_id), 30,
                "the last edit")
    edits = world.edits_of(ADA.user_id, status.message_id)
    texts = [e.text for e in edits]
    assert any("Downloading" in t and "%" in t and " of " in t for t in texts), texts
    assert len([s for s in world.in_chat(ADA.user_id) if s.kind == "message"]) == 1
    gaps = [b.at - a.at for a, b in zip([status, *edits], edits, strict=False)]
    assert all(gap >= EDIT_INTERVAL * 0.99 for gap in gaps), gaps  # never faster


async def test_flood_wait_on_edits_slows_the_edits_never_the_download(
        bot_env, http_server, tones) -> None:
    runtime, world, runner = bot_env
    bot = runner.bot
    world.flood_edits(3600)  # Telegram: no edits in this chat for an hour
    http_server.add("/f.mp3", tones[11] * 6, content_type="audio/mpeg", chunk_delay=0.02,
                    chunk_size=8192)
    await world.write(BOB, http_server.url_for("/f.mp3"))
    status = await until(lambda: status_of(world, BOB.user_id), what="the status")
    # The download and the sending go on: the audio arrives while edits still wait.
    audio = await until(lambda: last(world, BOB.user_id, "audio"), 120, "the audio")
    assert abs(seconds_of(audio.path) - 6 * 3.75) < 0.5
    assert runtime.jobs.list()[0].state == JobState.DONE
    assert bot.board.flood_waits == [(BOB.user_id, 3600)]
    assert bot.board.waiting(BOB.user_id) > 3000 and bot.board.busy(BOB.user_id)
    refused = world.edits_of(BOB.user_id, status.message_id)
    assert [e.refused for e in refused] == [True]  # one try, then nothing until it is over
    # The sending has ended, so its last words wait on the board too (moving the clock
    # sooner would let an older text through first, and the last words after it).
    await until(lambda: not bot.deliveries, what="the end of the sending")
    # An hour later (the board's clock moved, not the test's): the newest text lands.
    real = bot.board.clock
    bot.board.clock = lambda: real() + 3601
    bot.board.poke()
    await until(lambda: "Done. Sent 1 file." in world.text_of(BOB.user_id, status.message_id),
                what="the edit after the wait")
    assert len(world.edits_of(BOB.user_id, status.message_id)) == 2  # no backlog replayed


# -- 4: an upload cut half-way continues; what was sent is never sent again -----------------


async def test_an_upload_cut_half_way_continues_from_where_it_stopped(
        bot_env, http_server, tones) -> None:
    _, world, runner = bot_env
    runner.bot.sleep = _no_wait
    body = tones[11] * 4
    http_server.add("/cut.mp3", body, content_type="audio/mpeg")
    world.cut_uploads(0.5)
    await world.write(ADA, http_server.url_for("/cut.mp3"))
    audio = await until(lambda: last(world, ADA.user_id, "audio"), 60, "the audio")
    parts = -(-len(body) // world.part_size)
    assert parts >= 4 and world.cuts_made == 1
    assert world.part_requests == parts  # each part once: the upload went on, not over
    assert audio.path.read_bytes() == body and round(seconds_of(audio.path)) == 15


async def _a_delivery_that_gives_up(bot_env, http_server, tones, person):
    """`person` sends a page of 12 tracks and presses Send all; the second album's upload is
    cut every time, so the delivery gives up after the first. The status message."""
    from tests.test_bot import serve_page

    _, world, runner = bot_env
    runner.bot.sleep = _no_wait
    world.cut_uploads(0.5, times=delivery_mod.UPLOAD_ATTEMPTS, name="11 - ")
    await world.write(person, serve_page(http_server, tones, 12))
    card = await until(lambda: last(world, person.user_id, "message"), what="the card")
    await world.press(person, card, card.button_data[0])
    status = await until(lambda: status_of(world, person.user_id), what="the status")
    await until(lambda: "Not sent:" in world.text_of(person.user_id, status.message_id), 120,
                "the delivery to give up")
    return status


async def test_a_delivery_that_stopped_sends_only_what_was_not_sent(
        bot_env, http_server, tones) -> None:
    runtime, world, runner = bot_env
    status = await _a_delivery_that_gives_up(bot_env, http_server, tones, ADA)
    assert len(world.in_chat(ADA.user_id, "audio")) == 10  # the first album went out
    # The bot starts again (the app restarted): the job is picked up, only two files go.
    await runner.stop()
    bot = await runner.start()
    bot.board.interval = 0.2
    await until(lambda: len(world.in_chat(ADA.user_id, "audio")) == 12, 60, "the rest")
    await until(lambda: "10 sent before, not again." in
                world.text_of(ADA.user_id, status.message_id), what="the final status")
    audio = world.in_chat(ADA.user_id, "audio")
    assert [a.audio.title for a in audio] == [f"Story {n}" for n in range(12)]
    assert [round(seconds_of(a.path), 2) for a in audio[10:]] == [3.5, 3.75]
    assert runtime.jobs.list()[0].state == JobState.DONE


async def test_a_delivery_that_gave_up_can_be_sent_again_from_the_chat(
        bot_env, http_server, tones) -> None:
    """The status of a delivery that gave up carries "Send again": pressed, only what was
    not sent goes, without waiting for the bot to restart; pressed once more, nothing."""
    import dataclasses

    runtime, world, _ = bot_env
    status = await _a_delivery_that_gives_up(bot_env, http_server, tones, BOB)
    gave_up = [e for e in world.edits_of(BOB.user_id, status.message_id)
               if "Not sent:" in e.text][-1]
    shown = dataclasses.replace(status, buttons=gave_up.buttons)
    assert shown.button_texts == ["Send again"]
    assert len(world.in_chat(BOB.user_id, "audio")) == 10  # the first album went out
    await world.press(BOB, shown, shown.button_data[0])
    await until(lambda: len(world.in_chat(BOB.user_id, "audio")) == 12, 60, "the rest")
    await until(lambda: "10 sent before, not again." in
                world.text_of(BOB.user_id, status.message_id), what="the final status")
    assert [a.audio.title for a in world.in_chat(BOB.user_id, "audio")] == [
        f"Story {n}" for n in range(12)]
    query = await world.press(BOB, shown, shown.button_data[0])
    await until(lambda: (query, "It was sent.") in world.answers, 30, "the answer")
    assert len(world.in_chat(BOB.user_id, "audio")) == 12
    assert runtime.jobs.list()[0].state == JobState.DONE


async def test_files_over_the_bot_limit_are_not_attempted(
        bot_env, http_server, tones, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime, world, _ = bot_env
    monkeypatch.setattr(delivery_mod, "UPLOAD_LIMIT", 1000)  # bytes, instead of 2,000 MB
    http_server.add("/big.mp3", tones[3], content_type="audio/mpeg")
    await world.write(ADA, http_server.url_for("/big.mp3"))
    status = await until(lambda: status_of(world, ADA.user_id), what="the status")
    saved = runtime.jobs.list()[0]
    await until(lambda: "a bot may send" in world.text_of(ADA.user_id, status.message_id), 60,
                "the sentence")
    text = world.text_of(ADA.user_id, status.message_id)
    assert "it is saved on the computer at" in text and saved.output_path in text
    assert world.part_requests == 0 and not world.in_chat(ADA.user_id, "audio")


# -- 3 and 7: cancel in the chat, or in the Jobs view / CLI / REST ----------------------------


async def test_cancel_in_the_chat_and_over_rest_both_show_in_the_chat(
        bot_env, http_server, tones) -> None:
    from audiofetch_app.web.api import build_router

    runtime, world, _ = bot_env
    http_server.add("/slow1.mp3", tones[11] * 40, content_type="audio/mpeg", chunk_delay=0.1,
                    chunk_size=2048)
    http_server.add("/slow2.mp3", tones[10] * 40, content_type="audio/mpeg", chunk_delay=0.1,
                    chunk_size=2048)
    await world.write(ADA, http_server.url_for("/slow1.mp3"))
    first = await until(lambda: status_of(world, ADA.user_id), what="the first status")
    await world.press(ADA, first, first.button_data[0])  # Cancel, in the chat
    await until(lambda: world.text_of(ADA.user_id, first.message_id).endswith("Cancelled."),
                what="cancelled in the chat")

    await world.write(ADA, http_server.url_for("/slow2.mp3"))
    second = await until(lambda: status_of(world, ADA.user_id, 1), what="the second status")
    app = FastAPI()
    app.include_router(build_router(lambda: runtime))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://127.0.0.1") as client:
        listed = (await client.get("/api/jobs")).json()["jobs"]
        assert {j["origin"] for j in listed} == {"Telegram bot · Ada Lovelace (@ada_lovelace)"}
        job_id = second.button_data[0].decode().split(":")[1]
        answer = await client.post(f"/api/jobs/{job_id}/cancel")
        assert answer.json()["state"] == "cancelled"
    await until(lambda: world.text_of(ADA.user_id, second.message_id).endswith("Cancelled."),
                what="the REST cancel shown in the chat")
    assert not world.in_chat(ADA.user_id, "audio")
    assert {j.state for j in runtime.jobs.list()} == {JobState.CANCELLED}


# -- 6: commands ------------------------------------------------------------------------------


async def test_commands(bot_env, http_server, fake_x: FakeX, tones) -> None:
    _runtime, world, _ = bot_env
    chat = BOB.user_id
    await world.write(BOB, "/start")
    await until(lambda: "Send me links" in said(world, chat), what="/start")
    await world.write(BOB, "/help@audiofetch_test_bot")
    await until(lambda: len(world.in_chat(chat)) == 2, what="/help")
    assert "/format m4a|mp3" in last(world, chat).text
    await world.write(BOB, "/format flac")
    await until(lambda: "Write /format m4a" in said(world, chat), what="refusal")
    await world.write(BOB, "/format mp3")
    await until(lambda: "default format is mp3" in said(world, chat), what="ok")
    fake_x.add_space(FakeSpace("1BotFormatSp1", title="Pick"))
    await world.write(BOB, fake_x.space_url("1BotFormatSp1"))
    card = await until(lambda: last(world, chat, "photo"), what="the card")
    assert card.button_texts == ["mp3", "m4a"]  # the person's default first
    await world.write(BOB, "/cancel")
    await until(lambda: "Nothing of yours" in said(world, chat), what="/cancel")

    http_server.add("/c.mp3", tones[11] * 40, content_type="audio/mpeg", chunk_delay=0.1,
                    chunk_size=2048)
    await world.write(BOB, http_server.url_for("/c.mp3"))
    status = await until(lambda: status_of(world, chat), what="the status")
    await world.write(BOB, "/jobs")
    listing = await until(lambda: (m := last(world, chat, "message")) and
                          m.text.startswith("Your last jobs") and m, what="/jobs")
    assert "c.mp3" in listing.text or "c —" in listing.text
    await world.write(BOB, "/cancel")
    pick = await until(lambda: (m := last(world, chat, "message")) and
                       m.text.startswith("Which one") and m, what="the pick")
    await world.press(BOB, pick, pick.button_data[0])
    await until(lambda: world.text_of(chat, status.message_id).endswith("Cancelled."),
                what="cancelled")
    await world.write(BOB, "/jobs")
    await until(lambda: "— cancelled" in said(world, chat), what="the state")
    await world.write(BOB, "/nonsense")
    await until(lambda: "do not know that command" in said(world, chat),
                what="unknown")


async def test_an_expired_choice_says_so(bot_env, fake_x: FakeX) -> None:
    runtime, world, runner = bot_env
    fake_x.add_space(FakeSpace("1BotExpired01"))
    await world.write(ADA, fake_x.space_url("1BotExpired01"))
    card = await until(lambda: last(world, ADA.user_id, "photo"), what="the card")
    runner.bot.offers._offers.clear()  # as after a restart
    query = await world.press(ADA, card, card.button_data[0])
    await until(lambda: query in dict(world.answers), what="the answer")
    assert "expired" in dict(world.answers)[query] and runtime.jobs.list() == []
