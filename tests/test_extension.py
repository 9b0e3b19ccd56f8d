"""The browser extension in Debian's Chromium (Playwright), against a real `audiofetch serve`.

Fixture pages, served from loopback:
- `/spa.html`: a single-page player that fetches its playlist from `/playlist.json` and builds
  its `<audio>` elements with JavaScript; the HTML alone has no audio (AudioFetch alone finds
  nothing). The extension sends what the page plays; AudioFetch saves every track.
- `/plain.html`: ordinary `<audio>` players AudioFetch finds by itself; what the extension
  adds are the same files, so the merged list is detection's list, without duplicates.
Also: the options page (the app's address), the sentence when the app is not running, and
`/ws` on loopback.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from audiofetch_app.core.extension import EXTENSION_DIR
from tests.desktop import AppProcess, free_port, wait_for, wait_for_http
from tests.fakes.x_server import FakeSpace, FakeX
from tests.media import decoded_seconds, make_tone
from tests.probe import decode_errors, ffprobe, tags
from tests.test_browser_e2e import CHROMIUM, CHROMIUM_ARGS, require_browser

pytestmark = pytest.mark.timeout(600)
UI_TIMEOUT_MS = 60_000

SPA = """<!doctype html><html><head><title>Night Radio</title></head><body>
<h1>Night Radio</h1><div id="player">Loading…</div>
<script>
fetch("/playlist.json").then(r => r.json()).then(list => {
  const player = document.getElementById("player");
  player.textContent = "";
  for (const item of list) {
    const row = document.createElement("div");
    const name = document.createElement("h3");
    name.textContent = item.name;
    const audio = document.createElement("audio");
    audio.preload = "metadata";
    audio.src = item.file;
    row.append(name, audio);
    player.append(row);
  }
});
</script></body></html>"""

PLAIN = """<!doctype html><html><head><title>Plain Show</title></head><body>
<h2>Opening</h2><audio controls src="/media/opening.mp3"></audio>
<h2>Closing</h2><audio controls><source src="/media/closing.mp3" type="audio/mpeg"></audio>
</body></html>"""


class Browser:
    """Chromium with the unpacked extension loaded, and the extension's own pages."""

    def __init__(self, context: Any) -> None:
        self.context = context
        workers = context.service_workers
        worker = workers[0] if workers else context.wait_for_event("serviceworker")
        self.worker = worker
        self.base = worker.url.rsplit("/", 1)[0]

    def page(self, url: str) -> Any:
        page = self.context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(url, wait_until="load")
        return page

    def tab_id(self, url: str) -> int:
        return int(self.worker.evaluate(
            "url => chrome.tabs.query({}).then(t => t.find(x => x.url === url).id)", url))

    def set_address(self, address: str) -> None:
        options = self.page(f"{self.base}/options.html")
        options.locator("#address").fill(address)
        options.locator("#save").click()
        expect(options.locator("#status")).to_contain_text("Saved")
        options.close()


@contextlib.contextmanager
def chromium_with_extension(tmp_path: Path) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True,
            args=[*CHROMIUM_ARGS, f"--disable-extensions-except={EXTENSION_DIR}",
                  f"--load-extension={EXTENSION_DIR}"])
        try:
            yield Browser(context)
        except BaseException:
            for i, page in enumerate(context.pages):
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(tmp_path / f"failure-{i}.png"))
            raise
        finally:
            context.close()


@pytest.fixture(scope="module")
def module_x() -> Iterator[FakeX]:
    fake = FakeX()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, module_x: FakeX
        ) -> Iterator[tuple[AppProcess, str, Path]]:
    require_browser()
    root = tmp_path_factory.mktemp("ext")
    home = root / "home"
    port = free_port()
    with AppProcess(["serve", "--port", str(port)], home, root / "logs",
                    env={"AUDIOFETCH_X_API": module_x.url}) as process:
        url = process.wait_for_url(timeout=180)
        wait_for_http(url + "/api/jobs", timeout=120, alive=process.check_alive)
        yield process, url, home / "downloads"


def saved_files(folder: Path, count: int) -> list[Path]:
    def whole() -> list[Path] | None:
        files = [p for p in folder.rglob("*.mp3") if p.is_file()]
        if len(files) < count or any(p.suffix == ".part" for p in folder.rglob("*")):
            return None
        return files

    return wait_for(whole, 120, f"{count} files in {folder}")


