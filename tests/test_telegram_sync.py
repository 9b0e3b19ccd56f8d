"""Sync jobs: what is kept, resume, no duplicates, FLOOD_WAIT, file references, topics."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from audiofetch_app.core.job_record import JobState
from audiofetch_app.sources.telegram import gateway as gw
from tests.fakes import telegram as fake
from tests.telegram_app import MUSIC_PEER, TelegramApp


@pytest.fixture
def app(tg_app: TelegramApp) -> TelegramApp:
    return tg_app


def files_under(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*"))
            if p.is_file()}


async def sync(app: TelegramApp, source_id: str) -> JobState:
    job = await app.service.sync_now(source_id)
    return (await app.jobs.wait(job.id)).state


async def test_first_sync_keeps_music_voice_and_audio_documents(app: TelegramApp,
                                                                tmp_path: Path) -> None:
    session = await app.logged_in()
    out = tmp_path / "out"
    source = await app.service.add_source(session, "@music",
                                          target={"type": "folder", "path": str(out)})
    job = await app.service.sync_now(source.id)
    done = await app.jobs.wait(job.id)
    assert done.state == JobState.DONE, done.error
    saved = files_under(out)
    assert saved == {
        "Music/2024-05-01 First Song.mp3": 10_000,
        "Music/2024-05-01 voice_3.ogg": 3_000,
        "Music/2024-05-01 live.flac": 4_000,
        "Music/2024-05-01 Second Song.mp3": 50_000,
    }
    first = out / "Music/2024-05-01 First Song.mp3"
    doc_id = app.world.messages[MUSIC_PEER][0].media.document.id
    assert first.read_bytes() == fake.content_of(doc_id, 10_000)
    state = await app.service.get_source(source.id)
    assert (state.last_id, state.files, state.bytes) == (7, 4, 67_000)
    assert state.last_result is None and state.last_sync_at
    assert sorted(done.files) == sorted(str(out / k) for k in saved)
    # Nothing new: nothing downloaded again.
    before = len(app.world.downloads)
    assert await sync(app, source.id) == JobState.DONE
    assert len(app.world.downloads) == before
    # A new post: only it is fetched.
    app.world.post(fake.music(11, 8, title="Third", file_name="third.mp3"))
    third = await app.jobs.wait((await app.service.sync_now(source.id)).id)
    assert third.state == JobState.DONE
    assert [m for m, _ in app.world.downloads[before:]] == [8]
    assert (await app.service.get_source(source.id)).files == 5
    # Deleting that sync with its files takes the one file it saved, not the synced folder.
    await app.jobs.delete(third.id, with_files=True)
    assert files_under(out) == saved
    # Settings' download folder on an unplugged drive does not stop a source that saves
    # to a folder of its own.
    app.settings.update(download_dir=str(tmp_path / "unplugged" / "Music"))
    app.world.post(fake.music(11, 9, title="Fourth", file_name="fourth.mp3"))
    assert await sync(app, source.id) == JobState.DONE
    assert "Music/2024-05-01 Fourth.mp3" in files_under(out)
    assert not (tmp_path / "unplugged").exists()


async def test_killed_sync_resumes_from_the_byte_and_downloads_nothing_twice(
        app: TelegramApp, tmp_path: Path) -> None:
    session = await app.logged_in()
    out = tmp_path / "out"
    source = await app.service.add_source(session, "@music",
                                          target={"type": "folder", "path": str(out)})
    app.world.part_size = 4096  # Telethon asked for 4 KiB parts: watch the file grow
    app.world.download_delay = 0.01
    job = await app.service.sync_now(source.id)
    while not (out / "Music/2024-05-01 Second Song.mp3.part").exists() or \
            (out / "Music/2024-05-01 Second Song.mp3.part").stat().st_size < 20_000:
        await asyncio.sleep(0.01)
    await app.jobs.close()  # the app is closed mid-download
    assert app.jobs.get(job.id).state == JobState.INTERRUPTED
    partial = (out / "Music/2024-05-01 Second Song.mp3.part").stat().st_size
    app.world.download_delay = 0
    await app.jobs.start()
    await app.jobs.retry(job.id)
    assert (await app.jobs.wait(job.id)).state == JobState.DONE
    per_message: dict[int, list[int]] = {}
    for message_id, offset in app.world.downloads:
        per_message.setdefault(message_id, []).append(offset)
    assert per_message[7][-1] == partial - partial % 4096 > 0
    assert all(offsets == [0] for mid, offsets in per_message.items() if mid != 7)
    assert len(files_under(out)) == 4
    assert (await app.service.get_source(source.id)).files == 4


async def test_cut_download_continues_from_its_offset(app: TelegramApp, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from audiofetch_app.sources.telegram import sync_file as sync_mod

    monkeypatch.setattr(sync_mod, "RETRY_DELAY", 0.01)
    session = await app.logged_in()
    out = tmp_path / "out"
    source = await app.service.add_source(session, "@music", keep={"kinds": ["music"]},
                                          target={"type": "folder", "path": str(out)})
    big = app.world.post(fake.music(11, 8, title="Long Mix", size=2_000_000))
    # The connection drops at byte 1,300,000: Telethon has written the two whole 512 KiB
    # parts before it, so the download goes on from 1,048,576.
    app.world.cut_after[8] = 1_300_000
    assert await sync(app, source.id) == JobState.DONE
    assert [o for m, o in app.world.downloads if m == 8] == [0, 1_048_576]
    doc = big.media.document
    assert (out / "Music/2024-05-01 Long Mix.mp3").read_bytes() == fake.content_of(
        doc.id, doc.size)


async def test_short_flood_wait_is_waited_out_with_a_countdown(
        app: TelegramApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = await app.logged_in()
    source = await app.service.add_source(session, "@music", keep={"kinds": ["voice"]},
                                          target={"type": "folder", "path": str(tmp_path)})
    app.world.fail("iter_messages", gw.FloodWait(2))
    statuses: list[str] = []
    app.jobs.subscribe(lambda e: statuses.append(e.job.status))
    assert await sync(app, source.id) == JobState.DONE
    assert "Telegram asks to wait: 2 s" in statuses and "Telegram asks to wait: 1 s" in statuses
    assert (tmp_path / "Music/2024-05-01 voice_3.ogg").exists()


async def test_long_flood_wait_pauses_and_resumes_by_itself(
        app: TelegramApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = await app.logged_in()
    source = await app.service.add_source(session, "@music", keep={"kinds": ["voice"]},
                                          target={"type": "folder", "path": str(tmp_path)})
    app.world.fail("download", gw.FloodWait(3 * 3600))
    job = await app.service.sync_now(source.id)
    paused = await app.jobs.wait(job.id)
    assert paused.state == JobState.PAUSED
    assert "3 hours" in paused.error and paused.resume_at > time.time() + 3 * 3600 - 60
    assert "3 hours" in (await app.service.get_source(source.id)).last_result
    # The time comes (made short here): the job queues itself again and finishes.
    job_obj = app.jobs._jobs[job.id]
    job_obj.resume_at = time.time() + 0.2
    app.jobs._arm_wakeup(job_obj)
    for _ in range(200):
        if app.jobs.get(job.id).state == JobState.DONE:
            break
        await asyncio.sleep(0.02)
    assert app.jobs.get(job.id).state == JobState.DONE
    assert (tmp_path / "Music/2024-05-01 voice_3.ogg").exists()


async def test_expired_file_reference_refetches_the_message(app: TelegramApp,
                                                            tmp_path: Path) -> None:
    session = await app.logged_in()
    source = await app.service.add_source(session, "@music", keep={"kinds": ["music"]},
                                          target={"type": "folder", "path": str(tmp_path)})
    first = app.world.messages[MUSIC_PEER][0]
    original = first

    async def expire_then_list(*args, **kw):  # the walk hands out the old object
        app.world.expire_file_reference(original)
        for m in [original, app.world.messages[MUSIC_PEER][-1]]:
            yield m

    gateway_cls = fake.FakeGateway
    real_iter = gateway_cls.iter_messages
    gateway_cls.iter_messages = lambda self, *a, **kw: expire_then_list()
    try:
        assert await sync(app, source.id) == JobState.DONE
    finally:
        gateway_cls.iter_messages = real_iter
    assert (tmp_path / "Music/2024-05-01 First Song.mp3").stat().st_size == 10_000
