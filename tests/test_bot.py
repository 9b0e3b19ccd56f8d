"""The Telegram bot face end to end: a fake Telegram (tests/fakes/telegram_bot.py), the real
runtime, the fake X and a loopback web site; what reaches the chat is decoded and measured.

Issue 18's points: 1 start it (test_bot_start.py), 2 previews, 3 progress in place, 4 the
audio back, 5 strangers, 6 commands, 7 one history, 8 all of it without Telegram."""

from __future__ import annotations

import zipfile

from telethon.tl import types

from audiofetch_app.core.job_record import JobState
from tests.bot_app import ADA, BOB, EVE, last, said, seconds_of, until
from tests.fakes.space_audio import CHUNK_SECONDS, measure_tones, tone_hz
from tests.fakes.telegram_bot import FakeBotWorld
from tests.fakes.x_server import FakeSpace, FakeX

PAGE = """<!DOCTYPE html><html><head><title>Night Stories</title></head><body>
<h1>Night Stories</h1><ul>{items}</ul></body></html>"""


def serve_page(server, tones: list[bytes], count: int) -> str:
    items = "".join(f'<li><a href="/audio/{n:02d}.mp3">Story {n}</a></li>' for n in range(count))
    server.add("/stories", PAGE.format(items=items), content_type="text/html; charset=utf-8")
    for n in range(count):
        server.add(f"/audio/{n:02d}.mp3", tones[n], content_type="audio/mpeg")
    return server.url_for("/stories")


def status_message(world: FakeBotWorld, chat_id: int, nth: int = 0):
    found = [s for s in world.in_chat(chat_id, "message") if "Cancel" in s.button_texts]
    return found[nth] if len(found) > nth else None


# -- 2 and 4: a Space, recorded end to end against the fake X --------------------------------


async def test_a_space_link_gives_a_card_and_the_recording_comes_back_as_audio(
        bot_env, fake_x: FakeX) -> None:
    runtime, world, _ = bot_env
    fake_x.add_space(FakeSpace("1BotSpaceAbcde", title="Morning Show", host_name="Ada Host",
                               host_screen_name="adahost", chunks=8))
    await world.write(ADA, f"this one please {fake_x.space_url('1BotSpaceAbcde')}")
    card = await until(lambda: last(world, ADA.user_id, "photo"), what="the Space card")
    assert card.text.splitlines()[:3] == ["Morning Show", "Host: Ada Host (@adahost)",
                                          "State: ended"]
    assert "Duration: 24 s" in card.text  # 8 chunks of 3.008 s
    assert card.thumb[:3] == b"\xff\xd8\xff"  # the host's avatar as the card's picture
    assert card.button_texts == ["m4a", "mp3"]
    assert all(isinstance(b, types.KeyboardInlineButton) for row in card.buttons for b in row)

    await world.press(ADA, card, card.button_data[0])
    status = await until(lambda: status_message(world, ADA.user_id), what="a status message")
    audio = await until(lambda: last(world, ADA.user_id, "audio"), 120, "the audio")
    expected = fake_x.expected_duration("1BotSpaceAbcde")
    attribute = audio.audio
    assert isinstance(attribute, types.DocumentAttributeAudio) and not attribute.voice
    assert (attribute.title, attribute.performer) == ("Morning Show", "Ada Host")
    assert abs(attribute.duration - expected) <= CHUNK_SECONDS
    assert audio.media.mime_type == "audio/mp4" and audio.media.thumb is not None
    assert audio.thumb[:3] == b"\xff\xd8\xff"  # the cover, as Telegram's thumbnail
    assert abs(seconds_of(audio.path) - expected) <= CHUNK_SECONDS
    assert measure_tones(audio.path) == [tone_hz(s) for s in
                                         fake_x.chunk_sequence("1BotSpaceAbcde")]
    await until(lambda: "Done. Sent 1 file." in world.text_of(ADA.user_id, status.message_id),
                what="the final status")
    # 7: an ordinary job, marked as the bot's with the chat's name.
    job = runtime.jobs.list()[0]
    assert job.state == JobState.DONE
    assert job.origin == "Telegram bot · Ada Lovelace (@ada_lovelace)"
    assert job.to_dict()["origin"] == job.origin  # what REST and `jobs list --json` give


