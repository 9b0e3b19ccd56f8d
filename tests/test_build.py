"""The double-click executable: build.spec builds it, and the built program alone works.

Built once per session into a temp folder, then copied to another folder (the bundle must
not depend on where it was built, and FFmpeg must stay executable), the program is run from
an empty working folder with a PATH that holds only a decoy `ffmpeg`: it prints its version,
serves HTTP, downloads a direct link and an HLS playlist with its own FFmpeg, and opens its
native window under Xvfb, also when started without stdout and stderr as windowed builds
are. The one-file variant is built and run too. `pytest -m build` runs only these tests,
`-m "not build"` leaves them out. Set AUDIOFETCH_TEST_DIST to a built dist/AudioFetch folder
to test that instead of building.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from audiofetch_app import __version__
from tests.desktop import (
    ROOT,
    URL_LINE,
    BuiltAppProcess,
    WindowGeometry,
    app_environment,
    close_window,
    count_pixels_near,
    distinct_colours,
    find_window,
    free_port,
    listening_tcp_ports,
    missing_modules,
    missing_programs,
    process_group,
    require,
    screenshot,
    wait_for,
    wait_for_http,
    xvfb,
)

pytestmark = [
    pytest.mark.build,
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="the build smoke test runs where CI does: Linux, with Xvfb"),
    # The first test also pays for the build (a minute or two on two cores).
    pytest.mark.timeout(1500),
]

APP = "AudioFetch"
PRIMARY = (0x1F, 0x6F, 0xEB)  # #1f6feb, the header colour
HLS_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}
# What must never be bundled: test tools, and what only they pull in.
NOT_BUNDLED = ("pytest", "_pytest", "hypothesis", "moto", "playwright", "boto3", "IPython",
               "numpy", "PIL", "tkinter", "docutils", "PyQt5", "PyQt6", "PySide2")
DIST_ENV = "AUDIOFETCH_TEST_DIST"


@dataclass
class Bundle:
    folder: Path  # the copied dist/AudioFetch
    exe: Path
    workpath: Path | None  # PyInstaller's cache, reused by the one-file build


def _pyinstaller(workdir: Path, distpath: Path, workpath: Path, *spec_args: str) -> None:
    log = workdir / ("pyinstaller-onefile.log" if spec_args else "pyinstaller.log")
    command = [sys.executable, "-m", "PyInstaller", "build.spec", "--noconfirm",
               "--distpath", str(distpath), "--workpath", str(workpath)]
    if spec_args:
        command += ["--", *spec_args]
    with log.open("wb") as out:
        result = subprocess.run(command, cwd=ROOT, env=app_environment(), stdout=out,
                                stderr=subprocess.STDOUT, timeout=1200)
    assert result.returncode == 0, (f"pyinstaller failed ({result.returncode}):\n"
                                    + log.read_text(errors="replace")[-6000:])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """dist/AudioFetch, built from build.spec and copied to a fresh folder."""
    prebuilt = os.environ.get(DIST_ENV)
    workdir = tmp_path_factory.mktemp("build")
    workpath = None
    if prebuilt:
        source = Path(prebuilt)
    else:
        require(missing_modules("PyInstaller"),
                "building the executable needs PyInstaller (the [build] or [test] extra)")
        workpath = workdir / "work"
        _pyinstaller(workdir, workdir / "dist", workpath)
        source = workdir / "dist" / APP
    # Somewhere else, as a user's copy would be: relative links kept, modes kept.
    folder = tmp_path_factory.mktemp("installed") / APP
    shutil.copytree(source, folder, symlinks=True)
    if not prebuilt:
        shutil.rmtree(source)  # nothing may reach back into the build folder
    exe = folder / APP
    assert exe.is_file() and os.access(exe, os.X_OK), f"no executable at {exe}"
    return Bundle(folder, exe, workpath)


@pytest.fixture
def run_dir(tmp_path: Path) -> dict[str, Path]:
    """An empty working folder, a data folder, and a PATH holding only a decoy `ffmpeg`
    that leaves a mark if the app ever runs it instead of its own."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    decoy_dir = tmp_path / "path"
    decoy_dir.mkdir()
    mark = tmp_path / "system-ffmpeg-was-run"
    decoy = decoy_dir / "ffmpeg"
    decoy.write_text(f"#!/bin/sh\necho \"$@\" > '{mark}'\nexit 1\n")
    decoy.chmod(0o755)
    return {"cwd": cwd, "home": tmp_path / "home", "path": decoy_dir, "mark": mark,
            "logs": tmp_path / "logs"}