def test_extension_saves_what_a_script_built_player_plays(app, http_server, tmp_path: Path
                                                          ) -> None:
    _, url, downloads = app
    first = make_tone(tmp_path / "one.mp3", seconds=2).read_bytes()
    second = make_tone(tmp_path / "two.mp3", seconds=3).read_bytes()
    http_server.add("/spa.html", SPA, content_type="text/html")
    http_server.add("/playlist.json", json.dumps([
        {"name": "Moonrise", "file": "/cdn/a1.mp3"},
        {"name": "Starfall", "file": "/cdn/b2.mp3"}]), content_type="application/json")
    http_server.add("/cdn/a1.mp3", first, content_type="audio/mpeg")
    http_server.add("/cdn/b2.mp3", second, content_type="audio/mpeg")
    page_url = http_server.url_for("/spa.html")
    # AudioFetch alone, from the HTML: nothing.
    alone = httpx.get(url + "/api/preview", params={"url": page_url}, timeout=60)
    assert alone.status_code == 422 and "No audio found" in alone.json()["detail"]
    assert alone.json()["detail"].endswith("AudioFetch's browser extension can send what it "
                                           "plays (see `audiofetch extension`).")

    with chromium_with_extension(tmp_path) as browser:
        browser.set_address(url)
        page = browser.page(page_url)
        page.wait_for_function("document.querySelectorAll('audio').length === 2")
        popup = browser.page(f"{browser.base}/popup.html?tab={browser.tab_id(page_url)}")
        tracks = popup.locator("#tracks li")
        tracks.first.wait_for()
        assert [t.strip() for t in tracks.all_inner_texts()] == ["Moonrise", "Starfall"]
        assert popup.locator("#title").inner_text() == "Night Radio"
        popup.locator("#save").click()
        popup.locator('#job-list li[data-state="done"]').wait_for(timeout=180_000)

    saved_files(downloads, 2)
    folder = downloads / "Night Radio"
    assert sorted(p.name for p in folder.glob("*.mp3")) == ["01 - Moonrise.mp3",
                                                           "02 - Starfall.mp3"]
    # Tagged (title, album, track) without re-encoding: the same audio, 2 s and 3 s.
    assert abs(decoded_seconds(folder / "01 - Moonrise.mp3") - 2) < 0.1
    assert abs(decoded_seconds(folder / "02 - Starfall.mp3") - 3) < 0.1
    assert not decode_errors(folder / "01 - Moonrise.mp3")
    assert tags(ffprobe(folder / "02 - Starfall.mp3"))["title"] == "Starfall"


def test_extension_adds_nothing_twice_to_what_detection_finds(app, http_server,
                                                              tmp_path: Path) -> None:
    _, url, _ = app
    tone = make_tone(tmp_path / "t.mp3", seconds=1).read_bytes()
    http_server.add("/plain.html", PLAIN, content_type="text/html")
    http_server.add("/media/opening.mp3", tone, content_type="audio/mpeg")
    http_server.add("/media/closing.mp3", tone, content_type="audio/mpeg")
    page_url = http_server.url_for("/plain.html")
    detected = httpx.get(url + "/api/preview", params={"url": page_url}, timeout=60).json()

    with chromium_with_extension(tmp_path) as browser:
        browser.set_address(url)
        page = browser.page(page_url)
        collected = page.evaluate(
            (Path(EXTENSION_DIR) / "collect.js").read_text() + "\naudiofetchCollect()")
        assert {m["url"] for m in collected["media"]} >= {t["url"] for t in detected["tracks"]}
        popup = browser.page(f"{browser.base}/popup.html?tab={browser.tab_id(page_url)}")
        popup.locator("#tracks li").first.wait_for()
        shown = [t.strip() for t in popup.locator("#tracks li").all_inner_texts()]
    merged = httpx.post(url + "/api/preview", timeout=60, json={
        "url": page_url, "kind": "page", "options": {"seen": collected["media"]}}).json()
    # The same two files in the same order, named from the headings the browser saw beside
    # the players (detection alone had no names for them).
    assert [t["url"] for t in merged["tracks"]] == [t["url"] for t in detected["tracks"]]
    assert len(detected["tracks"]) == 2
    assert shown == [t["title"] for t in merged["tracks"]] == ["Opening", "Closing"]


def test_on_a_space_page_the_extension_sends_the_space(app, module_x: FakeX,
                                                       tmp_path: Path) -> None:
    _, url, downloads = app
    module_x.add_space(FakeSpace("1ExtSpaceAbcd", title="Night Talk", host_name="Cy Host",
                                 chunks=4))
    with chromium_with_extension(tmp_path) as browser:
        browser.set_address(url)
        # x.com as the browser sees it: the Space's page (its player is X's own script).
        browser.context.route("https://x.com/**", lambda route: route.fulfill(
            status=200, content_type="text/html",
            body="<html><head><title>Night Talk / X</title></head><body></body></html>"))
        space_page = "https://x.com/i/spaces/1ExtSpaceAbcd?s=20"
        page = browser.page(space_page)
        collected = page.evaluate(
            (Path(EXTENSION_DIR) / "collect.js").read_text() + "\naudiofetchCollect()")
        assert collected["space"] == "https://x.com/i/spaces/1ExtSpaceAbcd"
        # The toolbar button reads the tab through activeTab, which only a real click grants;
        # the popup is opened here as the context menu opens it, with the link.
        popup = browser.page(f"{browser.base}/popup.html?link={collected['space']}")
        expect(popup.locator("#title")).to_have_text("Night Talk")
        assert "Cy Host" in popup.locator("#summary").inner_text()
        popup.locator("#save").click()
        popup.locator('#job-list li[data-state="done"]').wait_for(timeout=180_000)
    recording = wait_for(lambda: next(iter(downloads.glob("Cy Host - Night Talk*.m4a")), None),
                         60, "the Space's recording")
    assert abs(decoded_seconds(recording) - 4 * 3.008) < 0.5


