"""What real channels hold, replayed on the fake Telegram: the same song posted twice, two
songs under one name, posts edited and deleted while and after they download, FLOOD_WAITs in
the middle of a file, a group upgraded to a supergroup, access taken away, forum topics as
Telegram marks them.

Expected files and bytes come from the posts' documents (what Telegram holds): a document's
bytes are `fake.content_of(document id, size)`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from audiofetch_app.core.job_record import Job, JobState
from audiofetch_app.sources.telegram import gateway as gw
from audiofetch_app.sources.telegram import sync, sync_file
from tests.fakes import telegram as fake
from tests.telegram_app import TelegramApp

CHANNEL = 60
PEER = -1000000000060


@pytest.fixture
def app(tg_app: TelegramApp, monkeypatch: pytest.MonkeyPatch) -> TelegramApp:
    monkeypatch.setattr(sync, "TICK", 0.001)  # a FLOOD_WAIT's countdown, made short
    monkeypatch.setattr(sync_file, "RETRY_DELAY", 0.001)
    tg_app.world.add_channel(CHANNEL, "Radio", "radio")
    return tg_app


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def bytes_of(post) -> bytes:  # type: ignore[no-untyped-def]
    doc = post.media.document
    return fake.content_of(doc.id, doc.size)


async def add(app: TelegramApp, out: Path, ref: str = "@radio", **kw) -> str:  # type: ignore[no-untyped-def]
    session = await app.logged_in()
    source = await app.service.add_source(session, ref, template="{title}.{ext}",
                                          target={"type": "folder", "path": str(out)}, **kw)
    return source.id


async def run(app: TelegramApp, source_id: str) -> Job:
    job = await app.service.sync_now(source_id)
    return await app.jobs.wait(job.id)


# ---------------------------------------------------------------- 1. identity by document

async def test_two_songs_with_one_title_and_size_in_separate_syncs_are_both_kept(
        app: TelegramApp, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = app.world.post(fake.music(CHANNEL, 1, title="Anthem", size=8_000))
    source = await add(app, out)
    assert (await run(app, source)).state == JobState.DONE
    second = app.world.post(fake.music(CHANNEL, 2, title="Anthem", size=8_000))
    assert (await run(app, source)).state == JobState.DONE
    assert files(out) == {"Anthem.mp3": bytes_of(first), "Anthem (2).mp3": bytes_of(second)}


@pytest.mark.parametrize("one_sync", [True, False])
async def test_one_document_posted_twice_is_saved_once(app: TelegramApp, tmp_path: Path,
                                                       one_sync: bool) -> None:
    out = tmp_path / "out"
    original = app.world.post(fake.music(CHANNEL, 1, title="Anthem"))
    doc = original.media.document.id
    source = await add(app, out)
    if not one_sync:
        assert (await run(app, source)).state == JobState.DONE
    app.world.post(fake.music(CHANNEL, 2, title="Anthem", doc_id=doc))  # forwarded in
    done = await run(app, source)
    assert done.state == JobState.DONE
    assert files(out) == {"Anthem.mp3": bytes_of(original)}
    assert [m for m, _ in app.world.downloads] == [1]
    assert (await app.service.get_source(source)).last_id == 2


async def test_files_from_before_the_ledger_are_taken_by_name_and_size_once(
        app: TelegramApp, tmp_path: Path) -> None:
    """An earlier AudioFetch saved `Anthem.mp3` (no ledger then): a source walking the
    channel again takes it rather than fetching it twice; a file of the same name and another
    size is somebody else's and stays as it is."""
    out = tmp_path / "out"
    out.mkdir()
    post = app.world.post(fake.music(CHANNEL, 1, title="Anthem", size=6_000))
    (out / "Anthem.mp3").write_bytes(bytes_of(post))
    other = app.world.post(fake.music(CHANNEL, 2, title="Jingle", size=6_000))
    (out / "Jingle.mp3").write_bytes(b"a different jingle")
    source = await add(app, out)
    assert (await run(app, source)).state == JobState.DONE
    assert files(out) == {"Anthem.mp3": bytes_of(post), "Jingle.mp3": b"a different jingle",
                          "Jingle (2).mp3": bytes_of(other)}
    assert [m for m, _ in app.world.downloads] == [2]


# ---------------------------------------------------------------- 2. edits

