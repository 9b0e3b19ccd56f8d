"""Every view through NiceGUI's simulated user: tabs, live jobs, cancel, delete, settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation

from audiofetch_app.core import registry
from audiofetch_app.core.job_context import JobContext
from audiofetch_app.core.job_record import Job, JobState
from audiofetch_app.core.store import JOBS
from audiofetch_app.sources.runtime import open_runtime
from audiofetch_app.ui import shell, state
from audiofetch_app.ui.jobs_view import PAGE_SIZE
from audiofetch_app.web.lan.access import LanAccess
from tests.desktop import until
from tests.media import make_tone

release = asyncio.Event()


async def _held(ctx: JobContext) -> None:
    part = ctx.track_partial(ctx.output_dir / "held.part")
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"x")
    ctx.progress(bytes_done=1, bytes_total=10, force=True)
    await release.wait()


registry.register(registry.Source("t_held", "test", _held))


@pytest.fixture
async def runtime(af_home: Path):
    rt = await open_runtime(console_log=False)
    state.set_runtime(rt)
    state.set_lan(LanAccess(rt.store, rt.settings))
    yield rt
    release.set()
    state.set_runtime(None)
    state.set_lan(None)
    await rt.close()


@pytest.fixture
async def user(runtime) -> User:
    release.clear()
    async with user_simulation(root=shell.build) as simulated:
        await simulated.open("/")
        yield simulated


async def test_layout_has_header_tabs_and_jobs(user: User) -> None:
    await user.should_see("AudioFetch")
    for tab in ("Spaces", "Page audio", "Telegram", "Jobs"):
        await user.should_see(tab)
    await user.should_see(marker="settings")
    await user.should_see("No jobs yet", retries=1)


async def test_direct_link_from_page_tab_reaches_done(user: User, runtime, http_server,
                                                      tmp_path: Path) -> None:
    tone = make_tone(tmp_path / "t.mp3").read_bytes()
    http_server.add("/music/Song.mp3", tone, content_type="audio/mpeg")
    user.find(marker="page-link").type(http_server.url_for("/music/Song.mp3"))
    user.find(marker="page-find").click()
    await user.should_see("Found 1 track", retries=50)
    user.find(marker="page-download").click()
    await until(lambda: runtime.jobs.count() == 1)
    job = runtime.jobs.list()[0]
    done = await asyncio.wait_for(runtime.jobs.wait(job.id), 20)
    assert done.state == JobState.DONE and Path(done.output_path).read_bytes() == tone
    await user.should_see(marker=f"job-{job.id}", retries=30)
    await user.should_see("Song")
    await user.should_see("done", retries=30)
    await user.should_see("Saved: Song", retries=30)  # the toast


async def test_bad_link_is_refused_with_a_sentence(user: User, runtime) -> None:
    user.find(marker="page-link").type("ftp://example.com/a.mp3")
    user.find(marker="page-find").click()
    await user.should_see("Only http:// and https:// links can be downloaded.")
    assert runtime.jobs.count() == 0


async def test_jobs_list_reacts_to_events_and_cancel(user: User, runtime) -> None:
    job = await runtime.jobs.submit("t_held", "https://example.com/held")
    await until(lambda: runtime.jobs.get(job.id).state == JobState.RUNNING)
    await user.should_see(marker=f"job-{job.id}", retries=30)
    await user.should_see("running", retries=30)
    user.find(marker="cancel").click()
    await until(lambda: runtime.jobs.get(job.id).state == JobState.CANCELLED)
    await user.should_see("cancelled", retries=30)
    await user.should_see(marker="retry")
    assert not (runtime.settings.get().download_path() / "held.part").exists()


async def test_delete_from_the_list(user: User, runtime) -> None:
    job = await runtime.jobs.submit("t_held", "https://example.com/gone")
    await until(lambda: runtime.jobs.get(job.id).state == JobState.RUNNING)
    await user.should_see(marker=f"job-{job.id}", retries=30)
    user.find(marker="delete").click()
    await until(lambda: runtime.jobs.get(job.id) is None)
    await user.should_not_see(marker=f"job-{job.id}", retries=10)


async def test_interrupted_job_shows_resume(af_home: Path) -> None:
    rt = await open_runtime(console_log=False)
    job = Job(kind="t_held", url="https://example.com/old", title="Old one",
              state=JobState.RUNNING)
    rt.store.run(lambda db: db.table(JOBS).insert(job.to_dict()))
    await rt.close()
    rt = await open_runtime(console_log=False)  # like starting the app after a crash
    state.set_runtime(rt)
    state.set_lan(LanAccess(rt.store, rt.settings))
    try:
        async with user_simulation(root=shell.build) as user:
            await user.open("/")
            await user.should_see("Old one")
            await user.should_see("interrupted")
            await user.should_see("Resume")
    finally:
        state.set_runtime(None)
        state.set_lan(None)
        await rt.close()


async def test_jobs_are_paginated(user: User, runtime) -> None:
    jobs = [Job(kind="direct", url=f"https://e.x/{i}.mp3", title=f"Track {i:04d}",
                state=JobState.DONE, created_at=1000 + i) for i in range(PAGE_SIZE * 3)]
    runtime.store.run(lambda db: db.table(JOBS).insert_multiple(j.to_dict() for j in jobs))
    await runtime.close()
    rt = await open_runtime(console_log=False)
    state.set_runtime(rt)
    state.set_lan(LanAccess(rt.store, rt.settings))
    async with user_simulation(root=shell.build) as fresh:
        await fresh.open("/")
        await fresh.should_see("Track 0074")
        await fresh.should_not_see("Track 0049")
        assert len(fresh.find(kind=ui.card).elements) >= PAGE_SIZE
    await rt.close()
    state.set_runtime(runtime)
    state.set_lan(LanAccess(runtime.store, runtime.settings))


async def test_settings_persist_and_apply(user: User, runtime, tmp_path: Path) -> None:
    user.find(marker="settings").click()
    await user.should_see("Save downloads to")
    user.find(marker="download-folder-path").clear().type(str(tmp_path / "music"))
    user.find(marker="workers").clear().type("3")
    user.find(marker="x_auth_token").type("authtokenvalue123456")
    user.find(marker="space_workers").clear().type("12")
    user.find(marker="query_id").clear().type("NewQueryId_123")
    user.find(marker="save").click()
    await user.should_see("Settings saved.")
    saved = runtime.settings.get()
    assert saved.download_path() == tmp_path / "music" and saved.workers == 3
    assert saved.space_workers == 12 and saved.x_audiospace_query_id == "NewQueryId_123"
    assert runtime.vault.get("x_auth_token") == "authtokenvalue123456"
    raw = runtime.store.path.read_text()
    assert "authtokenvalue123456" not in raw


async def test_settings_reject_bad_values(user: User, runtime) -> None:
    user.find(marker="settings").click()
    user.find(marker="workers").clear().type("500")
    user.find(marker="save").click()
    await user.should_see("Nothing was saved: a number is outside its allowed range.")
    assert user.find(marker="workers").elements.pop().error == "Allowed: 1 to 64."
    assert runtime.settings.get().workers == 8


async def test_spaces_tab_previews_then_downloads(user: User, runtime, fake_x) -> None:
    from tests.fakes.x_server import FakeSpace

    fake_x.add_space(FakeSpace("1UiAbcdEfghij", title="Tab Talk", host_name="Ed Host",
                               host_screen_name="edhost", chunks=4))
    user.find("Spaces").click()
    user.find(marker="space-link").type(fake_x.space_url("1UiAbcdEfghij") + "/peek")
    user.find(marker="space-preview").click()
    await user.should_see("Tab Talk", retries=50)
    await user.should_see("Ed Host (@edhost)")
    await user.should_see("Speakers: Ada Lovelace, Alan Turing")
    await user.should_see("replay available", retries=5)
    user.find(marker="space-download").click()
    await until(lambda: runtime.jobs.count() == 1)
    job = await asyncio.wait_for(runtime.jobs.wait(runtime.jobs.list()[0].id), 60)
    assert job.state == JobState.DONE, job.error
    await user.should_see("Saved: Tab Talk", retries=30)


async def test_spaces_tab_explains_refusals(user: User, runtime, fake_x) -> None:
    from tests.fakes.x_server import FakeSpace

    fake_x.add_space(FakeSpace("1UiSoonAbcdEf", state="NotStarted"))
    user.find("Spaces").click()
    user.find(marker="space-link").type(fake_x.space_url("1UiSoonAbcdEf"))
    user.find(marker="space-preview").click()
    await user.should_see("has not started yet", retries=50)
    user.find(marker="space-link").clear().type("https://x.com/someone")
    user.find(marker="space-preview").click()
    await user.should_see("Preview shows X Space links", retries=10)
    # A link no source can take says why, not that Download would save it.
    user.find(marker="space-link").clear().type("http://127.0.0.1:99999/x.mp3")
    user.find(marker="space-preview").click()
    await user.should_see("'http://127.0.0.1:99999/x.mp3' is not a web address AudioFetch "
                          "can read.", retries=10)
    user.find(marker="space-link").clear().type("just some words")
    user.find(marker="space-preview").click()
    await user.should_see("AudioFetch cannot download that link", retries=10)


async def test_page_tab_finds_tracks_and_downloads_selected(user: User, runtime, http_server,
                                                            tmp_path: Path) -> None:
    from tests.test_page import serve_site

    tone = make_tone(tmp_path / "t.mp3", seconds=1).read_bytes()
    url = serve_site(http_server, tone)
    user.find(marker="page-link").type(url)
    user.find(marker="page-find").click()
    await user.should_see("Found 3 tracks", retries=50)
    table = user.find(marker="page-tracks").elements.pop()
    assert [row["url"].rsplit("/", 1)[1] for row in table.rows] == [
        "ch1.mp3", "ch2.mp3", "ch3.mp3"]
    table.selected = table.rows[:2]  # untick the third
    user.find(marker="page-name").clear().type("Two Chapters")
    user.find(marker="page-download").click()
    await until(lambda: runtime.jobs.count() == 1)
    job = await asyncio.wait_for(runtime.jobs.wait(runtime.jobs.list()[0].id), 60)
    assert job.state == JobState.DONE, job.error
    assert Path(job.output_path).name == "Two Chapters.zip" and job.items_total == 2
    progress = user.find(marker="page-progress").elements.pop()
    await until(lambda: [r["state"] for r in progress.rows] == ["done", "done"])


async def test_settings_set_the_lan_password_and_options(user: User, runtime) -> None:
    token, _ = state.lan().tokens.issue(3600)
    user.find(marker="settings").click()
    await user.should_see("LAN password: not set (LAN sharing is off)")
    user.find(marker="lan-password").type("a household secret")
    user.find(marker="lan-password-confirm").type("a household secreT")
    user.find(marker="save").click()
    await user.should_see("The two passwords are not the same.")
    assert not state.lan().is_set()
    user.find(marker="lan-password-confirm").clear().type("a household secret")
    user.find(marker="lan-hours").clear().type("2")
    user.find(marker="lan-origins").type("chrome-extension://abcdefghijklmnop")
    user.find(marker="save").click()
    await user.should_see("LAN password saved", retries=50)
    assert state.lan().passwords.verify("a household secret")
    assert not state.lan().tokens.valid(token)  # a new password logs everybody out
    saved = runtime.settings.get()
    assert saved.lan_session_hours == 2 and saved.cors_list() == [
        "chrome-extension://abcdefghijklmnop"]
    assert state.lan().session_seconds == 7200
    assert "a household secret" not in runtime.store.path.read_text()


async def test_settings_refuse_a_bad_origin(user: User, runtime) -> None:
    user.find(marker="settings").click()
    user.find(marker="lan-origins").type("not an origin")
    user.find(marker="save").click()
    await user.should_see("is not an origin")
    assert runtime.settings.get().cors_origins == ""


async def test_settings_say_where_the_browser_extension_is(user: User, runtime) -> None:
    from audiofetch_app.core.extension import EXTENSION_DIR

    user.find(marker="settings").click()
    await user.should_see("Browser extension")
    await user.should_see(str(EXTENSION_DIR))
    await user.should_see("Load unpacked", retries=5)
    assert (EXTENSION_DIR / "manifest.json").is_file()


async def test_retry_is_offered_only_where_it_can_help(user: User, runtime,
                                                       http_server) -> None:
    http_server.add("/flaky.mp3", b"x", content_type="audio/mpeg", fail_times=100,
                    fail_status=503)
    gone = await runtime.jobs.submit("direct", http_server.url_for("/missing.mp3"))
    flaky = await runtime.jobs.submit("direct", http_server.url_for("/flaky.mp3"))
    for job in (gone, flaky):
        assert (await asyncio.wait_for(runtime.jobs.wait(job.id), 120)).state == \
            JobState.FAILED
    user.find("Jobs").click()
    await user.should_see(marker=f"job-{flaky.id}", retries=30)
    rows = {job.id: user.find(marker=f"job-{job.id}").elements.pop() for job in (gone, flaky)}
    retry_rows = [row for row in rows.values()
                  if any("retry" in c._markers for c in row.descendants())]
    assert retry_rows == [rows[flaky.id]]  # a 503 may pass; a 404 will not


def test_the_delete_dialog_says_why_no_file_would_go(tmp_path: Path) -> None:
    """A run that skipped every track saved nothing of its own; files another job lists stay;
    files gone from disk are gone (what the dialog says instead of a list)."""
    from audiofetch_app.core.job_record import Job
    from audiofetch_app.ui.jobs_view import _nothing_to_delete

    folder = tmp_path / "Road Trip"
    folder.mkdir()
    shared = folder / "01 - A.mp3"
    shared.write_bytes(b"x")
    skipped_all = Job(kind="page", url="https://e.com/p", output_path=str(folder))
    assert _nothing_to_delete(skipped_all, []) == (
        "This job saved no files of its own; only the job is removed.")
    sharing = Job(kind="page", url="https://e.com/p", output_path=str(folder),
                  files=[str(shared)])
    assert _nothing_to_delete(sharing, []) == (
        "Its files are other jobs' files too, so they stay; only the job is removed.")
    gone = Job(kind="direct", url="https://e.com/a.mp3", output_path=str(tmp_path / "b.mp3"),
               files=[str(tmp_path / "b.mp3")])
    assert _nothing_to_delete(gone, []) == (
        "None of its files is on disk any more; only the job is removed.")
