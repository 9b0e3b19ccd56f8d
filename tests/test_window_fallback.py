"""When the native window cannot open, `audiofetch` says so in one sentence, opens the browser
on the app and keeps serving; it stops (non-zero) only when no browser can be started either.

Qt is made to fail as on a desktop without its platform plugin (QT_QPA_PLATFORM names one that
does not exist); the "browser" is a script named by $BROWSER (Python's webbrowser honours it)
that records the address it was asked to open.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from tests.desktop import (
    AppProcess,
    missing_programs,
    require,
    unimportable,
    wait_for,
    wait_for_http,
    xvfb,
)

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="the window tests drive Xvfb, which is Linux-only"),
    pytest.mark.timeout(300),
]


def _require_window_parts() -> None:
    require(unimportable("webview", "qtpy", "PySide6.QtWidgets", env={"QT_API": "pyside6"}),
            "the window fallback test needs the [native] extra (pywebview, qtpy, PySide6)")
    require(missing_programs("Xvfb"), "the window fallback test needs Debian's xvfb")


def _browser(folder: Path, exit_code: int) -> tuple[Path, Path]:
    """A $BROWSER script that writes the address it is given to a file; (script, file)."""
    folder.mkdir(parents=True, exist_ok=True)
    opened = folder / "opened.txt"
    script = folder / "browser"
    script.write_text(f'#!/bin/sh\necho "$1" >> "{opened}"\nexit {exit_code}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, opened


def _broken_qt(display_env: dict[str, str], browser: Path) -> dict[str, str]:
    return {**display_env, "QT_API": "pyside6", "QT_QPA_PLATFORM": "nonexistent",
            "BROWSER": str(browser)}


def test_a_window_that_cannot_open_falls_back_to_the_browser(tmp_path: Path) -> None:
    _require_window_parts()
    browser, opened = _browser(tmp_path / "bin", 0)
    home = tmp_path / "home"
    with xvfb() as display, AppProcess([], home, tmp_path / "logs",
                                       env=_broken_qt(display.env(), browser)) as app:
        url = app.wait_for_url(timeout=180)
        seen = wait_for(lambda: opened.exists() and opened.read_text().split(), 120,
                        "the browser to be asked to open the app", on_timeout=app.output)
        assert seen == [url]
        said = wait_for(lambda: app.stderr_path.read_text().strip().splitlines(), 30,
                        "the sentence about the window", on_timeout=app.output)
        assert said == [f"The AudioFetch window could not open (details in "
                        f"{home / 'logs' / 'window.log'}), so AudioFetch opened in your "
                        f"browser at {url} instead."], app.output()
        # Still serving, and Qt's complaints are in the window's log, not on the terminal.
        wait_for_http(url + "/", timeout=60, alive=app.check_alive)
        app.check_alive()
        assert "platform plugin" in (home / "logs" / "window.log").read_text()
        assert "qt.qpa" not in app.output()


def test_no_window_and_no_browser_stops_with_a_sentence(tmp_path: Path) -> None:
    _require_window_parts()
    browser, opened = _browser(tmp_path / "bin", 1)
    # Only the failing script on PATH: webbrowser finds no other browser to try.
    env = {**_broken_qt({}, browser), "PATH": str(browser.parent)}
    with xvfb() as display, AppProcess([], tmp_path / "home", tmp_path / "logs",
                                       env={**env, **display.env()}) as app:
        url = app.wait_for_url(timeout=180)
        code = wait_for(lambda: app.process.poll(), 180, "the app to stop",
                        on_timeout=app.output)
        assert code == 1, app.output()
        assert opened.read_text().split() == [url]
        lines = app.stderr_path.read_text().strip().splitlines()
        assert lines[-1].startswith("The AudioFetch window could not open (details in "), lines
        assert lines[-1].endswith("and no browser could be started, so AudioFetch stopped.")