async def test_audio_replaced_while_downloading_is_not_spliced(app: TelegramApp,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "out"
    app.world.post(fake.music(CHANNEL, 1, title="Demo", size=1_500_000))
    source = await add(app, out)
    replacement = fake.music(CHANNEL, 1, title="Final Cut", size=1_200_000)

    def edit_after_first_part(message_id: int, written: int) -> None:
        if message_id == 1 and written == fake.PART:
            app.world.edit(replacement)

    app.world.on_part = edit_after_first_part
    done = await run(app, source)
    assert done.state == JobState.DONE, done.error
    assert files(out) == {"Final Cut.mp3": bytes_of(replacement)}


async def test_part_of_a_document_that_was_replaced_between_syncs_starts_again(
        app: TelegramApp, tmp_path: Path) -> None:
    out = tmp_path / "out"
    app.world.post(fake.music(CHANNEL, 1, title="Demo", size=1_500_000))
    source = await add(app, out)
    for _ in range(sync_file.RETRIES + 1):  # every attempt is cut after one part
        app.world.cut_after[1] = 600_000
    failed = await run(app, source)
    assert failed.state == JobState.FAILED
    assert (out / "Demo.mp3.part").stat().st_size == fake.PART
    # The same name, the same size, another document: the start must not be kept.
    replacement = fake.music(CHANNEL, 1, title="Demo", size=1_500_000)
    app.world.edit(replacement)
    assert (await run(app, source)).state == JobState.DONE
    assert files(out) == {"Demo.mp3": bytes_of(replacement)}
    assert app.world.downloads[-1] == (1, 0)


async def test_post_edited_after_it_was_saved_is_saved_again_as_a_new_version(
        app: TelegramApp, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = app.world.post(fake.music(CHANNEL, 1, title="Demo"))
    source = await add(app, out)
    assert (await run(app, source)).state == JobState.DONE
    second = app.world.edit(fake.music(CHANNEL, 1, title="Demo", size=12_000))
    assert (await run(app, source)).state == JobState.DONE
    assert files(out) == {"Demo.mp3": bytes_of(first), "Demo (v2).mp3": bytes_of(second)}
    third = app.world.edit(fake.music(CHANNEL, 1, title="Demo", size=14_000))
    app.world.edit(fake.music(CHANNEL, 1, title="Demo", size=14_000,
                              doc_id=third.media.document.id))  # a caption edit: same audio
    assert (await run(app, source)).state == JobState.DONE
    assert files(out)["Demo (v3).mp3"] == bytes_of(third) and len(files(out)) == 3
    assert (await run(app, source)).state == JobState.DONE
    assert len(files(out)) == 3


# ---------------------------------------------------------------- 3. FLOOD_WAIT

async def test_five_short_flood_waits_in_one_file_are_waited_out(app: TelegramApp,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "out"
    song = app.world.post(fake.music(CHANNEL, 1, title="Long", size=3_500_000))
    source = await add(app, out)
    for at in (600_000, 1_200_000, 1_700_000, 2_200_000, 2_700_000):
        app.world.interrupt(1, at, gw.FloodWait(1))
    statuses: list[str] = []
    app.jobs.subscribe(lambda e: statuses.append(e.job.status))
    done = await run(app, source)
    assert done.state == JobState.DONE, done.error
    assert files(out) == {"Long.mp3": bytes_of(song)}
    part = fake.PART
    assert [o for m, o in app.world.downloads] == [0, part, 2 * part, 3 * part, 4 * part,
                                                   5 * part]
    assert statuses.count("Telegram asks to wait: 1 s") == 5


# ---------------------------------------------------------------- 4. a group upgraded

async def test_group_upgraded_to_a_supergroup_is_followed_once(app: TelegramApp,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    group = app.world.add_basic_group(70, "Choir")
    old = app.world.post(fake.in_basic_group(fake.music(70, 1, title="Rehearsal"), 70))
    source = await add(app, out, ref=str(group))
    assert (await run(app, source)).state == JobState.DONE
    late = app.world.post(fake.in_basic_group(fake.music(70, 2, title="Late"), 70))
    new_peer = app.world.migrate(group, 71)
    fresh = app.world.post(fake.music(71, 2, title="Concert"))
    done = await run(app, source)
    assert done.state == JobState.DONE, done.error
    assert done.detail["notice"] == ("“Choir” became a supergroup; AudioFetch follows it now "
                                     "(what was saved stays).")
    assert files(out) == {"Rehearsal.mp3": bytes_of(old), "Late.mp3": bytes_of(late),
                          "Concert.mp3": bytes_of(fresh)}
    moved = await app.service.get_source(source)
    assert (moved.channel_id, moved.migrated_from, moved.last_id) == (new_peer, group, 2)
    assert moved.last_notice == done.detail["notice"]
    again = await run(app, source)
    assert again.state == JobState.DONE and "notice" not in again.detail
    assert (await app.service.get_source(source)).last_notice is None
    assert [m for m, _ in app.world.downloads] == [1, 2, 2]


async def test_upgraded_group_the_session_cannot_read_ends_with_a_sentence(
        app: TelegramApp, tmp_path: Path) -> None:
    group = app.world.add_basic_group(72, "Choir")
    source = await add(app, tmp_path / "out", ref=str(group))
    new_peer = app.world.migrate(group, 73)
    app.world.revoke(new_peer)
    done = await run(app, source)
    assert done.state == JobState.FAILED
    assert done.error == ("“Choir” was upgraded to a supergroup that this session cannot "
                          "read; join it in Telegram, then sync again.")


# ---------------------------------------------------------------- 5. leftovers

async def test_part_whose_post_was_deleted_is_removed_and_nothing_else(
        app: TelegramApp, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.mp3.part").write_bytes(b"the user's own")
    app.world.post(fake.music(CHANNEL, 1, title="Gone", size=1_500_000))
    kept = app.world.post(fake.music(CHANNEL, 2, title="Kept"))
    source = await add(app, out)
    for _ in range(sync_file.RETRIES + 1):
        app.world.cut_after[1] = 600_000
    assert (await run(app, source)).state == JobState.FAILED
    assert (out / "Gone.mp3.part").exists()
    app.world.delete(PEER, 1)
    done = await run(app, source)
    assert done.state == JobState.DONE, done.error
    assert files(out) == {"Kept.mp3": bytes_of(kept), "notes.mp3.part": b"the user's own"}
    assert (await app.service.get_source(source)).last_id == 2


# ---------------------------------------------------------------- 8. what the fake must say

async def test_access_taken_away_mid_sync_fails_with_a_sentence(app: TelegramApp,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    app.world.post(fake.music(CHANNEL, 1, title="One", size=1_500_000))
    app.world.post(fake.music(CHANNEL, 2, title="Two"))
    source = await add(app, out, keep={"kinds": ["music"]})
    # Access goes once the first part of One is in (whatever Two is doing then).
    app.world.on_part = lambda message_id, written: message_id == 1 and app.world.revoke(PEER)
    done = await run(app, source)
    assert done.state == JobState.FAILED
    assert done.error == ("This session can no longer read “Radio”: it left or was removed, "
                          "or the channel became private. Join it again in Telegram (or add "
                          "it with an invite link), then sync again.")
    assert (await app.service.get_source(source)).last_id == 0
    assert (out / "One.mp3.part").stat().st_size == fake.PART  # kept for when access returns


async def test_topic_posts_as_telegram_marks_them(app: TelegramApp, tmp_path: Path) -> None:
    out = tmp_path / "out"
    app.world.add_channel(80, "Club", forum=True)
    peer = -1000000000080
    app.world.add_topic(peer, 5, "Jazz")
    plain = app.world.post(fake.music(80, 6, title="Plain", topic=5))
    reply = app.world.post(fake.music(80, 7, title="Reply", topic=5, reply_to=6))
    general = app.world.post(fake.music(80, 8, title="General"))
    assert plain.reply_to.reply_to_top_id is None and reply.reply_to.reply_to_top_id == 5
    session = await app.logged_in()
    source = await app.service.add_source(
        session, str(peer), topics=[5], template="{topic}/{title}.{ext}",
        target={"type": "folder", "path": str(out)})
    assert (await run(app, source.id)).state == JobState.DONE
    assert files(out) == {"Jazz/Plain.mp3": bytes_of(plain), "Jazz/Reply.mp3": bytes_of(reply)}
    await app.service.update_source(source.id, topics=None)
    assert (await run(app, source.id)).state == JobState.DONE
    assert files(out)["General.mp3"] == bytes_of(general)


async def test_two_gigabyte_file_resumes_from_its_byte_across_syncs(
        app: TelegramApp, tmp_path: Path) -> None:
    """Telegram's largest file for most accounts (2,000 MiB), served part by part by the
    fake: a sync that dies at 1.5 GB leaves a `.part` the next sync continues."""
    import hashlib

    size = 2000 * 2**20
    out = tmp_path / "out"
    post = app.world.post(fake.music(CHANNEL, 1, title="Archive", size=size))
    doc = post.media.document.id
    source = await add(app, out)
    cut = 1_500_000_000
    for _ in range(sync_file.RETRIES + 1):
        app.world.cut_after[1] = cut
    assert (await run(app, source)).state == JobState.FAILED
    kept = cut - cut % fake.PART
    assert (out / "Archive.mp3.part").stat().st_size == kept
    done = await run(app, source)
    assert done.state == JobState.DONE, done.error
    # One attempt and RETRIES more in the first sync, then the second sync goes on.
    assert app.world.downloads == [(1, 0)] + [(1, kept)] * sync_file.RETRIES + [(1, kept)]
    saved, expected = hashlib.sha256(), hashlib.sha256()
    step = 64 * 2**20
    with open(out / "Archive.mp3", "rb") as f:
        for start in range(0, size, step):
            saved.update(f.read(step))
            expected.update(fake.content_range(doc, start, min(start + step, size)))
        assert f.read(1) == b""
    assert saved.hexdigest() == expected.hexdigest()


async def test_audio_whose_name_and_type_say_nothing_is_named_by_its_first_bytes(
        app: TelegramApp, tmp_path: Path, mp3: bytes) -> None:
    """`audio/x-unheard-of` with no file name: the saved file's extension comes from its
    header (an MPEG audio frame after an ID3 tag: mp3); a header nobody knows gives
    `.audio`, never `.bin`."""
    out = tmp_path / "out"
    song = app.world.post(fake.document(CHANNEL, 1, mime="audio/x-unheard-of", file_name=None,
                                        size=len(mp3)))
    fake.give_content(song.media.document.id, mp3)
    odd = app.world.post(fake.document(CHANNEL, 2, mime="audio/x-unheard-of", file_name=None,
                                       size=5_000))
    source = await add(app, out, keep={"kinds": ["document"]})
    done = await run(app, source)
    assert done.state == JobState.DONE, done.error
    assert files(out) == {"document_1.mp3": mp3, "document_2.audio": bytes_of(odd)}