async def test_a_live_space_offers_recording_from_its_start(bot_env, fake_x: FakeX) -> None:
    _, world, _ = bot_env
    fake_x.add_space(FakeSpace("1BotLiveSpace1", title="On Air", state="Running"))
    await world.write(BOB, fake_x.space_url("1BotLiveSpace1"))
    card = await until(lambda: last(world, BOB.user_id, "photo"), what="the card")
    assert "State: live now" in card.text
    assert card.button_texts == ["Record from start · m4a", "Record from start · mp3"]


async def test_a_space_that_cannot_be_saved_says_why_without_buttons(bot_env, fake_x) -> None:
    _, world, _ = bot_env
    fake_x.add_space(FakeSpace("1BotNoReplay1", title="Gone", replay=False))
    await world.write(ADA, fake_x.space_url("1BotNoReplay1"))
    card = await until(lambda: last(world, ADA.user_id), what="the card")
    assert "did not keep a replay" in card.text and not card.buttons


# -- 2 and 4: a page's tracks as albums in page order, and as a ZIP --------------------------


async def test_a_page_is_sent_as_albums_of_ten_in_page_order(bot_env, http_server, tones) -> None:
    runtime, world, _ = bot_env
    url = serve_page(http_server, tones, 12)
    await world.write(ADA, url)
    card = await until(lambda: last(world, ADA.user_id, "message"), what="the page card")
    assert card.text.startswith("Found 12 tracks on Night Stories.")
    assert card.button_texts[:2] == ["Send all (12)", "Send as ZIP"]
    assert card.button_texts[2:] == [f"{n + 1}. Story {n}" for n in range(5)]
    await world.press(ADA, card, card.button_data[0])
    audio = await until(lambda: len(world.in_chat(ADA.user_id, "audio")) == 12 and
                        world.in_chat(ADA.user_id, "audio"), 120, "twelve audio files")
    albums = [a.album for a in audio]
    assert albums[0] == albums[9] != albums[10] == albums[11]  # 10 + 2
    lengths = [round(seconds_of(a.path), 1) for a in audio]
    assert lengths == [round(1 + n * 0.25, 1) for n in range(12)]  # page order, whole files
    assert [a.audio.title for a in audio] == [f"Story {n}" for n in range(12)]
    assert all(a.audio.duration == round(1 + n * 0.25) for n, a in enumerate(audio))
    assert runtime.jobs.list()[0].origin.startswith("Telegram bot · ")


async def test_a_page_as_one_zip_and_a_single_track(bot_env, http_server, tones) -> None:
    _, world, _ = bot_env
    url = serve_page(http_server, tones, 3)
    await world.write(BOB, url)
    card = await until(lambda: last(world, BOB.user_id, "message"), what="the page card")
    await world.press(BOB, card, card.button_data[1])
    document = await until(lambda: last(world, BOB.user_id, "document"), 120, "the ZIP")
    assert isinstance(document.media, types.InputFile) and document.path.suffix == ".zip"
    with zipfile.ZipFile(document.path) as archive:
        names = sorted(archive.namelist())
        assert len(names) == 3 and names[0].startswith("01 - Story 0")
        inside = document.path.with_name("inside.mp3")
        inside.write_bytes(archive.read(names[2]))
    assert round(seconds_of(inside), 1) == 1.5
    await world.press(BOB, card, card.button_data[3])  # "2. Story 1" alone
    audio = await until(lambda: last(world, BOB.user_id, "audio"), 120, "the one track")
    assert audio.audio.title == "Story 1" and round(seconds_of(audio.path), 2) == 1.25


# -- 2: a direct link starts at once; several links are several jobs -------------------------


async def test_direct_links_start_at_once_one_job_each(bot_env, http_server, tones) -> None:
    runtime, world, _ = bot_env
    http_server.add("/a/first.mp3", tones[0], content_type="audio/mpeg")
    http_server.add("/a/second.mp3", tones[4], content_type="audio/mpeg")
    await world.write(ADA, f"{http_server.url_for('/a/first.mp3')} and "
                           f"{http_server.url_for('/a/second.mp3')}")
    audio = await until(lambda: len(world.in_chat(ADA.user_id, "audio")) == 2 and
                        world.in_chat(ADA.user_id, "audio"), 60, "two audio messages")
    assert not world.in_chat(ADA.user_id, "photo")  # no card, no question asked
    assert sorted(round(seconds_of(a.path), 1) for a in audio) == [1.0, 2.0]
    assert all(a.album is None for a in audio)
    jobs = runtime.jobs.list()
    assert len(jobs) == 2 and {j.kind for j in jobs} == {"direct"}


