"""The window as a person uses it (issue 17), in Debian's Chromium driven by Playwright against
`audiofetch serve`, with a fake X and a fake web site on loopback.

One app serves the whole module (starting it is slow on two cores); each test opens its own
browser page. The first test needs the app fresh: it checks the tab a first start opens on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.desktop import AppProcess, free_port, wait_for, wait_for_http
from tests.fakes.http_server import FakeServer
from tests.fakes.x_server import FakeSpace, FakeX
from tests.media import make_tone
from tests.test_browser_e2e import CHROMIUM, CHROMIUM_ARGS, UI_TIMEOUT_MS, require_browser

pytestmark = pytest.mark.timeout(900)

JOB_TIMEOUT_MS = 180_000
SPACE_LINK = "https://x.com/i/spaces/1YqKDqDkXvWJV"  # the Spaces tab's placeholder
PAGE_LINK = "https://example.com/audiobook/chapters"  # the Page audio tab's placeholder


class World:
    """The app, its fakes and a browser, shared by the module's tests."""

    def __init__(self, url: str, home: Path, web: FakeServer, x: FakeX, browser: Any) -> None:
        self.url, self.home, self.web, self.x, self.browser = url, home, web, x, browser

    def settings(self) -> dict:
        """The saved settings, read from the app's TinyDB file."""
        return json.loads((self.home / "audiofetch.json").read_text())["settings"]["1"]["user"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    require_browser()
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("window")
    tone = make_tone(tmp / "tone.mp3", seconds=1).read_bytes()
    web, x = FakeServer(), FakeX()
    try:
        for i in range(1, 6):
            web.add(f"/media/ch{i}.mp3", tone, content_type="audio/mpeg")
        for i in (1, 2):
            web.add(f"/other/part{i}.mp3", tone, content_type="audio/mpeg")
        chapters = "".join(f'<li>Chapter {i}<audio src="/media/ch{i}.mp3"></audio></li>'
                           for i in range(1, 6))
        parts = "".join(f'<li>Part {i}<audio src="/other/part{i}.mp3"></audio></li>'
                        for i in (1, 2))
        long = "".join(f'<li><a href="/media/ch{i}.mp3">Chapter {i}: {"a very long " * 12}'
                       f'title</a></li>' for i in (1, 2))
        for path, title, body in (("/book", "The Long Road", chapters),
                                  ("/other", "Another Show", parts), ("/empty", "Empty", ""),
                                  ("/long", "Long Titles", long)):
            web.add(path, f"<html><head><title>{title}</title></head><body><ul>{body}</ul>"
                    "</body></html>", content_type="text/html")
        x.add_space(FakeSpace("1EndedAbcdEfg", title="Morning Talk", chunks=6))
        x.add_space(FakeSpace("1NoReplayAbcd", title="Gone Talk", replay=False))
        x.add_space(FakeSpace("1NotYetAbcdEf", title="Later Talk", state="NotStarted"))
        x.add_space(FakeSpace("1LiveAbcdEfgh", title="Live Talk", state="Running",
                              chunks=400, live_initial=4, live_interval=None))
        home = tmp / "home"
        with AppProcess(["serve", "--port", str(free_port())], home, tmp / "logs",
                        env={"AUDIOFETCH_X_API": x.url}) as app, \
                sync_playwright() as playwright:
            url = app.wait_for_url(timeout=180)
            wait_for_http(url + "/", timeout=120, alive=app.check_alive)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield World(url, home, web, x, browser)
            finally:
                browser.close()
    finally:
        web.stop()
        x.stop()


@pytest.fixture
def page(world: World, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page at 1280x860 on the app; a screenshot is kept in tmp_path on failure."""
    context = world.browser.new_context(viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    tab.set_default_timeout(UI_TIMEOUT_MS)
    tab.goto(world.url + "/", wait_until="load")
    tab.get_by_text("AudioFetch").first.wait_for()
    try:
        yield tab
    except BaseException:
        tab.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        raise
    finally:
        context.close()


def _tab(page: Any, name: str) -> None:
    from playwright.sync_api import expect

    tab = page.get_by_role("tab", name=name)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def _in_viewport(page: Any, locator: Any) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return bool(box) and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] \
        and box["x"] >= 0 and box["x"] + box["width"] <= size["width"]


def test_header_opens_on_spaces_then_the_last_tab_and_fits_a_narrow_window(
        world: World, page: Any) -> None:
    """Point 10: Spaces the first time, then the tab last used; icons only at 420 px."""
    from playwright.sync_api import expect

    expect(page.get_by_role("tab", name="Spaces")).to_have_attribute("aria-selected", "true")
    _tab(page, "Telegram")
    wait_for(lambda: world.settings().get("last_tab") == "Telegram", 30, "the tab to be kept")
    page.reload(wait_until="load")
    expect(page.get_by_role("tab", name="Telegram")).to_have_attribute("aria-selected", "true")
    _tab(page, "Spaces")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.set_viewport_size({"width": 420, "height": 860})
        for name in ("Spaces", "Page audio", "Telegram", "Jobs", "Settings"):
            role = "button" if name == "Settings" else "tab"
            item = page.get_by_role(role, name=name)
            expect(item).to_be_visible()
            wait_for(lambda item=item: _in_viewport(page, item), 30, f"{name} inside 420 px")
        expect(page.locator(".app-header .q-tab__label").first).to_be_hidden()
        link = page.get_by_placeholder(SPACE_LINK)
        assert link.bounding_box()["width"] > 300  # a line of its own, not squeezed
        page.set_viewport_size({"width": 1280, "height": 860})
        expect(page.locator(".app-header .q-tab__label").first).to_be_visible()


def test_each_page_search_clears_the_last_one(world: World, page: Any) -> None:
    """Points 4 and 9: after a download, later searches show only their own result; the
    download's progress is in sight on the Jobs tab; the footer counts tracks."""
    from playwright.sync_api import expect

    _tab(page, "Page audio")
    link = page.get_by_placeholder(PAGE_LINK)
    status = page.locator(".page-status")
    tracks, progress = page.locator(".page-tracks"), page.locator(".page-progress")
    link.fill(world.web.url_for("/book"))
    page.get_by_role("button", name="Find audio").click()
    expect(status).to_have_text("Found 5 tracks on The Long Road.")
    expect(tracks.get_by_text("5 tracks selected")).to_be_visible()
    page.set_viewport_size({"width": 420, "height": 860})  # narrow: title and size in sight
    size = tracks.locator("th").filter(has_text="Size")
    expect(size).to_be_visible()
    wait_for(lambda: _in_viewport(page, size), 30, "the Size column inside 420 px",
             on_timeout=lambda: f"{size.bounding_box()} in {page.viewport_size}")
    expect(tracks.locator("th").filter(has_text="Found by")).to_be_hidden()
    page.set_viewport_size({"width": 1280, "height": 860})
    expect(tracks.locator("th").filter(has_text="Found by")).to_be_visible()
    # Titles of 150 characters wrap, in a narrow window and a wide one: no sideways scroll.
    link.fill(world.web.url_for("/long"))
    page.get_by_role("button", name="Find audio").click()
    expect(status).to_have_text("Found 2 tracks on Long Titles.")
    for width in (420, 1280):
        page.set_viewport_size({"width": width, "height": 860})
        wait_for(lambda: _in_viewport(page, size), 30, f"the Size column inside {width} px",
                 on_timeout=lambda: f"{size.bounding_box()} in {page.viewport_size}")
        middle = tracks.locator(".q-table__middle")
        assert middle.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), width
    link.fill(world.web.url_for("/book"))
    page.get_by_role("button", name="Find audio").click()
    expect(status).to_have_text("Found 5 tracks on The Long Road.")
    page.get_by_role("button", name="Download selected").click()
    # Like the Spaces tab: straight to Jobs, where the new job is in sight.
    expect(page.get_by_role("tab", name="Jobs")).to_have_attribute("aria-selected", "true")
    row = page.locator(".job-row").filter(has_text="The Long Road")
    expect(row).to_have_attribute("data-job-state", "done", timeout=JOB_TIMEOUT_MS)
    wait_for(lambda: _in_viewport(page, row), 30, "the job in sight")
    _tab(page, "Page audio")
    expect(progress).to_be_visible()
    expect(progress.get_by_text("05 - ch5.mp3")).to_be_visible()
    first = progress.get_by_text("01 - ch1.mp3")
    wait_for(lambda: _in_viewport(page, first), 30, "the progress in sight", on_timeout=lambda:
             f"{first.bounding_box()} in {page.viewport_size}")

    link.fill(world.web.url_for("/empty"))
    page.get_by_role("button", name="Find audio").click()
    expect(status).to_contain_text("No audio found")
    expect(progress).to_be_hidden()
    expect(tracks).to_be_hidden()
    expect(page.get_by_text("05 - ch5.mp3")).to_have_count(0)

    link.fill("not a link at all")
    page.get_by_role("button", name="Find audio").click()
    expect(status).not_to_contain_text("No audio found")
    expect(status).to_have_class(re.compile("text-negative"))
    assert status.inner_text().strip().endswith(".")

    link.fill(world.web.url_for("/other"))
    page.get_by_role("button", name="Find audio").click()
    expect(status).to_have_text("Found 2 tracks on Another Show.")
    expect(tracks).to_contain_text("part1")
    expect(tracks).not_to_contain_text("ch1")
    expect(tracks.get_by_text("2 tracks selected")).to_be_visible()


def test_spaces_download_says_what_will_happen(world: World, page: Any) -> None:
    """Points 4 and 7: the card belongs to its link; Download is refused with the reason
    when there is nothing to save; the job carries the Space's title."""
    from playwright.sync_api import expect

    _tab(page, "Spaces")
    link = page.get_by_placeholder(SPACE_LINK)
    download = page.locator(".download-button")
    card = page.locator(".space-preview")

    link.fill(world.x.space_url("1NoReplayAbcd"))
    page.get_by_role("button", name="Preview").click()
    expect(card.get_by_text("Gone Talk")).to_be_visible()
    expect(card.locator(".space-problem")).to_contain_text("did not keep a replay")
    expect(download).to_be_disabled()

    link.fill(world.x.space_url("1NotYetAbcdEf"))
    page.get_by_role("button", name="Preview").click()
    expect(card.get_by_text("Later Talk")).to_be_visible()
    expect(card.locator(".space-facts")).to_contain_text("Scheduled for")
    expect(card).not_to_contain_text("replay")
    expect(download).to_be_disabled()

    link.fill(world.web.url_for("/book"))  # not a Space: the old card goes at once
    expect(card).to_have_count(0)
    expect(download).to_be_enabled()
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".space-error")).to_contain_text("Preview shows X Space links")

    link.fill(world.x.space_url("1EndedAbcdEfg"))
    page.get_by_role("button", name="Preview").click()
    expect(card.locator(".space-facts")).to_contain_text("replay available")
    expect(card.locator(".space-facts")).to_contain_text(" · 18 s · ")  # 6 chunks of 3 s
    download.click()
    expect(page.get_by_role("tab", name="Jobs")).to_have_attribute("aria-selected", "true")
    row = page.locator(".job-row").filter(has_text="Morning Talk")
    expect(row).to_have_attribute("data-job-state", "done", timeout=JOB_TIMEOUT_MS)
    expect(page.locator(".job-row").filter(has_text="x.com/i/spaces")).to_have_count(0)


