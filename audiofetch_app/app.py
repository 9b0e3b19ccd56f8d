"""The program's start-up, and the only module that knows every face.

`main` reads the command line: the window commands (`gui`, the default, and `serve`) start
here, everything else runs in the CLI face. Starting the app opens the runtime (store,
settings, vault, jobs, sources), takes the instance lock, prepares LAN mode, and mounts the
NiceGUI pages (`ui`) and the REST app (`web`) side by side on one server.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import json
import logging
import multiprocessing
import os
import secrets
import socket
import sys
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from audiofetch_app import APP_NAME
from audiofetch_app import settings as settings_mod
from audiofetch_app.core import address_guard

if TYPE_CHECKING:
    from audiofetch_app.core.instance import InstanceLock
    from audiofetch_app.core.store import DamagedStore

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
FOCUS_PATH = "/_audiofetch/focus"


GRACEFUL_SHUTDOWN = 3  # seconds open connections get to finish when the app closes


def main(argv: Sequence[str] | None = None) -> int:
    """`audiofetch [COMMAND ...]`: the exit code (0 only on success)."""
    # A frozen app's window process re-enters here and must stop at once.
    multiprocessing.freeze_support()
    from audiofetch_app import cli

    args = cli.build_parser().parse_args(argv)
    command = args.command or "gui"
    try:
        if command == "gui":
            return run("gui")
        if command == "serve":
            return run("serve", host=args.host, port=args.port,
                       password_file=args.password_file, trusted_proxies=args.trusted_proxy,
                       allow_networks=args.allow_network)
    except KeyboardInterrupt:  # Ctrl-C: the server has shut down; nothing more to say
        return 130
    if command == "bot":
        from audiofetch_app.bot.headless import run_headless

        return run_headless(args)
    return cli.run(args)


def native_available() -> bool:
    """pywebview and a GUI backend are installed and there is a screen to draw on."""
    if importlib.util.find_spec("webview") is None:
        return False
    if sys.platform.startswith("linux"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return False
        if importlib.util.find_spec("qtpy") is None or importlib.util.find_spec(
                "PySide6") is None:
            return False
    return True


def free_port(host: str, preferred: int) -> int:
    """`preferred` if nobody listens there, else any free port."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            if os.name != "nt":  # as uvicorn binds: a port whose old connections are still
                # closing (TIME_WAIT) is free; on Windows the option would allow a real clash
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise OSError(f"No free port on {host}.")


def reach_running(info: dict, mode: str) -> bool:
    """Bring the running app forward (or open it in the browser); True when it answered."""
    url = info.get("url")
    if not url:
        return False
    try:
        response = httpx.post(f"{url}{FOCUS_PATH}", timeout=3,
                              headers={"x-audiofetch-token": str(info.get("token", ""))})
        focused = response.status_code == 200 and response.json().get("focused")
    except (httpx.HTTPError, ValueError):
        return False
    if mode == "gui" and not focused:
        webbrowser.open(url)
    return True


def run(mode: str, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
        password_file: Path | None = None, trusted_proxies: Sequence[str] = (),
        allow_networks: Sequence[str] = ()) -> int:
    """Serve the app until the window closes or the process is stopped."""
    from audiofetch_app.sources.runtime import AlreadyRunning, acquire_instance, local_token
    from audiofetch_app.web.lan.origin import trusted_proxies as parse_proxies
    from audiofetch_app.web.server import LanRefused, prepare_lan

    try:
        proxies = parse_proxies(trusted_proxies)
        networks = address_guard.parse_networks(allow_networks)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    lan = host not in LOOPBACK
    # NiceGUI reads this when it is imported: keep its files in our data folder.
    os.environ.setdefault("NICEGUI_STORAGE_PATH", str(settings_mod.data_dir() / "nicegui"))
    try:
        lock = acquire_instance()
    except AlreadyRunning as exc:
        if lan and exc.info.get("url") and not exc.info.get("shared"):
            print(f"{APP_NAME} is already running at {exc.info['url']} for this computer only, "
                  "so nothing was shared: close it (its window or its `serve`) and run this "
                  "command again to share it on the network.", file=sys.stderr)
            return 1
        if reach_running(exc.info, mode):
            print(f"{APP_NAME} is already running at {exc.info['url']}")
            return 0
        print(str(exc), file=sys.stderr)
        return 1
    damage = _database_damage()
    if damage is not None:
        return _recover(lock, damage, host, port, gui=mode == "gui")
    if lan:
        try:
            prepare_lan(password_file)
        except LanRefused as exc:
            lock.release()
            print(str(exc), file=sys.stderr)
            return 2
    native = mode == "gui" and native_available()
    port = free_port(host, port)
    shown = "127.0.0.1" if host in ("localhost", "0.0.0.0", "::") else host
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    token = secrets.token_urlsafe(16)
    # The command line finds this app by `url` and shows it the local token (kept in the data
    # folder, mode 0600) to run its commands here; `shared` tells a second `serve --host`.
    cli_token = local_token()
    lock.publish(url=url, token=token, pid=os.getpid(), shared=lan, command=None)
    return _serve(lock, host, port, url, token, native=native, show=mode == "gui", lan=lan,
                  trusted_proxies=proxies, allowed_networks=networks, local_token=cli_token)


def _database_damage() -> DamagedStore | None:
    """Open the database once before anything else does: damage is found here, whole."""
    from audiofetch_app.core.store import DamagedStore, Store

    try:
        Store(settings_mod.db_path()).close()
    except DamagedStore as exc:
        return exc
    return None


