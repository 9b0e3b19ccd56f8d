"""X Spaces end to end against the fake X: replays, live, refusals, resume, tags, CLI."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from audiofetch_app import sources
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.job_record import JobState
from audiofetch_app.sources import spaces
from audiofetch_app.sources.runtime import open_runtime
from audiofetch_app.sources.spaces.chunks import chunk_sequence, clean_chunk
from audiofetch_app.sources.spaces.metadata import parse_space_id
from tests.fakes.space_audio import CHUNK_SECONDS, measure_tones, tone_hz
from tests.fakes.x_server import FakeSpace, FakeX
from tests.probe import decode_errors, ffprobe, tags


@pytest.fixture
async def runtime(af_home: Path):
    rt = await open_runtime(console_log=False)
    yield rt
    await rt.close()


async def _download(runtime, fake: FakeX, space_id: str, **options):
    job = await runtime.jobs.submit(spaces.KIND, fake.space_url(space_id), options)
    return await asyncio.wait_for(runtime.jobs.wait(job.id), 120)


def _check_audio(path: Path, fake: FakeX, space_id: str) -> dict:
    info = ffprobe(path)
    duration = float(info["format"]["duration"])
    assert abs(duration - fake.expected_duration(space_id)) <= CHUNK_SECONDS
    assert decode_errors(path) == ""
    assert measure_tones(path) == [tone_hz(s) for s in fake.chunk_sequence(space_id)]
    return info


@pytest.mark.parametrize("link", [
    "https://x.com/i/spaces/1YqKDqDkXvWJV",
    "https://twitter.com/i/spaces/1YqKDqDkXvWJV/peek",
    "https://mobile.twitter.com/i/spaces/1YqKDqDkXvWJV?s=20",
    "x.com/i/spaces/1YqKDqDkXvWJV/",
    "1YqKDqDkXvWJV",
])
def test_space_links(link: str) -> None:
    assert parse_space_id(link) == "1YqKDqDkXvWJV"


@pytest.mark.parametrize("bad", ["https://x.com/elonmusk", "https://example.com/i/spaces/1Y",
                                 "", "hello world"])
def test_not_a_space_link(bad: str) -> None:
    with pytest.raises(JobError, match="not an X Space link"):
        parse_space_id(bad)


def test_chunk_cleaning() -> None:
    adts = b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 20
    id3 = b"ID3\x04\x00\x00\x00\x00\x00\x05" + b"12345"
    assert clean_chunk(b"\xff\xf1junk" + id3 + adts) == adts
    assert clean_chunk(id3 + adts) == adts
    assert chunk_sequence("https://cdn/x/chunk_1693000000000000000_12_a.aac?type=live") == 12


async def test_preview_shows_everything_before_download(fake_x: FakeX) -> None:
    fake_x.add_space(FakeSpace("1PreviewAbcdE", title="Morning Show", host_name="Ada Host",
                               host_screen_name="adahost", chunks=5))
    found = await sources.preview(None, fake_x.space_url("1PreviewAbcdE"))
    meta = found.meta
    assert (meta.title, meta.host_name, meta.host_screen_name) == (
        "Morning Show", "Ada Host", "adahost")
    assert meta.state == "Ended" and meta.replay_available and found.problem is None
    assert meta.started_at and meta.duration and meta.host_avatar_url
    assert [s.screen_name for s in meta.speakers] == ["ada", "alanturing"]


async def test_replay_downloads_tagged_m4a_with_cover(fake_x: FakeX, runtime) -> None:
    fake_x.add_space(FakeSpace("1ReplayAbcdEf", title="Deep Dive", host_name="Bo Host",
                               chunks=30, junk_every=5))
    fake_x.fail_chunk("1ReplayAbcdEf", 3, times=2)  # retried with backoff
    fake_x.cut_chunk("1ReplayAbcdEf", 8, after=500)  # resumed
    job = await _download(runtime, fake_x, "1ReplayAbcdEf")
    assert job.state == JobState.DONE, job.error
    out = Path(job.output_path)
    assert out.name.startswith("Bo Host - Deep Dive (") and out.suffix == ".m4a"
    info = _check_audio(out, fake_x, "1ReplayAbcdEf")
    meta = tags(info)
    assert meta["title"] == "Deep Dive" and meta["artist"] == "Bo Host"
    assert meta["comment"] == "https://x.com/i/spaces/1ReplayAbcdEf" and meta["date"]
    streams = {s["codec_type"]: s for s in info["streams"]}
    assert streams["audio"]["codec_name"] == "aac"
    assert streams["video"]["disposition"]["attached_pic"] == 1  # the host's avatar
    assert job.items_done == job.items_total == 30
    assert not list(out.parent.glob(".*chunks")) and not list(out.parent.glob("*.part"))


async def test_mp3_when_asked(fake_x: FakeX, runtime) -> None:
    fake_x.add_space(FakeSpace("1Mp3AbcdEfgh", chunks=6))
    job = await _download(runtime, fake_x, "1Mp3AbcdEfgh", format="mp3")
    assert job.state == JobState.DONE, job.error
    out = Path(job.output_path)
    assert out.suffix == ".mp3"
    info = _check_audio(out, fake_x, "1Mp3AbcdEfgh")
    assert tags(info)["title"] == "Fake Space"


async def test_live_space_recorded_from_start_until_end(fake_x: FakeX, runtime) -> None:
    fake_x.add_space(FakeSpace("1LiveAbcdEfgh", state="Running", chunks=14, live_initial=4,
                               live_window=3, live_interval=0.3))
    job = await _download(runtime, fake_x, "1LiveAbcdEfgh")
    assert job.state == JobState.DONE, job.error
    _check_audio(Path(job.output_path), fake_x, "1LiveAbcdEfgh")  # no gap, no repeat


async def test_cancelling_a_live_recording_keeps_a_valid_file(fake_x: FakeX, runtime) -> None:
    fake_x.add_space(FakeSpace("1StopAbcdEfgh", state="Running", chunks=100, live_initial=5,
                               live_interval=None))
    job = await runtime.jobs.submit(spaces.KIND, fake_x.space_url("1StopAbcdEfgh"))
    while (runtime.jobs.get(job.id).items_done or 0) < 5:
        await asyncio.sleep(0.05)
    fake_x.advance_live("1StopAbcdEfgh", 2)
    while (runtime.jobs.get(job.id).items_done or 0) < 7:
        await asyncio.sleep(0.05)
    await asyncio.wait_for(runtime.jobs.cancel(job.id), 60)
    done = await runtime.jobs.wait(job.id)
    out = Path(done.output_path)
    assert out.exists() and decode_errors(out) == ""
    assert measure_tones(out) == [tone_hz(s) for s in range(7)]


@pytest.mark.parametrize("space, words", [
    (FakeSpace("1SoonAbcdEfgh", state="NotStarted"), "has not started yet; it is scheduled"),
    (FakeSpace("1GoneAbcdEfgh", state="Ended", replay=False), "did not keep a replay"),
    (FakeSpace("1CancAbcdEfgh", state="Canceled"), "cancelled by its host"),
    (FakeSpace("1GeoAbcdEfghi", geoblocked=True), "geoblocked"),
])
async def test_refusals_are_sentences(fake_x: FakeX, runtime, space: FakeSpace,
                                      words: str) -> None:
    fake_x.add_space(space)
    job = await _download(runtime, fake_x, space.space_id)
    assert job.state == JobState.FAILED and words in job.error
    out_dir = runtime.settings.get().download_path()
    assert not out_dir.exists() or not any(out_dir.iterdir())


async def test_deleted_or_private_space(fake_x: FakeX, runtime) -> None:
    job = await _download(runtime, fake_x, "1NoSuchSpaceX")
    assert job.state == JobState.FAILED
    assert "does not exist any more, or it is private" in job.error


async def test_graphql_errors_with_http_200(fake_x: FakeX, runtime) -> None:
    fake_x.add_space(FakeSpace("1ErrAbcdEfghi"))
    fake_x.graphql_error("Query: Unspecified", times=5)
    job = await _download(runtime, fake_x, "1ErrAbcdEfghi")
    assert job.state == JobState.FAILED and "Query: Unspecified" in job.error


async def test_rate_limited_far_ahead_says_when(fake_x: FakeX, runtime) -> None:
    fake_x.add_space(FakeSpace("1RateAbcdEfgh"))
    fake_x.rate_limit(times=20, reset_in=900)
    job = await _download(runtime, fake_x, "1RateAbcdEfgh")
    assert job.state == JobState.FAILED
    assert "limiting requests" in job.error and "after" in job.error


async def test_short_rate_limit_is_waited_out(fake_x: FakeX, runtime) -> None:
    fake_x.add_space(FakeSpace("1WaitAbcdEfgh", chunks=3))
    fake_x.rate_limit(times=1, reset_in=1)
    job = await _download(runtime, fake_x, "1WaitAbcdEfgh")
    assert job.state == JobState.DONE, job.error


async def test_guest_tokens_that_run_out_are_renewed(runtime, monkeypatch) -> None:
    with FakeX(guest_token_uses=1) as fake:
        monkeypatch.setenv("AUDIOFETCH_X_API", fake.url)
        fake.add_space(FakeSpace("1GuestAbcdEfg", chunks=3))
        job = await _download(runtime, fake, "1GuestAbcdEfg")
        assert job.state == JobState.DONE, job.error
        assert fake.guest_tokens_issued >= 2


async def test_cookies_from_env_and_their_errors(fake_x: FakeX, runtime, monkeypatch) -> None:
    fake_x.add_space(FakeSpace("1CookAbcdEfgh", chunks=3))
    monkeypatch.setenv("TWITTER_AUTH_TOKEN", "good-auth-token")
    monkeypatch.setenv("TWITTER_CT0", "abc123csrf")
    job = await _download(runtime, fake_x, "1CookAbcdEfgh")
    assert job.state == JobState.DONE, job.error
    assert all("x-guest-token" not in r.headers for r in fake_x.requests
               if "AudioSpaceById" in r.path)
    await runtime.jobs.delete(job.id, with_files=True)
    monkeypatch.setenv("TWITTER_AUTH_TOKEN", "expired-token")
    job = await _download(runtime, fake_x, "1CookAbcdEfgh")
    assert job.state == JobState.FAILED and "expired" in job.error
    monkeypatch.delenv("TWITTER_CT0")
    job = await _download(runtime, fake_x, "1CookAbcdEfgh")
    assert job.state == JobState.FAILED and "ct0 is missing" in job.error


async def test_cookies_from_settings_vault(runtime, monkeypatch) -> None:
    with FakeX(guest_access=False) as fake:
        monkeypatch.setenv("AUDIOFETCH_X_API", fake.url)
        fake.add_space(FakeSpace("1VaultAbcdEfg", chunks=3))
        refused = await _download(runtime, fake, "1VaultAbcdEfg")
        assert refused.state == JobState.FAILED and "add your X cookies" in refused.error
        runtime.vault.set("x_auth_token", "good-auth-token")
        runtime.vault.set("x_ct0", "csrfvalue99")
        job = await runtime.jobs.retry(refused.id)
        job = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
        assert job.state == JobState.DONE, job.error


async def test_retry_uses_the_remembered_stream(fake_x: FakeX, runtime) -> None:
    fake_x.add_space(FakeSpace("1KeepAbcdEfgh", chunks=5))
    fake_x.fail_chunk("1KeepAbcdEfgh", 2, times=50, status=404)
    failed = await _download(runtime, fake_x, "1KeepAbcdEfgh")
    assert failed.state == JobState.FAILED and failed.detail["playlist_url"]
    fake_x.hide_metadata("1KeepAbcdEfgh")  # days later: X forgot the Space
    fake_x.fail_chunk("1KeepAbcdEfgh", 2, times=0)
    await runtime.jobs.retry(failed.id)
    done = await asyncio.wait_for(runtime.jobs.wait(failed.id), 60)
    assert done.state == JobState.DONE, done.error
    _check_audio(Path(done.output_path), fake_x, "1KeepAbcdEfgh")


async def test_playlist_url_directly(fake_x: FakeX, runtime) -> None:
    fake_x.add_space(FakeSpace("1PlayAbcdEfgh", chunks=4))
    url = fake_x.playlist_url("1PlayAbcdEfgh")
    job = await runtime.jobs.submit(spaces.KIND, url, {"playlist_url": url})
    done = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
    assert done.state == JobState.DONE, done.error
    _check_audio(Path(done.output_path), fake_x, "1PlayAbcdEfgh")


@pytest.mark.parametrize("shape", ["legacy", "core"])
async def test_both_of_xs_user_shapes_give_the_host(fake_x: FakeX, runtime, shape: str) -> None:
    """X now sends the creator's names in `core` and the picture in `avatar`, with no names
    in `legacy`; the preview, the tags, the cover and the file name read both shapes."""
    space_id = "1Shape" + shape.capitalize().ljust(7, "x")
    fake_x.add_space(FakeSpace(space_id, title="Harbour Talk", host_name="Ida Host",
                               host_screen_name="idahost", chunks=4, user_shape=shape))
    found = await sources.preview(None, fake_x.space_url(space_id))
    meta = found.meta
    assert meta.host_label == "Ida Host (@idahost)"
    assert meta.host_avatar_url.endswith("/idahost_normal.jpg")
    job = await _download(runtime, fake_x, space_id)
    assert job.state == JobState.DONE, job.error
    out = Path(job.output_path)
    assert out.name.startswith("Ida Host - Harbour Talk (")
    info = _check_audio(out, fake_x, space_id)
    assert tags(info)["artist"] == "Ida Host"
    assert {s["codec_type"] for s in info["streams"]} == {"audio", "video"}  # the cover


def test_a_user_result_without_names_leaves_no_dangling_separator() -> None:
    from datetime import UTC, datetime

    from audiofetch_app.core.naming import render_template
    from audiofetch_app.sources.spaces.metadata import user_of
    from audiofetch_app.sources.spaces.source import DEFAULT_TEMPLATE

    nobody = user_of({"__typename": "User", "legacy": {"followers_count": 3}})
    assert (nobody.name, nobody.screen_name, nobody.avatar_url) == ("", "", "")
    assert user_of({"__typename": "UserUnavailable"}).name == ""
    name = render_template(DEFAULT_TEMPLATE, {"host": "", "title": "Harbour Talk",
                                              "date": datetime(2024, 5, 1, tzinfo=UTC)},
                           ext="m4a")
    assert name == "Harbour Talk (2024-05-01).m4a"


async def test_a_live_recording_keeps_the_chunks_published_after_its_last_poll(
        fake_x: FakeX, runtime) -> None:
    """X's live playlist vanishes (404) at the end, before the chunks published since the
    last poll were seen; they are taken from the replay playlist, which itself answers 404
    once right after the end."""
    space_id = "1LastAbcdEfgh"
    fake_x.add_space(FakeSpace(space_id, state="Running", chunks=100, live_initial=5,
                               live_interval=None))
    fake_x.vanish_live_at_end(space_id)
    job = await runtime.jobs.submit(spaces.KIND, fake_x.space_url(space_id))
    while (runtime.jobs.get(job.id).items_done or 0) < 5:
        await asyncio.sleep(0.05)
    fake_x.advance_live(space_id, 3)
    fake_x.end_live(space_id)
    fake_x.gone_for(space_id, 1, "replay")
    done = await asyncio.wait_for(runtime.jobs.wait(job.id), 120)
    assert done.state == JobState.DONE, done.error
    out = Path(done.output_path)
    assert decode_errors(out) == ""
    assert measure_tones(out) == [tone_hz(s) for s in range(8)]  # first to last, in order


async def test_a_space_that_has_just_ended_is_waited_for(fake_x: FakeX, runtime) -> None:
    """Right after the end, X's stream status and replay playlist answer 404 for a moment."""
    now_ms = int(time.time() * 1000)
    space_id = "1JustAbcdEfgh"
    fake_x.add_space(FakeSpace(space_id, chunks=6, started_at_ms=now_ms - 60_000,
                               ended_at_ms=now_ms - 2_000))
    fake_x.gone_for(space_id, 2, "status")
    fake_x.gone_for(space_id, 2, "replay")
    job = await _download(runtime, fake_x, space_id)
    assert job.state == JobState.DONE, job.error
    _check_audio(Path(job.output_path), fake_x, space_id)


async def test_a_replay_that_stays_gone_ends_with_the_sentence(
        fake_x: FakeX, runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from audiofetch_app.sources.spaces import recorder

    monkeypatch.setattr(recorder, "GONE_WAITS", (0.01, 0.01, 0.01))
    fake_x.add_space(FakeSpace("1StayAbcdEfgh", chunks=4))
    fake_x.gone_for("1StayAbcdEfgh", 1000, "replay")
    said: list[str] = []  # the waits are said as the job's status, never silent
    unsubscribe = runtime.jobs.subscribe(lambda event: said.append(event.job.status))
    job = await _download(runtime, fake_x, "1StayAbcdEfgh")
    unsubscribe()
    assert job.state == JobState.FAILED
    assert "nothing is there; the link may be wrong or expired" in job.error
    assert "The replay playlist is not there yet (X answered 404); trying again in 0.01 s." \
        in said and job.status == ""
