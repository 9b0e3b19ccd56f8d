"""Sources: channel references, what is kept, names, topics, private channels, the schedule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.job_record import JobState
from audiofetch_app.sources.telegram import gateway as gw
from audiofetch_app.sources.telegram import media
from audiofetch_app.sources.telegram.catalog import SourceNotFound
from audiofetch_app.sources.telegram.refs import parse_channel_ref
from audiofetch_app.sources.telegram.sync_file import alternative_name
from tests.fakes import telegram as fake
from tests.telegram_app import FORUM_PEER, MUSIC_PEER, PRIVATE_INVITE, TelegramApp


@pytest.fixture
def app(tg_app: TelegramApp) -> TelegramApp:
    return tg_app


def saved(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize(("text", "kind", "value", "post"), [
    ("@Music_Box", "username", "music_box", None),
    ("music_box", "username", "music_box", None),
    ("t.me/music_box", "username", "music_box", None),
    ("https://t.me/music_box/42", "username", "music_box", 42),
    ("https://telegram.me/s/music_box", "username", "music_box", None),
    ("https://t.me/c/1234567890/77", "id", -1001234567890, 77),
    ("https://t.me/+AbCdEfGh1234", "invite", "AbCdEfGh1234", None),
    ("https://t.me/joinchat/AbCdEfGh1234", "invite", "AbCdEfGh1234", None),
    ("-1001234567890", "id", -1001234567890, None),
    ("1234567890", "id", -1001234567890, None),
    ("tg://resolve?domain=music_box", "username", "music_box", None),
])
def test_channel_references(text: str, kind: str, value: object, post: int | None) -> None:
    ref = parse_channel_ref(text)
    assert (ref.kind, ref.value, ref.message_id) == (kind, value, post)


@pytest.mark.parametrize("text", ["", "   ", "@ab", "https://example.com/music",
                                  "ftp://t.me/music", "t.me/", "t.me/+short", "0",
                                  "https://t.me/joinchat", "t.me/c/abc"])
def test_bad_channel_references_say_what_is_accepted(text: str) -> None:
    with pytest.raises(JobError) as err:
        parse_channel_ref(text)
    assert "t.me" in str(err.value) or "invite" in str(err.value)


def test_classify_every_kind() -> None:
    m = media.classify(fake.music(11, 1, title="Song", performer="Band", file_name="s.mp3"))
    assert (m.kind, m.ext, m.title, m.performer) == (media.MUSIC, "mp3", "Song", "Band")
    v = media.classify(fake.voice(11, 2))
    assert (v.kind, v.ext, v.title) == (media.VOICE, "ogg", "")
    r = media.classify(fake.round_video(11, 3))
    assert (r.kind, r.ext) == (media.ROUND, "mp4")
    d = media.classify(fake.document(11, 4, mime="audio/flac", file_name="Live Set.flac"))
    assert (d.kind, d.ext, d.title) == (media.DOCUMENT, "flac", "Live Set")
    x = media.classify(fake.document(11, 5, mime="audio/x-wav", file_name="noext"))
    assert x.ext == "wav"
    assert media.classify(fake.text(11, 6)) is None


def test_what_a_source_keeps() -> None:
    items = {
        "music": media.classify(fake.music(11, 1)),
        "voice": media.classify(fake.voice(11, 2)),
        "round": media.classify(fake.round_video(11, 3)),
        "flac": media.classify(fake.document(11, 4, mime="audio/flac", file_name="a.flac")),
        "pdf": media.classify(fake.document(11, 5, mime="application/pdf", file_name="a.pdf")),
        "zip": media.classify(fake.document(11, 6, mime="application/zip", file_name="a.zip")),
    }

    def kept(keep: media.Keep) -> list[str]:
        return [name for name, item in items.items() if media.wanted(item, keep)]

    assert kept(media.Keep()) == ["music", "voice", "flac"]
    assert kept(media.Keep(kinds=(media.ROUND,))) == ["round"]
    assert kept(media.Keep(kinds=(media.MUSIC,), extensions=("zip",))) == ["music", "zip"]
    day = items["music"].date.date()
    assert kept(media.Keep(date_from=day + dt.timedelta(days=1))) == []
    assert kept(media.Keep(date_to=day)) == ["music", "voice", "flac"]
    with pytest.raises(JobError, match="ends before"):
        media.Keep.from_dict({"date_from": "2024-05-02", "date_to": "2024-05-01"})
    with pytest.raises(JobError, match="not a date"):
        media.Keep.from_dict({"date_from": "yesterday"})
    with pytest.raises(JobError, match="at least one"):
        media.Keep.from_dict({"kinds": []})
    assert media.Keep.from_dict({"extensions": [".FLAC", " zip"]}).extensions == (
        "flac", "zip")


def test_file_names_and_fallbacks() -> None:
    song = media.classify(fake.music(11, 9, title="A/B: Live?", file_name="x.mp3"))
    assert media.file_name(media.DEFAULT_TEMPLATE, song, "My: Channel") == (
        "My - Channel/2024-05-01 A_B - Live_.mp3")
    voice = media.classify(fake.voice(11, 77))
    assert media.file_name(media.DEFAULT_TEMPLATE, voice, "C") == "C/2024-05-01 voice_77.ogg"
    round_ = media.classify(fake.round_video(11, 78))
    assert media.file_name("{kind}/{id}.{ext}", round_, "C") == "round/78.mp4"
    assert media.file_name("../../{title}.{ext}", song, "C") == "A_B - Live_.mp3"
    with pytest.raises(JobError, match="nope"):
        media.check_template("{nope}.{ext}")
    assert alternative_name("C/a b.mp3", 12) == "C/a b (12).mp3"


async def test_add_source_resolves_and_checks(app: TelegramApp, tmp_path: Path) -> None:
    session = await app.logged_in()
    source = await app.service.add_source(session, "https://t.me/music")
    assert (source.title, source.channel_id, source.username) == ("Music", MUSIC_PEER, "music")
    assert source.target == {"type": "folder",
                             "path": str(app.settings.get().download_path() / "Telegram")}
    assert source.template == media.DEFAULT_TEMPLATE
    with pytest.raises(JobError, match="already a source"):
        await app.service.add_source(session, "@music")
    with pytest.raises(gw.ChannelNotFound):
        await app.service.add_source(session, "@nothing_here")
    with pytest.raises(JobError, match="not available"):
        await app.service.add_source(session, "A Forum", template="{nope}")
    with pytest.raises(JobError, match="720 hours"):
        await app.service.add_source(session, "-1000000000012", interval_hours=-1)
    with pytest.raises(JobError, match="session"):
        await app.service.add_source("nope", "@music")
    assert [s.title for s in await app.service.list_sources()] == ["Music"]
    await app.service.delete_source(source.id)
    with pytest.raises(SourceNotFound):
        await app.service.get_source(source.id)


async def test_private_channel_needs_its_invite(app: TelegramApp, tmp_path: Path) -> None:
    session = await app.logged_in()
    with pytest.raises(gw.NoAccess, match="invite"):
        await app.service.add_source(session, "-1000000000014")
    with pytest.raises(gw.InviteInvalid):
        await app.service.add_source(session, "https://t.me/+WrongWrong99")
    source = await app.service.add_source(session, f"https://t.me/+{PRIVATE_INVITE}",
                                          target={"type": "folder", "path": str(tmp_path / "out")})
    assert source.title == "Secret Tapes" and app.world.joined == [source.channel_id]
    job = await app.service.sync_now(source.id)
    assert (await app.jobs.wait(job.id)).state == JobState.DONE
    assert saved(tmp_path / "out") == ["Secret Tapes/2024-05-01 Hidden.mp3"]


async def test_forum_topics(app: TelegramApp, tmp_path: Path) -> None:
    session = await app.logged_in()
    channel, topics = await app.service.find_channel(session, str(FORUM_PEER))
    assert channel.is_forum and [(t.id, t.title) for t in topics] == [(5, "Jazz"), (9, "Talk")]
    with pytest.raises(JobError, match="no topic 7"):
        await app.service.add_source(session, str(FORUM_PEER), topics=[7])
    out = tmp_path / "out"
    source = await app.service.add_source(
        session, str(FORUM_PEER), topics=[5], template="{channel}/{topic}/{title}.{ext}",
        target={"type": "folder", "path": str(out)})
    job = await app.service.sync_now(source.id)
    assert (await app.jobs.wait(job.id)).state == JobState.DONE
    assert saved(out) == ["A Forum/Jazz/Blue.mp3"]
    assert (await app.service.get_source(source.id)).last_id == 21
    # Keeping more walks the channel again; what is saved already is not fetched again.
    await app.service.update_source(source.id, topics=None)
    assert (await app.service.get_source(source.id)).last_id == 0
    job = await app.service.sync_now(source.id)
    assert (await app.jobs.wait(job.id)).state == JobState.DONE
    assert saved(out) == ["A Forum/Jazz/Blue.mp3", "A Forum/Talk/Chat.mp3"]
    assert [m for m, _ in app.world.downloads] == [20, 21]


async def test_same_names_get_the_message_id(app: TelegramApp, tmp_path: Path) -> None:
    session = await app.logged_in()
    app.world.add_channel(40, "Dupes", "dupes")
    for mid, size in ((1, 1000), (2, 2000), (3, 1000)):
        app.world.post(fake.music(40, mid, title="Same", file_name="same.mp3", size=size))
    source = await app.service.add_source(session, "@dupes", template="{title}.{ext}",
                                          target={"type": "folder", "path": str(tmp_path / "out")})
    job = await app.service.sync_now(source.id)
    assert (await app.jobs.wait(job.id)).state == JobState.DONE
    assert sorted(saved(tmp_path / "out")) == ["Same (2).mp3", "Same (3).mp3", "Same.mp3"]
    # Walked again from the start: every file is recognised, nothing is fetched again.
    await app.service.catalog.update(source.id, last_id=0)
    before = len(app.world.downloads)
    job = await app.service.sync_now(source.id)
    assert (await app.jobs.wait(job.id)).state == JobState.DONE
    assert len(app.world.downloads) == before and len(saved(tmp_path / "out")) == 3


async def test_failed_file_holds_the_watermark(app: TelegramApp, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from audiofetch_app.sources.telegram import sync_file as sync_mod

    monkeypatch.setattr(sync_mod, "RETRY_DELAY", 0.001)
    session = await app.logged_in()
    source = await app.service.add_source(session, "@music", keep={"kinds": ["music"]},
                                          target={"type": "folder", "path": str(tmp_path / "out")})
    app.world.broken.add(1)  # the first file fails every attempt
    job = await app.service.sync_now(source.id)
    failed = await app.jobs.wait(job.id)
    assert failed.state == JobState.FAILED
    assert "1 file could not be saved" in failed.error and "sync again" in failed.error
    state = await app.service.get_source(source.id)
    assert state.last_id == 0 and state.files == 1 and "could not be saved" in state.last_result
    assert [o for m, o in app.world.downloads if m == 1] == [0] * 4
    app.world.broken.clear()
    job = await app.jobs.retry(job.id)
    assert (await app.jobs.wait(job.id)).state == JobState.DONE
    state = await app.service.get_source(source.id)
    assert state.last_id == 7 and state.files == 2 and state.last_result is None


async def test_lost_login_and_unreachable_folder_fail_with_a_sentence(
        app: TelegramApp, tmp_path: Path) -> None:
    session = await app.logged_in()
    source = await app.service.add_source(session, "@music",
                                          target={"type": "folder", "path": str(tmp_path / "out")})
    app.world.fail("iter_messages", gw.NotAuthorized())
    job = await app.service.sync_now(source.id)
    assert (await app.jobs.wait(job.id)).error == gw.NotAuthorized.default
    await app.service.update_source(source.id, target={
        "type": "folder", "path": str(tmp_path / "unmounted" / "share")})
    job = await app.service.sync_now(source.id)
    done = await app.jobs.wait(job.id)
    assert done.state == JobState.FAILED and "cannot be reached" in done.error
    assert "cannot be reached" in (await app.service.get_source(source.id)).last_result
    assert not (tmp_path / "unmounted").exists()


async def test_disk_error_fails_the_job_and_keeps_the_watermark(
        app: TelegramApp, tmp_path: Path) -> None:
    session = await app.logged_in()
    blocker = tmp_path / "out" / "Music"
    blocker.parent.mkdir()
    blocker.write_text("a file where the channel folder should be")
    source = await app.service.add_source(session, "@music",
                                          target={"type": "folder", "path": str(tmp_path / "out")})
    job = await app.service.sync_now(source.id)
    done = await app.jobs.wait(job.id)
    assert done.state == JobState.FAILED and "Traceback" not in done.error
    assert (await app.service.get_source(source.id)).last_id == 0


async def test_cancel_removes_partial_files(app: TelegramApp, tmp_path: Path) -> None:
    import asyncio

    session = await app.logged_in()
    source = await app.service.add_source(session, "@music", keep={"kinds": ["music"]},
                                          target={"type": "folder", "path": str(tmp_path / "out")})
    app.world.download_delay = 0.02
    job = await app.service.sync_now(source.id)
    while not list((tmp_path / "out").rglob("*.part")):
        await asyncio.sleep(0.01)
    await app.jobs.cancel(job.id)
    assert app.jobs.get(job.id).state == JobState.CANCELLED
    assert not list((tmp_path / "out").rglob("*.part"))
    assert "stopped" in (await app.service.get_source(source.id)).last_result


async def test_nothing_secret_in_the_raw_database(app: TelegramApp, tmp_path: Path) -> None:
    session = await app.logged_in()
    await app.service.add_source(session, "@music", target={"type": "folder",
                                                            "path": str(tmp_path / "out")})
    raw = app.raw()
    string = await app.service.sessions.session_string(session)
    assert string not in raw and "447700900123" not in raw
    assert "0123456789abcdef0123456789abcdef" not in raw
    assert '"channel_id":-1000000000011' in raw  # the source itself is plain, by design


async def test_schedule_runs_due_sources_and_missed_runs_once(app: TelegramApp,
                                                               tmp_path: Path) -> None:
    clock = [1_000_000.0]
    app.service.clock = app.service.scheduler.clock = lambda: clock[0]
    session = await app.logged_in()
    source = await app.service.add_source(session, "@music", interval_hours=2,
                                          target={"type": "folder", "path": str(tmp_path / "out")})
    manual = await app.service.add_source(session, str(FORUM_PEER),
                                          target={"type": "folder", "path": str(tmp_path / "out")})
    assert source.next_run_at == clock[0] + 7200 and manual.next_run_at is None
    assert await app.service.scheduler.run_due() == []
    clock[0] += 7200 * 5 + 10  # the app was closed for ten hours: five runs missed
    assert await app.service.scheduler.run_due() == [source.id]
    job = app.service.sync_job(source.id)
    assert (await app.jobs.wait(job.id)).state == JobState.DONE
    assert (await app.service.get_source(source.id)).next_run_at == clock[0] + 7200
    assert await app.service.scheduler.run_due() == []
    clock[0] += 7200
    assert await app.service.scheduler.run_due() == [source.id]
    await app.jobs.wait(app.service.sync_job(source.id).id)


async def test_scheduler_loop_starts_missed_runs_on_start(app: TelegramApp,
                                                          tmp_path: Path) -> None:
    import asyncio

    session = await app.logged_in()
    source = await app.service.add_source(session, "@music", interval_hours=1,
                                          target={"type": "folder", "path": str(tmp_path / "out")})
    await app.service.catalog.update(source.id, next_run_at=1.0)  # long overdue
    await app.service.start(schedule=True)
    for _ in range(200):
        if app.service.sync_job(source.id) is not None:
            break
        await asyncio.sleep(0.01)
    job = app.service.sync_job(source.id)
    assert job is not None
    assert (await app.jobs.wait(job.id)).state == JobState.DONE
    await app.service.close()
    assert not app.service.scheduler.running


async def test_default_folder_is_made_and_sync_now_resumes_a_paused_sync(
        app: TelegramApp) -> None:
    session = await app.logged_in()
    source = await app.service.add_source(session, "@music", keep={"kinds": ["voice"]})
    assert not app.service.default_folder().parent.exists()  # a fresh install
    app.world.fail("download", gw.FloodWait(3 * 3600))
    job = await app.service.sync_now(source.id)
    assert (await app.jobs.wait(job.id)).state == JobState.PAUSED
    again = await app.service.sync_now(source.id)
    assert again.id == job.id and len(app.jobs.list()) == 1
    assert (await app.jobs.wait(job.id)).state == JobState.DONE
    assert (app.service.default_folder() / "Music/2024-05-01 voice_3.ogg").exists()


async def test_session_name_defaults_to_the_account(app: TelegramApp) -> None:
    await app.service.credentials.set("12345", "0123456789abcdef0123456789abcdef")
    login_id = await app.service.login.start_login("+447700900123")
    await app.service.login.submit_code(login_id, "11111")
    record = await app.service.login.finish(login_id)
    assert record.name == "Ada Lovelace"