def _recover(lock: InstanceLock, damage: DamagedStore, host: str, port: int, *,
             gui: bool) -> int:
    """Say what is damaged and how to restore it; in the window, offer the restore there.
    Exits 1: AudioFetch did not start."""
    from audiofetch_app.cli.common import restore_advice

    print(str(damage), file=sys.stderr)
    print(restore_advice(damage), file=sys.stderr)
    try:
        if gui and (native_available() or webbrowser_available()):
            from nicegui import ui

            from audiofetch_app.ui import recovery

            native = native_available()
            ui.run(lambda: recovery.build(damage), host=host, port=free_port(host, port),
                   title=APP_NAME, native=native, reload=False, show=not native,
                   show_welcome_message=False, favicon="🎧", window_size=(720, 360)
                   if native else None, uvicorn_logging_level="warning")
    finally:
        lock.release()
    return 1


def webbrowser_available() -> bool:
    """A browser can be opened for the user (there is a screen, or it is not Linux)."""
    return not sys.platform.startswith("linux") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def lan_addresses() -> list[str]:
    """This computer's addresses other devices can reach (best effort, no network traffic)."""
    found: list[str] = []
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            address = info[4][0]
            if not address.startswith("127.") and address not in found:
                found.append(address)
    return found


def _serve(lock, host: str, port: int, url: str, token: str, *, native: bool,
           show: bool, lan: bool = False, trusted_proxies: Sequence[str] = (),
           allowed_networks: Sequence[address_guard.IPNetwork] = (),
           local_token: str | None = None) -> int:
    import nicegui
    from fastapi import Request
    from nicegui import app, ui

    from audiofetch_app.bot.runner import BotRunner
    from audiofetch_app.sources.runtime import open_runtime
    from audiofetch_app.ui import bot_settings, native_window, shell, state
    from audiofetch_app.web import server
    from audiofetch_app.web.lan.access import LanAccess

    state.native_mode = native
    state.lan_mode = lan
    lans: list[LanAccess] = []  # one, made when the runtime opens
    bots: list[BotRunner] = []  # one, made when the runtime opens

    async def startup() -> None:
        runtime = await open_runtime(lock=lock)
        runtime.jobs.allowed_networks = list(allowed_networks)
        lans.append(LanAccess(runtime.store, runtime.settings))
        state.set_lan(lans[0])
        state.set_runtime(runtime)
        # Sweeps expired logins and runs scheduled syncs while the app is open;
        # Runtime.close() stops both.
        await runtime.telegram.start(schedule=True)
        # The Telegram bot runs while the app is open when Settings → Telegram bot says on.
        bots.append(BotRunner(runtime))
        bot_settings.status_of = lambda: bots[0].status
        await bots[0].start()
        # What exists now lives as long as the app: keep it out of the garbage collector's
        # full passes, which otherwise stall every request for 100 ms or more under load.
        gc.collect()
        gc.freeze()
        log.debug("%s is running at %s", APP_NAME, url)  # the console already has it
        log.debug("Routes: %s", json.dumps(server.describe_routes(app)))

    async def shutdown() -> None:
        runtime = state.runtime()
        if bots:
            await bots.pop().close()
        state.set_runtime(None)
        state.set_lan(None)
        await runtime.close()

    app.on_startup(startup)
    app.on_shutdown(shutdown)
    server.install(app, state.runtime, lambda: lans[0], lan=lan,
                   static_prefix=f"/_nicegui/{nicegui.__version__}/static/",
                   cors_origins=_saved_settings().cors_list(), trusted_proxies=trusted_proxies,
                   local_token=local_token)

    @app.post(FOCUS_PATH, include_in_schema=False)
    def focus(request: Request) -> dict:
        if not secrets.compare_digest(request.headers.get("x-audiofetch-token", ""), token):
            return {"focused": False}
        window = app.native.main_window if native and not native_window.failed() else None
        if window is None:
            return {"focused": False}
        with contextlib.suppress(Exception):  # the window may be closing
            window.restore()
            window.show()
        return {"focused": True}

    if native:
        os.environ.setdefault("QT_API", "pyside6")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
        if sys.platform.startswith("linux"):
            app.native.start_args["gui"] = "qt"
        # The window's web engine talks to its own log; if the window cannot open, the
        # browser shows the app instead.
        native_window.install(url, settings_mod.log_dir(),
                              say=lambda text: print(text, file=sys.stderr, flush=True))
    print(f"{APP_NAME} is running at {url}", flush=True)
    if lan:
        others = ", ".join(f"http://{a}:{port}" for a in lan_addresses()) or "this computer's "\
            "address"
        print(f"Shared on the network with a password: {others}", flush=True)
    try:
        ui.run(shell.build, host=host, port=port, title=APP_NAME, native=native,
               reload=False, show=show and not native, dark=None, show_welcome_message=False,
               window_size=(1100, 780) if native else None, uvicorn_logging_level="warning",
               favicon="🎧", storage_secret=server.storage_secret(),
               # uvicorn believes X-Forwarded-For/-Proto from 127.0.0.1 unless told otherwise:
               # only a proxy named with --trusted-proxy may say who the client is.
               proxy_headers=bool(trusted_proxies),
               forwarded_allow_ips=list(trusted_proxies) or None,
               # Event streams (/api/events, /ws, a CLI following a job) stay open for as
               # long as their job runs: without a limit, closing the app would wait for them.
               timeout_graceful_shutdown=GRACEFUL_SHUTDOWN)
    finally:
        lock.release()
    return 0


def _saved_settings() -> settings_mod.Settings:
    """Settings read before the runtime opens (the server's CORS origins are fixed at start)."""
    from audiofetch_app.core.store import Store

    store = Store(settings_mod.db_path())
    try:
        return settings_mod.SettingsService(store).get()
    finally:
        store.close()