def test_a_live_recording_shows_time_and_size_and_stops_keeping_the_file(
        world: World, page: Any) -> None:
    """Point 8: "Record live", then elapsed time and size (no part-filled bar) and a
    labelled "Stop recording" that keeps what was recorded."""
    from playwright.sync_api import expect

    _tab(page, "Spaces")
    page.get_by_placeholder(SPACE_LINK).fill(world.x.space_url("1LiveAbcdEfgh"))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".space-facts")).to_contain_text("Live since")
    expect(page.locator(".space-facts")).not_to_contain_text(" h ")
    record = page.get_by_role("button", name="Record live")
    record.click()
    row = page.locator(".job-row").filter(has_text="Live Talk")
    expect(row.locator(".job-live")).to_contain_text("Recording live", timeout=JOB_TIMEOUT_MS)
    # Some audio in before stopping (stopped before the first chunk, nothing would be kept).
    expect(row.locator(".job-live")).to_have_text(
        re.compile(r"Recording live · \d+ s · [1-9][\d.]* [KM]B"), timeout=JOB_TIMEOUT_MS)
    expect(row.locator(".q-linear-progress")).to_be_hidden()
    stop = row.get_by_role("button", name="Stop recording")
    stop.hover()
    expect(page.get_by_text("Stop recording (keeps what was recorded)")).to_be_visible()
    stop.click()
    expect(row).to_have_attribute("data-job-state", "done", timeout=JOB_TIMEOUT_MS)
    saved = wait_for(lambda: list((world.home / "downloads").rglob("*Live Talk*.m4a")), 60,
                     "the recording on disk")
    assert saved[0].stat().st_size > 0


