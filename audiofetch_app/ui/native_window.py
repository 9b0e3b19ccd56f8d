"""The native window's process, started the way NiceGUI's native mode starts it, with two
differences: what the window's web engine prints (Qt, Vulkan, D-Bus) goes to a log file, not
to the terminal; and when the window cannot open, the app opens in the browser and keeps
serving instead of quietly stopping.

`install` replaces `nicegui.native.activate`, which `ui.run(native=True)` calls.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing as mp
import os
import sys
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOG_NAME = "window.log"
_failed = threading.Event()


def failed() -> bool:
    """True once the native window could not open (the app is then in the browser)."""
    return _failed.is_set()


def install(url: str, log_dir: Path, say: Callable[[str], None]) -> None:
    """Start NiceGUI's window through `activate`; `say` prints one sentence to the user."""
    import nicegui.native as native_package

    def activate(protocol: str, host: str, port: int, title: str, width: int, height: int,
                 fullscreen: bool, frameless: bool, shutdown_event: Any = None,
                 favicon: str | Path | None = None) -> None:
        _activate((protocol, host, port, title, width, height, fullscreen, frameless),
                  shutdown_event, favicon, url=url, log_path=log_dir / LOG_NAME, say=say)

    native_package.activate = activate


def _activate(window: tuple, shutdown_event: Any, favicon: str | Path | None, *, url: str,
              log_path: Path, say: Callable[[str], None]) -> None:
    """nicegui.native.native_mode.activate, with the window's output logged and its failure
    answered by the browser."""
    from nicegui import core
    from nicegui.native import native, native_mode
    from nicegui.native.event_manager import event_manager

    mp.freeze_support()
    native.create_queues()
    event_manager.start()
    config = core.app.native
    window_args, dropped_window = native_mode._split_picklable(config.window_args)
    settings, dropped_settings = native_mode._split_picklable(config.settings)
    start_args, dropped_start = native_mode._split_picklable(config.start_args)
    dropped = {"window_args": dropped_window, "settings": dropped_settings,
               "start_args": dropped_start}
    args = (*window, native.method_queue, native.response_queue, native.event_sender,
            favicon, window_args, settings, start_args, dropped)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    process = native.SPAWN_CONTEXT.Process(target=window_process, args=(str(log_path), *args),
                                           daemon=True)
    process.start()
    threading.Thread(target=_watch, args=(process, shutdown_event, url, log_path, say),
                     name="window-watch", daemon=True).start()


def window_process(log_path: str, *args: Any) -> None:
    """The window's process: its standard output and error go to `log_path`."""
    with contextlib.suppress(OSError):
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    from nicegui.native import native_mode

    native_mode._open_window(*args)


def _watch(process: Any, shutdown_event: Any, url: str, log_path: Path,
           say: Callable[[str], None]) -> None:
    process.join()
    if process.exitcode == 0:  # the window was closed: the app ends with it
        from nicegui import core

        if shutdown_event is not None:
            shutdown_event.set()
        core.stop_and_exit()
        return
    from audiofetch_app.ui import state

    _failed.set()
    state.native_mode = False  # pages drawn from now on are in a browser
    log.debug("The window process ended with code %s; its output:\n%s", process.exitcode,
                _tail(log_path))
    if _open_browser(url):
        say(f"The AudioFetch window could not open (details in {log_path}), so AudioFetch "
            f"opened in your browser at {url} instead.")
        return
    say(f"The AudioFetch window could not open (details in {log_path}) and no browser "
        "could be started, so AudioFetch stopped.")
    _stop(1)


def _open_browser(url: str) -> bool:
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


def _stop(code: int) -> None:
    """nicegui.core.stop_and_exit with another exit code: the app's shutdown runs, then exit."""
    import asyncio

    from nicegui import core, run

    loop = core.loop
    if loop is not None and loop.is_running() and not core.app.is_stopped:
        try:
            asyncio.run_coroutine_threadsafe(core.app.stop(), loop).result(timeout=30)
        except Exception:
            log.exception("The app did not stop cleanly")
    run.tear_down()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