async def test_a_link_no_source_can_take_gets_a_sentence(bot_env) -> None:
    _, world, _ = bot_env
    await world.write(ADA, "hello there")
    answer = await until(lambda: last(world, ADA.user_id), what="an answer")
    assert "Send me a link" in answer.text


# -- 5: strangers stay out; groups only when allowed; limits per person ----------------------


async def test_a_stranger_gets_one_polite_sentence_and_nothing_else(
        bot_env, fake_x: FakeX, caplog) -> None:
    runtime, world, _ = bot_env
    fake_x.add_space(FakeSpace("1BotStranger1"))
    before = len(fake_x.requests)
    await world.write(EVE, f"{fake_x.space_url('1BotStranger1')} /jobs")
    answer = await until(lambda: last(world, EVE.user_id), what="the refusal")
    await world.write(EVE, "/jobs")
    await until(lambda: len(world.in_chat(EVE.user_id)) == 2, what="the second refusal")
    assert [s.text for s in world.in_chat(EVE.user_id)] == [answer.text] * 2
    assert answer.text.count(".") == 1 and "private" in answer.text and not answer.buttons
    assert len(fake_x.requests) == before  # nothing was looked up for them
    assert runtime.jobs.list() == []
    assert "refused user id 6666" in caplog.text
    # A button of someone else's card pressed by a stranger: the same sentence, no job.
    fake_x.add_space(FakeSpace("1BotStranger2"))
    await world.write(ADA, fake_x.space_url("1BotStranger2"))
    card = await until(lambda: last(world, ADA.user_id, "photo"), what="Ada's card")
    query = await world.press(EVE, card, card.button_data[0])
    await until(lambda: any(q == query for q, _ in world.answers), what="the answer")
    assert dict(world.answers)[query] == answer.text and runtime.jobs.list() == []


async def test_groups_only_when_allowed(bot_env, http_server, tones) -> None:
    from audiofetch_app.bot.gateway import Chat

    runtime, world, _ = bot_env
    http_server.add("/g.mp3", tones[0], content_type="audio/mpeg")
    group = Chat(-1001234567890, "Family", False)
    await world.write(ADA, http_server.url_for("/g.mp3"), chat=group)
    answer = await until(lambda: last(world, group.id), what="the answer in the group")
    assert "private chats" in answer.text and runtime.jobs.list() == []
    runtime.settings.update(bot_groups="-1001234567890")
    await world.write(ADA, http_server.url_for("/g.mp3"), chat=group)
    await until(lambda: last(world, group.id, "audio"), 60, "the audio in the group")
    assert runtime.jobs.list()[0].origin == "Telegram bot · Family"


async def test_each_person_has_a_limit_of_jobs_per_hour(bot_env, http_server, tones) -> None:
    runtime, world, _ = bot_env
    runtime.settings.update(bot_jobs_per_hour=1)
    for name in ("one", "two"):
        http_server.add(f"/{name}.mp3", tones[0], content_type="audio/mpeg")
    await world.write(BOB, http_server.url_for("/one.mp3"))
    await until(lambda: last(world, BOB.user_id, "audio"), 60, "the first audio")
    await world.write(BOB, http_server.url_for("/two.mp3"))
    answer = await until(lambda: "in the last hour" in said(world, BOB.user_id),
                         what="the refusal")
    assert answer and len(runtime.jobs.list()) == 1


async def test_each_person_has_a_limit_of_jobs_at_once(bot_env, http_server, tones) -> None:
    runtime, world, _ = bot_env
    runtime.settings.update(bot_jobs_at_once=1)
    http_server.add("/slow.mp3", tones[11] * 40, content_type="audio/mpeg", chunk_delay=0.05,
                    chunk_size=4096)
    http_server.add("/next.mp3", tones[0], content_type="audio/mpeg")
    await world.write(BOB, http_server.url_for("/slow.mp3"))
    status = await until(lambda: status_message(world, BOB.user_id), what="the status")
    await world.write(BOB, http_server.url_for("/next.mp3"))
    await until(lambda: "the most at once" in said(world, BOB.user_id),
                what="the refusal")
    job_id = status.button_data[0].decode().split(":")[1]
    await runtime.jobs.cancel(job_id)
    assert len(runtime.jobs.list()) == 1
