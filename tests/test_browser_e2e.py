"""End to end in a real browser: `audiofetch serve`, Debian's Chromium driven by Playwright.

A direct audio link served from loopback is pasted into the Page audio tab, downloaded, seen
reaching "done" in the Jobs view, and found on disk byte for byte.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.desktop import (
    AppProcess,
    free_port,
    missing_modules,
    require,
    wait_for,
    wait_for_http,
)
from tests.media import make_tone

CHROMIUM = os.environ.get("AUDIOFETCH_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update",
    "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
]
UI_TIMEOUT_MS = 60_000  # the first page load compiles Vue/Quasar: slow on two cores
JOB_TIMEOUT_MS = 180_000

pytestmark = pytest.mark.timeout(600)


def require_browser() -> None:
    require(missing_modules("playwright"), "the browser test needs the playwright package")
    require([] if os.access(CHROMIUM, os.X_OK) else [CHROMIUM],
            "the browser test needs Debian's chromium (apt-get install chromium)")


@contextlib.contextmanager
def chromium_page(tmp_path: Path) -> Iterator[Any]:
    """A page in Debian's chromium; a screenshot is kept in tmp_path when the test fails."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(UI_TIMEOUT_MS)
            try:
                yield page
            except BaseException:
                page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
                raise
        finally:
            browser.close()


def test_page_audio_link_downloads_in_the_browser(tmp_path: Path, http_server) -> None:
    require_browser()
    from playwright.sync_api import expect

    tone = make_tone(tmp_path / "tone.mp3").read_bytes()
    http_server.add("/audio/Evening Tone.mp3", tone, content_type="audio/mpeg")
    link = http_server.url_for("/audio/Evening%20Tone.mp3")

    home = tmp_path / "home"
    downloads = home / "downloads"
    port = free_port()
    with AppProcess(["serve", "--port", str(port)], home, tmp_path / "logs") as app:
        url = app.wait_for_url(timeout=180)
        assert url == f"http://127.0.0.1:{port}"
        wait_for_http(url + "/", timeout=120, alive=app.check_alive)

        with chromium_page(tmp_path) as page:
            page.goto(url + "/", wait_until="load")
            expect(page.get_by_text("AudioFetch").first).to_be_visible()

            page.get_by_role("tab", name="Page audio").click()
            # The Page audio tab's own field (the tab it replaces may still be sliding out).
            link_input = page.get_by_placeholder("https://example.com/audiobook/chapters")
            link_input.fill(link)
            page.get_by_role("button", name="Find audio").click()
            expect(page.get_by_text("Found 1 track")).to_be_visible()
            page.get_by_role("button", name="Download selected").click()

            page.get_by_role("tab", name="Jobs").click()
            done = page.locator('.job-row[data-job-state="done"]')
            expect(done.filter(has_text="Evening Tone")).to_have_count(
                1, timeout=JOB_TIMEOUT_MS)
            expect(page.locator('.job-row[data-job-state="failed"]')).to_have_count(0)
            page.screenshot(path=str(tmp_path / "jobs-done.png"), full_page=True)

        def saved() -> list[Path] | None:
            # "done" is shown after the rename from .part, but allow for a slow file system.
            files = [p for p in downloads.rglob("*") if p.is_file()]
            complete = [p for p in files if p.suffix == ".mp3"]
            return complete if complete and not any(p.suffix == ".part" for p in files) \
                else None

        files = wait_for(saved, 30, f"the download in {downloads}", on_timeout=app.output)
        assert len(files) == 1, files
        assert files[0].name == "Evening Tone.mp3"
        assert files[0].read_bytes() == tone
        assert (tmp_path / "jobs-done.png").stat().st_size > 0


def test_lan_login_in_the_browser(tmp_path: Path) -> None:
    """LAN mode: the browser lands on the login page, logs in, uses the app, logs out."""
    require_browser()
    from playwright.sync_api import expect

    password = "our shared secret 9"
    port = free_port()
    with AppProcess(["serve", "--host", "0.0.0.0", "--port", str(port)], tmp_path / "home",
                    tmp_path / "logs", env={"AUDIOFETCH_PASSWORD": password}) as app:
        url = app.wait_for_url(timeout=180)
        wait_for_http(url + "/login", timeout=120, alive=app.check_alive)
        with chromium_page(tmp_path) as page:
            page.goto(url + "/", wait_until="load")
            expect(page.get_by_label("Password")).to_be_visible()
            assert "/login" in page.url
            page.get_by_label("Password").fill("not it at all")
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("alert")).to_contain_text("not correct")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("tab", name="Page audio")).to_be_visible()
            page.get_by_role("tab", name="Jobs").click()
            page.get_by_role("button", name="Log out").click()
            expect(page.get_by_label("Password")).to_be_visible()
            page.goto(url + "/", wait_until="load")
            assert "/login" in page.url  # the session is really gone