def test_popup_says_how_to_start_the_app_when_it_is_not_running(http_server,
                                                                tmp_path: Path) -> None:
    require_browser()
    http_server.add("/plain.html", PLAIN, content_type="text/html")
    page_url = http_server.url_for("/plain.html")
    gone = f"http://127.0.0.1:{free_port()}"
    with chromium_with_extension(tmp_path) as browser:
        options = browser.page(f"{browser.base}/options.html")
        options.locator("#address").fill(gone)
        options.locator("#save").click()
        expect(options.locator("#status")).to_contain_text("not running")
        browser.page(page_url)
        popup = browser.page(f"{browser.base}/popup.html?tab={browser.tab_id(page_url)}")
        expect(popup.locator("#status")).to_have_class("error")
        assert popup.locator("#status").inner_text() == (
            f"AudioFetch is not running at {gone}: open AudioFetch (or run “audiofetch "
            "serve”), then try again.")


def test_websocket_sends_job_events_on_loopback(app, http_server, tmp_path: Path) -> None:
    from websockets.sync.client import connect

    _, url, _ = app
    tone = make_tone(tmp_path / "w.mp3", seconds=1).read_bytes()
    http_server.add("/w.mp3", tone, content_type="audio/mpeg")
    with connect(url.replace("http://", "ws://") + "/ws", open_timeout=30) as socket:
        started = httpx.post(url + "/api/download", timeout=30, json={
            "url": http_server.url_for("/w.mp3"), "kind": "direct"})
        job_id = started.json()["job_id"]
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["job"]["state"] not in ("done", "failed"):
            message = json.loads(socket.recv(timeout=60))
            if message["job"]["id"] == job_id:
                seen.append(message)
    assert seen[0]["type"] == "added" and seen[-1]["job"]["state"] == "done"
    status = httpx.get(f"{url}/api/status/{job_id}", timeout=30).json()
    assert set(seen[-1]["job"]) == set(status)


def test_extension_command_packs_a_zip_stores_and_firefox_take(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    for dest in (first, second):
        done = subprocess.run([sys.executable, "-m", "audiofetch_app", "extension", "--zip",
                               str(dest)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert first.read_bytes() == second.read_bytes()  # the same files make the same ZIP
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["manifest_version"] == 3
    assert manifest["browser_specific_settings"]["gecko"]["strict_min_version"] == "128.0"
    for name in ("background.js", "popup.html", "popup.js", "collect.js", "app.js",
                 "options.html", "icons/icon-128.png"):
        assert name in names
    shown = subprocess.run([sys.executable, "-m", "audiofetch_app", "extension"],
                           capture_output=True, text=True, timeout=120)
    assert shown.stdout.splitlines()[0] == str(EXTENSION_DIR) and "Load unpacked" in shown.stdout


def test_options_log_in_to_a_shared_app_and_keep_only_the_token(http_server,
                                                                tmp_path: Path) -> None:
    require_browser()
    password = "a shared kitchen secret"
    http_server.add("/plain.html", PLAIN, content_type="text/html")
    http_server.add("/media/opening.mp3", b"x", content_type="audio/mpeg")
    http_server.add("/media/closing.mp3", b"x", content_type="audio/mpeg")
    page_url = http_server.url_for("/plain.html")
    port = free_port()
    with AppProcess(["serve", "--host", "0.0.0.0", "--port", str(port)], tmp_path / "home",
                    tmp_path / "logs", env={"AUDIOFETCH_PASSWORD": password}) as lan:
        url = lan.wait_for_url(timeout=180)
        wait_for_http(url + "/login", timeout=120, alive=lan.check_alive)
        with chromium_with_extension(tmp_path) as browser:
            options = browser.page(f"{browser.base}/options.html")
            options.locator("#address").fill(url)
            options.locator("#save").click()
            expect(options.locator("#status")).to_contain_text("password")
            options.locator("#password").fill("not the password")
            options.locator("#login").click()
            expect(options.locator("#status")).to_contain_text("not correct")
            options.locator("#password").fill(password)
            options.locator("#login").click()
            expect(options.locator("#status")).to_have_text("Logged in.")
            kept = browser.worker.evaluate("chrome.storage.local.get(null)")
            assert set(kept) == {"address", "token"} and password not in json.dumps(kept)
            browser.page(page_url)
            popup = browser.page(f"{browser.base}/popup.html?tab={browser.tab_id(page_url)}")
            popup.locator("#tracks li").first.wait_for()
            assert popup.locator("#tracks li").count() == 2