def _env(run: dict[str, Path], **extra: str) -> dict[str, str]:
    return {**app_environment(), "AUDIOFETCH_HOME": str(run["home"]),
            "PATH": str(run["path"]), "BROWSER": "true", **extra}


def _assert_untouched(cwd: Path) -> None:
    left = sorted(p.name for p in cwd.iterdir())
    assert not left, f"the app wrote into its working folder: {left}"


def _ffmpeg_runs(home: Path) -> list[str]:
    """The FFmpeg program of every `running ...` line in the app's log."""
    runs = []
    for log in sorted((home / "logs").glob("audiofetch.log*")):
        for line in log.read_text(errors="replace").splitlines():
            match = re.search(r"audiofetch_app\.core\.ffmpeg: running (\S+)", line)
            if match:
                runs.append(match.group(1))
    return runs


# -- the bundle -----------------------------------------------------------------------------


def test_bundle_holds_the_app_and_its_notices_and_nothing_for_tests(bundle: Bundle) -> None:
    internal = bundle.folder / "_internal"
    ffmpeg = sorted((internal / "imageio_ffmpeg" / "binaries").glob("ffmpeg-*"))
    assert ffmpeg and os.access(ffmpeg[0], os.X_OK), "FFmpeg missing or not executable"
    for name in ("AudioFetch.txt", "FFmpeg.txt", "GPL-3.0.txt", "LGPL-3.0.txt", "Python.txt",
                 "THIRD-PARTY.txt"):
        assert (bundle.folder / "LICENSES" / name).is_file(), f"LICENSES/{name} missing"
    notice = (bundle.folder / "LICENSES" / "FFmpeg.txt").read_text()
    assert "ffmpeg.org" in notice and "--enable-" in notice  # source link, configuration
    third_party = (bundle.folder / "LICENSES" / "THIRD-PARTY.txt").read_text()
    assert "nicegui" in third_party and "PySide6_Essentials" in third_party
    assert (internal / "assets" / "icon.png").is_file()
    assert (internal / "nicegui" / "static").is_dir()

    require(missing_modules("PyInstaller"), "reading the bundle needs PyInstaller")
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(bundle.exe))
    modules = archive.open_embedded_archive("PYZ.pyz").toc
    tops = {name.split(".")[0] for name in modules}
    assert "audiofetch_app" in tops and "nicegui" in tops and "webview" in tops
    # S3 targets work in the double-click app: s3fs and botocore with its service models.
    assert {"s3fs", "aiobotocore", "botocore"} <= tops
    assert (internal / "botocore" / "data" / "s3").is_dir()
    assert not (internal / "botocore" / "data" / "ec2").exists()  # only the models S3 needs
    bundled = sorted(tops.intersection(NOT_BUNDLED))
    assert not bundled, f"packages that must stay out of the bundle: {bundled}"
    # Only the Qt modules the window needs (no 3D, Charts, Multimedia, Designer, ...).
    qt = sorted(p.name.split(".")[0] for p in (internal / "PySide6").glob("Qt*.so"))
    assert "QtWebEngineWidgets" in qt
    assert set(qt) <= {"QtCore", "QtGui", "QtWidgets", "QtNetwork", "QtWebChannel",
                       "QtWebEngineCore", "QtWebEngineWidgets", "QtPrintSupport"}, qt
    unused = [p.name for p in internal.rglob("libQt6*") if re.search(
        r"Qt6(3D|Quick3D|Charts|Multimedia|Bluetooth|Designer|DataVisualization|Graphs)",
        p.name)]
    assert not unused, f"unused Qt libraries were bundled: {unused}"
    assert not list(internal.rglob("libreadline*")), "GNU readline (GPL) was bundled"