def test_delete_with_files_asks_first_and_names_the_files(world: World, page: Any) -> None:
    """Point 6: a confirmation naming each file and its size; Keep keeps them."""
    from playwright.sync_api import expect

    _tab(page, "Page audio")
    page.get_by_placeholder(PAGE_LINK).fill(world.web.url_for("/media/ch3.mp3"))
    page.get_by_role("button", name="Find audio").click()
    page.get_by_role("button", name="Download selected").click()
    row = page.locator(".job-row").filter(has_text="ch3")
    expect(row).to_have_attribute("data-job-state", "done", timeout=JOB_TIMEOUT_MS)
    saved = wait_for(lambda: list((world.home / "downloads").rglob("ch3.mp3")), 60, "ch3")[0]

    delete = row.get_by_role("button", name="Delete")
    delete.hover()
    delete.click()
    first = page.locator(".q-menu .q-item").filter(has_text="Remove from list")
    expect(first).to_be_visible()
    expect(page.locator(".q-tooltip")).to_have_count(0)  # nothing over the menu's first item
    page.get_by_text("Delete with files…").click()
    dialog = page.locator(".delete-confirm")
    expect(dialog).to_contain_text("Delete “ch3” and its files?")
    expect(dialog).to_contain_text(f"{saved} (")
    dialog.get_by_role("button", name="Keep").click()
    expect(dialog).to_have_count(0)
    assert saved.exists()
    delete.click()
    page.get_by_text("Delete with files…").click()
    page.locator(".delete-confirm").get_by_role("button", name="Delete files").click()
    expect(row).to_have_count(0)
    wait_for(lambda: not saved.exists(), 30, "the file to be deleted")


