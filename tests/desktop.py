"""Helpers for tests that run the real app: a virtual X display, screenshots, app processes.

Nothing here sleeps for a fixed time: every wait polls a condition until a deadline, so the
tests stay reliable on a slow two-core machine without a display.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")

# CI sets this so that a missing piece fails the run instead of quietly skipping a test.
REQUIRE_ENV = "AUDIOFETCH_REQUIRE_DESKTOP_TESTS"
URL_LINE = re.compile(r"AudioFetch is running at (http://\S+)")
ROOT = Path(__file__).resolve().parent.parent


def require(missing: Sequence[str], why: str) -> None:
    """Skip (or fail, under CI) when something this test needs is missing."""
    if not missing:
        return
    reason = f"{why}: missing {', '.join(missing)}"
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set, so this must run)", pytrace=False)
    pytest.skip(reason)


def missing_modules(*names: str) -> list[str]:
    """The Python modules among `names` that cannot be imported (checked without importing)."""
    missing = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(f"python module {name}")
    return missing


def unimportable(*names: str, env: dict[str, str] | None = None) -> list[str]:
    """The modules among `names` that fail to import in a fresh interpreter (binary modules
    such as PySide6's can be found on disk yet miss their shared libraries)."""
    missing = missing_modules(*names)
    present = [name for name in names if f"python module {name}" not in missing]
    if present:
        check = ("import importlib, sys\n"
                 "for name in sys.argv[1:]:\n"
                 "    try:\n"
                 "        importlib.import_module(name)\n"
                 "    except Exception as exc:\n"
                 "        print(f'python module {name} ({type(exc).__name__}: {exc})')\n")
        result = subprocess.run([sys.executable, "-c", check, *present],
                                env={**app_environment(), **(env or {})}, capture_output=True,
                                text=True, timeout=120)
        missing += [line for line in result.stdout.splitlines() if line.strip()]
        if result.returncode != 0:
            missing.append(f"import check ({result.stderr.strip()[-300:]})")
    return missing


def missing_programs(*names: str) -> list[str]:
    return [f"program {name}" for name in names if shutil.which(name) is None]


def wait_for(condition: Callable[[], T | None], timeout: float, what: str,
             interval: float = 0.25, on_timeout: Callable[[], str] | None = None) -> T:
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = on_timeout() if on_timeout else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}"
                                 + (f"\n{detail}" if detail else ""))
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_ok(url: str) -> bool:
    """True when `url` answers with a 2xx/3xx status."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return 200 <= response.status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_for_http(url: str, timeout: float = 90.0, alive: Callable[[], None] | None = None
                  ) -> None:
    """Wait until `url` answers; `alive` may raise early if the server process died."""
    def ready() -> bool:
        if alive:
            alive()
        return http_ok(url)
    wait_for(ready, timeout, f"{url} to answer")


# -- the virtual display --------------------------------------------------------------------

@dataclass
class Display:
    name: str  # ":N"
    width: int
    height: int
    process: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        return {"DISPLAY": self.name}


@contextlib.contextmanager
def xvfb(width: int = 1280, height: int = 800) -> Iterator[Display]:
    """Run Xvfb on a display number it picks itself; stop it afterwards."""
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
         "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    os.close(write_fd)
    try:
        number = _read_display_number(read_fd, process, timeout=30.0)
        # Xvfb announces the number only once it accepts clients.
        yield Display(f":{number}", width, height, process)
    finally:
        os.close(read_fd)
        stop_process(process)


def _read_display_number(fd: int, process: subprocess.Popen[bytes], timeout: float) -> str:
    os.set_blocking(fd, False)
    data = b""

    def number() -> str | None:  # a string: display 0 must not read as "not yet"
        nonlocal data
        with contextlib.suppress(BlockingIOError):
            data += os.read(fd, 64)
        if data.endswith(b"\n"):
            return str(int(data.strip()))
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise AssertionError(f"Xvfb exited with {process.returncode}: {err}")
        return None

    return wait_for(number, timeout, "Xvfb to start", interval=0.05)


@dataclass
class WindowGeometry:
    window_id: int
    x: int
    y: int
    width: int
    height: int


def find_window(display: Display, name: str) -> WindowGeometry | None:
    """The first visible top-level window whose title matches `name` (xdotool), if any."""
    env = {**os.environ, **display.env()}
    try:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", name],
                               env=env, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return None
    for window_id in found.stdout.split():
        try:
            geometry = subprocess.run(["xdotool", "getwindowgeometry", "--shell", window_id],
                                      env=env, capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            continue
        values = dict(line.split("=", 1) for line in geometry.stdout.split() if "=" in line)
        try:
            box = WindowGeometry(int(window_id), int(values["X"]), int(values["Y"]),
                                 int(values["WIDTH"]), int(values["HEIGHT"]))
        except (KeyError, ValueError):
            continue
        if box.width > 100 and box.height > 100:  # not a helper/tooltip window
            return box
    return None


def screenshot(display: Display, path: Path) -> Path:
    """Save the whole virtual screen as a PNG (ImageMagick's `import`)."""
    tmp = path.with_name(path.stem + ".tmp.png")
    subprocess.run(["import", "-display", display.name, "-window", "root", str(tmp)],
                   env={**os.environ, **display.env()}, check=True, capture_output=True,
                   timeout=60)
    tmp.replace(path)
    return path


def count_pixels_near(image_path: Path, rgb: tuple[int, int, int], tolerance: int = 24,
                      box: tuple[int, int, int, int] | None = None) -> int:
    """How many pixels (inside `box` = left, top, right, bottom) are within `tolerance` of rgb."""
    from PIL import Image

    with Image.open(image_path) as raw:
        image = raw.convert("RGB")
        if box:
            image = image.crop(box)
        red, green, blue = (band.point(lambda v, c=c: 255 if abs(v - c) <= tolerance else 0)
                            for band, c in zip(image.split(), rgb, strict=True))
        from PIL import ImageChops

        match = ImageChops.multiply(ImageChops.multiply(red, green), blue)
        return match.histogram()[255]


def distinct_colours(image_path: Path, box: tuple[int, int, int, int] | None = None) -> int:
    """Number of distinct colours in the image (or the box): 1 means a blank area."""
    from PIL import Image

    with Image.open(image_path) as raw:
        image = raw.convert("RGB")
        if box:
            image = image.crop(box)
        colours = image.getcolors(maxcolors=1 << 20)
        return len(colours) if colours is not None else 1 << 20


# -- the app as a process -------------------------------------------------------------------

def app_environment() -> dict[str, str]:
    """This process's environment minus what pytest and NiceGUI's test plugins put there:
    NiceGUI switches to its test mode when it sees PYTEST_CURRENT_TEST."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith(("PYTEST_", "NICEGUI_"))}


class AppProcess:
    """`python -m audiofetch_app ARGS` in its own session, output captured to files."""

    def __init__(self, args: Sequence[str], home: Path, logs: Path,
                 env: dict[str, str] | None = None) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.stdout_path = logs / "app.stdout.txt"
        self.stderr_path = logs / "app.stderr.txt"
        self._stdout = self.stdout_path.open("wb")
        self._stderr = self.stderr_path.open("wb")
        full_env = {**app_environment(), "AUDIOFETCH_HOME": str(home),
                    "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "audiofetch_app", *args], cwd=ROOT, env=full_env,
            stdin=subprocess.DEVNULL, stdout=self._stdout, stderr=self._stderr,
            start_new_session=True,
        )

    def output(self) -> str:
        out = self.stdout_path.read_text(errors="replace")
        err = self.stderr_path.read_text(errors="replace")
        return f"--- app stdout ---\n{out[-4000:]}\n--- app stderr ---\n{err[-6000:]}"

    def check_alive(self) -> None:
        """Raise with the app's output if it has exited."""
        if self.process.poll() is not None:
            raise AssertionError(
                f"the app exited early with code {self.process.returncode}\n{self.output()}")

    def wait_for_url(self, timeout: float = 120.0) -> str:
        """The URL from the app's 'AudioFetch is running at URL' line."""
        def url() -> str | None:
            match = URL_LINE.search(self.stdout_path.read_text(errors="replace"))
            if match:
                return match.group(1).rstrip("/")
            self.check_alive()
            return None
        return wait_for(url, timeout, "the app to print its URL", on_timeout=self.output)

    def stop(self) -> None:
        stop_process(self.process)
        self._stdout.close()
        self._stderr.close()

    def __enter__(self) -> AppProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_process(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the session `process` leads (it was started with start_new_session), then
    SIGKILL whatever is left of it after `grace` seconds. Safe to call twice."""
    # Children (NiceGUI's window process, QtWebEngine helpers) may outlive the leader, so
    # signal the whole process group, whose id is the leader's pid.
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait(timeout=grace)


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


# -- the built executable (tests/test_build.py) ---------------------------------------------

class BuiltAppProcess(AppProcess):
    """The built executable (`dist/AudioFetch/AudioFetch ARGS`) started like AppProcess, in
    the working folder `cwd`; `started` is time.monotonic() just before the process began.

    `no_stdio`: start it with standard output and error closed, so that Python sets
    sys.stdout and sys.stderr to None, as in a windowed build on Windows or macOS."""

    def __init__(self, executable: Path, args: Sequence[str], home: Path, logs: Path,
                 cwd: Path, env: dict[str, str] | None = None, no_stdio: bool = False) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.stdout_path = logs / "app.stdout.txt"
        self.stderr_path = logs / "app.stderr.txt"
        self._stdout = self.stdout_path.open("wb")
        self._stderr = self.stderr_path.open("wb")
        full_env = {**app_environment(), "AUDIOFETCH_HOME": str(home), **(env or {})}

        def close_stdio() -> None:
            os.close(1)
            os.close(2)

        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [str(executable), *args], cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
            stdout=self._stdout, stderr=self._stderr, start_new_session=True,
            preexec_fn=close_stdio if no_stdio else None,
        )

    def __enter__(self) -> BuiltAppProcess:
        return self


def process_group(group: int) -> list[int]:
    """The live processes in process group `group` (Linux: read from /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "(command name)": state ppid pgrp
        if len(fields) > 2 and int(fields[2]) == group and fields[0] != "Z":
            members.append(int(entry.name))
    return sorted(members)


def listening_tcp_ports(pids: Sequence[int]) -> list[int]:
    """The port of every listening TCP socket that one of `pids` holds, once per socket
    (Linux: matches the processes' socket inodes against /proc/net/tcp and tcp6)."""
    inodes: set[str] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[len("socket:["):-1])
    ports: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if len(parts) > 9 and parts[3] == "0A" and parts[9] in inodes:  # 0A: LISTEN
                    ports[parts[9]] = int(parts[1].rsplit(":", 1)[1], 16)
    return sorted(ports.values())


def close_window(display: Display, window_id: int) -> None:
    """Ask a window to close as a window manager's close button does (WM_DELETE_WINDOW),
    through libX11: there is no window manager on Xvfb, and xdotool only destroys windows."""
    import ctypes
    import ctypes.util

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong),
                    ("send_event", ctypes.c_int), ("display", ctypes.c_void_p),
                    ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]

    class XEvent(ctypes.Union):
        _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]

    xlib = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XInternAtom.restype = ctypes.c_ulong
    xlib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    xlib.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                                ctypes.POINTER(XEvent)]
    xlib.XFlush.argtypes = xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    connection = xlib.XOpenDisplay(display.name.encode())
    if not connection:
        raise AssertionError(f"cannot open X display {display.name}")
    try:
        event = XEvent()
        event.xclient.type = 33  # ClientMessage
        event.xclient.window = window_id
        event.xclient.message_type = xlib.XInternAtom(connection, b"WM_PROTOCOLS", 0)
        event.xclient.format = 32
        event.xclient.data[0] = xlib.XInternAtom(connection, b"WM_DELETE_WINDOW", 0)
        event.xclient.data[1] = 0  # CurrentTime
        xlib.XSendEvent(connection, window_id, 0, 0, ctypes.byref(event))
        xlib.XFlush(connection)
    finally:
        xlib.XCloseDisplay(connection)


async def until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Wait on the running event loop until `predicate()` is true (checked every 20 ms)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
