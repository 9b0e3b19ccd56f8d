"""The real native window: `audiofetch` under Xvfb shows a painted AudioFetch window.

Linux runs the window with pywebview's Qt backend on PySide6 (QtWebEngine). The test finds
the window by its title, checks it belongs to the app's processes (not a browser it fell back
to), and that its pixels show the app's header colour, i.e. the page really rendered.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.desktop import (
    AppProcess,
    WindowGeometry,
    count_pixels_near,
    distinct_colours,
    find_window,
    missing_programs,
    require,
    screenshot,
    unimportable,
    wait_for,
    xvfb,
)

PRIMARY = (0x1F, 0x6F, 0xEB)  # #1f6feb, the Quasar primary colour the header is painted with
TITLE = "^AudioFetch$"  # exact: a browser fallback would be "AudioFetch - Chromium"

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="the native window test drives Xvfb, which is Linux-only"),
    pytest.mark.timeout(600),
]


def _window_pid(display_env: dict[str, str], window: WindowGeometry) -> int | None:
    found = subprocess.run(["xdotool", "getwindowpid", str(window.window_id)],
                           env={**os.environ, **display_env}, capture_output=True, text=True,
                           timeout=30)
    return int(found.stdout) if found.returncode == 0 and found.stdout.strip() else None


def test_native_window_shows_the_app(tmp_path: Path) -> None:
    require(unimportable("webview", "qtpy", "PySide6.QtWebEngineWidgets", "PIL",
                         env={"QT_API": "pyside6"}),
            "the native window needs the [native] extra (pywebview, qtpy, PySide6 with "
            "WebEngine) and Pillow")
    require(missing_programs("Xvfb", "xdotool", "import"),
            "the native window test needs Debian's xvfb, xdotool and imagemagick")

    home = tmp_path / "home"
    shot = tmp_path / "native-window.png"
    env = {
        "QT_API": "pyside6",
        "QT_QPA_PLATFORM": "xcb",  # the Xvfb display, even if the desktop runs Wayland
        # Only the Qt backend exists here; a browser fallback must not open a real browser.
        "BROWSER": "true",
    }
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"  # Chromium refuses root otherwise

    with xvfb(1600, 1000) as display, AppProcess([], home, tmp_path / "logs",
                                       env={**env, **display.env()}) as app:
        app.wait_for_url(timeout=180)

        def window() -> WindowGeometry | None:
            app.check_alive()
            return find_window(display, TITLE)

        box = wait_for(window, 180, "a visible window titled AudioFetch", interval=0.5,
                       on_timeout=app.output)
        owner = _window_pid(display.env(), box)
        if owner is not None:  # Qt sets _NET_WM_PID; the window process is the app's child
            assert os.getpgid(owner) == app.process.pid, (
                f"the AudioFetch window belongs to process {owner}, not to the app")

        # The window maps before the page inside it has painted: poll the screen until the
        # header colour shows up in the window's area.
        area = (max(box.x, 0), max(box.y, 0), min(box.x + box.width, display.width),
                min(box.y + box.height, display.height))
        # A header bar covers far more than 2% of the window.
        wanted = max(2000, (area[2] - area[0]) * (area[3] - area[1]) // 50)

        def painted() -> int | None:
            app.check_alive()
            screenshot(display, shot)
            found = count_pixels_near(shot, PRIMARY, box=area)
            return found if found >= wanted else None

        found = wait_for(painted, 120, f"{wanted}+ header-coloured pixels in the window",
                         interval=1.0, on_timeout=lambda: f"screenshot: {shot}\n{app.output()}")
        assert distinct_colours(shot, area) > 20, "the window shows a flat colour, not the app"
        assert found >= wanted
        assert shot.stat().st_size > 0