def test_settings_refuse_bad_values_beside_the_field_and_reach_open_pages(
        world: World, page: Any, tmp_path: Path) -> None:
    """Point 5: out-of-range numbers and a folder whose parent is missing are refused beside
    their field; a saved format shows in the open Spaces tab at once."""
    from playwright.sync_api import expect

    _tab(page, "Spaces")
    other = world.browser.new_page(viewport={"width": 1280, "height": 860})
    try:
        other.set_default_timeout(UI_TIMEOUT_MS)
        other.goto(world.url + "/", wait_until="load")
        _tab(other, "Spaces")  # a second window, left open on Spaces
        before = world.settings()
        page.get_by_role("button", name="Settings").click()
        dialog = page.locator(".settings-dialog")
        jobs_at_once = dialog.get_by_label("Jobs at once", exact=True)
        workers = dialog.get_by_label("Parallel downloads per job")
        jobs_at_once.fill("0")
        workers.fill("999")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog.get_by_text("Allowed: 1 to 16.")).to_be_in_viewport()  # Save is low
        expect(dialog.get_by_text("Allowed: 1 to 64.")).to_be_visible()
        expect(jobs_at_once).to_have_value("0")  # not changed behind the person's back
        assert world.settings()["max_running_jobs"] == before["max_running_jobs"]

        jobs_at_once.fill("2")
        workers.fill("6")
        missing = tmp_path / "unplugged" / "share" / "music"
        folder = dialog.get_by_label("Folder (a NAS share mounted as a folder works too)")
        folder.fill(str(missing))
        dialog.get_by_role("button", name="Save").click()
        expect(dialog.get_by_text(f"The folder {missing} cannot be reached")) \
            .to_be_in_viewport()
        assert not missing.parent.exists()
        assert world.settings()["download_dir"] == before["download_dir"]

        # Typed values that are no size and no time zone: refused beside their fields too,
        # all at once with a number and the folder (a new user saw them a few at a time).
        largest = dialog.get_by_label("Largest download (e.g. 4G, 500M)")
        zone = dialog.get_by_label("Time zone of Telegram dates (date range, {date})")
        largest.fill("4Q")
        zone.fill("Mars/Olympus")
        jobs_at_once.fill("0")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog.get_by_text("Allowed: 1 to 16.")).to_be_in_viewport()  # the topmost
        expect(dialog.get_by_text("“4Q” is not a size; write it like 50M, 2G or 800K.")) \
            .to_be_visible()
        expect(dialog.get_by_text("“Mars/Olympus” is not a time zone", exact=False)) \
            .to_be_visible()
        expect(dialog.get_by_text(f"The folder {missing} cannot be reached")).to_be_visible()
        expect(page.get_by_text("Nothing was saved: 4 fields are marked.")).to_be_visible()
        assert world.settings()["telegram_time_zone"] == before["telegram_time_zone"]
        jobs_at_once.fill("2")
        folder.fill(str(world.home / "downloads"))
        largest.fill("3G")
        zone.fill("Asia/Tokyo")

        dialog.locator(".q-select").filter(has_text="Audio format").click()
        page.get_by_role("option", name="mp3").click()
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
        for window in (page, other):  # no reload
            expect(window.locator(".q-select").filter(has_text="Format")).to_contain_text("mp3")
        saved = world.settings()
        assert (saved["audio_format"], saved["max_running_jobs"], saved["workers"]) == (
            "mp3", 2, 6)
        assert (saved["telegram_time_zone"], saved["max_filesize"]) == ("Asia/Tokyo", 3 << 30)
    finally:
        other.close()