def test_prints_its_version(bundle: Bundle, run_dir: dict[str, Path]) -> None:
    result = subprocess.run([str(bundle.exe), "--version"], cwd=run_dir["cwd"],
                            env=_env(run_dir), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"AudioFetch {__version__}"
    _assert_untouched(run_dir["cwd"])


def test_points_at_the_browser_extension_it_carries(bundle: Bundle,
                                                   run_dir: dict[str, Path]) -> None:
    result = subprocess.run([str(bundle.exe), "extension"], cwd=run_dir["cwd"],
                            env=_env(run_dir), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.splitlines()[0])
    assert folder.is_relative_to(bundle.folder), folder
    assert (folder / "manifest.json").is_file() and (folder / "popup.js").is_file()


def test_serves_http_on_a_free_loopback_port(bundle: Bundle, run_dir: dict[str, Path]) -> None:
    port = free_port()
    with BuiltAppProcess(bundle.exe, ["serve", "--port", str(port)], run_dir["home"],
                         run_dir["logs"], run_dir["cwd"], env=_env(run_dir)) as app:
        url = app.wait_for_url(timeout=120)
        assert url == f"http://127.0.0.1:{port}"
        wait_for_http(url, timeout=120, alive=app.check_alive)
        with urllib.request.urlopen(f"{url}/api/jobs", timeout=10) as response:
            assert response.status == 200
            assert isinstance(json.loads(response.read()), dict | list)
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode()
        assert "AudioFetch" in page
        assert listening_tcp_ports(process_group(app.process.pid)) == [port]
    assert len(URL_LINE.findall(app.stdout_path.read_text())) == 1
    _assert_untouched(run_dir["cwd"])


def test_downloads_with_its_own_ffmpeg(bundle: Bundle, run_dir: dict[str, Path],
                                       http_server, tmp_path: Path) -> None:
    from tests.media import make_hls, make_tone, serve_folder
    from tests.probe import ffprobe

    tone = make_tone(tmp_path / "tone.mp3").read_bytes()
    http_server.add("/files/Episode 1.mp3", tone, content_type="audio/mpeg")
    make_hls(tmp_path / "hls", seconds=6)
    serve_folder(http_server, tmp_path / "hls", "/hls", HLS_TYPES)
    out = tmp_path / "out"

    def get(url: str, *args: str) -> Path:
        result = subprocess.run([str(bundle.exe), "get", url, "-o", str(out), *args],
                                cwd=run_dir["cwd"], env=_env(run_dir), capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        return Path(result.stdout.strip().splitlines()[-1])

    direct = get(http_server.url_for("/files/Episode%201.mp3"))
    assert direct == out / "Episode 1.mp3" and direct.read_bytes() == tone
    hls = get(http_server.url_for("/hls/list.m3u8"), "--name", "Radio show")
    assert hls == out / "Radio show.m4a"
    info = ffprobe(hls)
    assert [s["codec_name"] for s in info["streams"]] == ["aac"]
    assert abs(float(info["format"]["duration"]) - 6) < 0.5

    runs = _ffmpeg_runs(run_dir["home"])
    assert runs, "the log names no FFmpeg run"
    for program in runs:
        assert Path(program).is_relative_to(bundle.folder), f"not the bundled FFmpeg: {program}"
    assert not run_dir["mark"].exists(), "the FFmpeg on PATH was run"
    _assert_untouched(run_dir["cwd"])


# -- the native window ----------------------------------------------------------------------


def _header_and_tabs(shot: Path, box: WindowGeometry, display_size: tuple[int, int]) -> str:
    """'' when the window shows the blue header with the title and the tabs on it, else why."""
    from PIL import Image

    left, top = max(box.x, 0), max(box.y, 0)
    right = min(box.x + box.width, display_size[0])
    bottom = min(box.y + box.height, display_size[1])
    with Image.open(shot) as raw:
        image = raw.convert("RGB").crop((left, top, right, bottom))
    width, height = image.size
    pixels = image.load()

    def blue(x: int, y: int) -> bool:
        return all(abs(v - c) <= 24 for v, c in zip(pixels[x, y], PRIMARY, strict=True))

    header_rows = [y for y in range(min(height, 200))
                   if sum(blue(x, y) for x in range(0, width, 4)) > width // 4 * 0.5]
    if len(header_rows) < 30:
        return f"no header band: {len(header_rows)} rows mostly #1f6feb"
    band = range(header_rows[0], header_rows[-1] + 1)
    # White marks (icons, title, tab labels) on the band, as runs of columns.
    columns = [x for x in range(int(width * 0.7))
               if any(min(pixels[x, y]) > 200 for y in band)]
    runs = sum(1 for i, x in enumerate(columns) if i == 0 or x - columns[i - 1] > 6)
    if runs < 7:
        return f"the header shows {runs} white marks, not a title and four tabs"
    return ""


def _window_env(run: dict[str, Path], display) -> dict[str, str]:
    require(missing_programs("Xvfb", "xdotool", "import"),
            "the window test needs Debian's xvfb, xdotool and imagemagick")
    require(missing_modules("PIL"), "the window test reads screenshots with Pillow")
    env = _env(run, QT_QPA_PLATFORM="xcb", **display.env())
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"  # Chromium refuses root otherwise
    return env


def _wait_for_the_painted_window(app: BuiltAppProcess, display, shot: Path) -> WindowGeometry:
    """The app's window once it shows the header with the title and the tabs."""
    def window() -> WindowGeometry | None:
        app.check_alive()
        return find_window(display, "^AudioFetch$")

    box = wait_for(window, 180, "a visible window titled AudioFetch", interval=0.5,
                   on_timeout=app.output)
    owner = subprocess.run(["xdotool", "getwindowpid", str(box.window_id)],
                           env={**os.environ, **display.env()}, capture_output=True,
                           text=True, timeout=30).stdout.strip()
    if owner:  # Qt sets _NET_WM_PID: the window process must be the app's child
        assert os.getpgid(int(owner)) == app.process.pid, "the window is not the app's"
    area = (max(box.x, 0), max(box.y, 0), min(box.x + box.width, display.width),
            min(box.y + box.height, display.height))
    wanted = max(2000, (area[2] - area[0]) * (area[3] - area[1]) // 50)
    problem = ""

    def painted() -> bool:
        nonlocal problem
        app.check_alive()
        screenshot(display, shot)
        if count_pixels_near(shot, PRIMARY, box=area) < wanted:
            problem = "no header colour yet"
            return False
        problem = _header_and_tabs(shot, box, (display.width, display.height))
        return not problem

    wait_for(painted, 180, "the header with the title and tabs in the window", interval=1.0,
             on_timeout=lambda: f"{problem}; screenshot: {shot}\n{app.output()}")
    assert distinct_colours(shot, area) > 20, "the window shows a flat colour"
    return box


def test_opens_the_native_window(bundle: Bundle, run_dir: dict[str, Path],
                                 tmp_path: Path) -> None:
    with xvfb(1600, 1000) as display, BuiltAppProcess(
            bundle.exe, [], run_dir["home"], run_dir["logs"], run_dir["cwd"],
            env=_window_env(run_dir, display)) as app:
        url = app.wait_for_url(timeout=180)
        wait_for_http(url, timeout=180, alive=app.check_alive)
        _wait_for_the_painted_window(app, display, tmp_path / "built-window.png")

        # One app: one server socket, one URL line; the window process is a child that
        # re-entered the executable for multiprocessing, not a second app.
        group = process_group(app.process.pid)
        assert listening_tcp_ports(group) == [int(url.rsplit(":", 1)[1])]
        assert len(URL_LINE.findall(app.stdout_path.read_text())) == 1, app.output()
        commands = []
        for pid in group:
            try:
                commands.append(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"))
            except OSError:
                continue
        ours = [c for c in commands if c and Path(c[0].decode()).name == APP]
        children = [c for c in ours if any(b"multiprocessing" in part for part in c)]
        assert len(ours) - len(children) == 1, f"more than one app process: {ours}"
        assert children, "no window process was spawned"
    _assert_untouched(run_dir["cwd"])


def test_windowed_start_without_stdio_and_closing_the_window_ends_it(
        bundle: Bundle, run_dir: dict[str, Path], tmp_path: Path) -> None:
    # A windowed build (Windows, macOS) starts with sys.stdout and sys.stderr None; closed
    # descriptors make Python do the same here. Printing, logging, uvicorn and NiceGUI's
    # exit must all cope, and closing the window must end the whole app.
    with xvfb(1600, 1000) as display, BuiltAppProcess(
            bundle.exe, [], run_dir["home"], run_dir["logs"], run_dir["cwd"],
            env=_window_env(run_dir, display), no_stdio=True) as app:
        box = _wait_for_the_painted_window(app, display, tmp_path / "windowed.png")
        close_window(display, box.window_id)
        try:
            code = app.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("the app kept running after its window was closed")
        assert code == 0
        wait_for(lambda: not process_group(app.process.pid), 30,
                 "every process of the app to end")
    assert "is running at" in (run_dir["home"] / "logs" / "audiofetch.log").read_text()
    _assert_untouched(run_dir["cwd"])


# -- the one-file variant -------------------------------------------------------------------


def test_one_file_build_runs_and_finds_its_ffmpeg(bundle: Bundle, run_dir: dict[str, Path],
                                                  http_server, tmp_path: Path) -> None:
    if bundle.workpath is None:
        pytest.skip(f"{DIST_ENV} points at a prebuilt folder; the one-file build is skipped")
    from tests.media import make_hls, serve_folder

    dist = tmp_path / "dist"
    _pyinstaller(tmp_path, dist, bundle.workpath, "--onefile")
    built = sorted(dist.glob(f"{APP}-{__version__}-linux-*"))
    assert len(built) == 1, sorted(p.name for p in dist.iterdir())
    exe = tmp_path / "elsewhere" / built[0].name
    exe.parent.mkdir()
    shutil.copy2(built[0], exe)
    assert (dist / "LICENSES" / "FFmpeg.txt").is_file()  # the notices travel beside it

    version = subprocess.run([str(exe), "--version"], cwd=run_dir["cwd"], env=_env(run_dir),
                             capture_output=True, text=True, timeout=300)
    assert version.stdout.strip() == f"AudioFetch {__version__}", version.stderr

    make_hls(tmp_path / "hls", seconds=6)
    serve_folder(http_server, tmp_path / "hls", "/hls", HLS_TYPES)
    result = subprocess.run([str(exe), "get", http_server.url_for("/hls/list.m3u8"), "-o",
                             str(tmp_path / "out")], cwd=run_dir["cwd"], env=_env(run_dir),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert Path(result.stdout.strip().splitlines()[-1]).stat().st_size > 10_000
    runs = _ffmpeg_runs(run_dir["home"])
    # Unpacked for the run into a temporary _MEI folder, executable again.
    assert runs and all("/_MEI" in program for program in runs), runs
    assert not run_dir["mark"].exists(), "the FFmpeg on PATH was run"
    _assert_untouched(run_dir["cwd"])
