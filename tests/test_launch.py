"""Starting the app: serve on loopback only, a free port when taken, one app per data folder."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.desktop import ROOT, AppProcess, app_environment, free_port, wait_for_http


def test_serve_refuses_lan_hosts_without_auth(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "audiofetch_app", "serve", "--host", "0.0.0.0"],
        cwd=ROOT, env={**{k: v for k, v in app_environment().items()
                          if k != "AUDIOFETCH_PASSWORD"}, "AUDIOFETCH_HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "needs a password" in result.stderr and "--password-file" in result.stderr
    short = tmp_path / "pw"
    short.write_text("short\n")
    result = subprocess.run(
        [sys.executable, "-m", "audiofetch_app", "serve", "--host", "0.0.0.0",
         "--password-file", str(short)],
        cwd=ROOT, env={**app_environment(), "AUDIOFETCH_HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "8 characters" in result.stderr


def test_taken_port_falls_back_and_second_start_reuses_the_first(tmp_path: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    home = tmp_path / "home"
    try:
        with AppProcess(["serve", "--port", str(port)], home, tmp_path / "logs") as first:
            url = first.wait_for_url()
            assert not url.endswith(f":{port}")  # the busy port was skipped
            wait_for_http(url, alive=first.check_alive)
            second = subprocess.run(
                [sys.executable, "-m", "audiofetch_app", "serve", "--port", str(free_port())],
                cwd=ROOT, env={**app_environment(), "AUDIOFETCH_HOME": str(home),
                               "BROWSER": "true"},
                capture_output=True, text=True, timeout=60)
            assert second.returncode == 0, second.stderr
            assert f"already running at {url}" in second.stdout
            first.check_alive()
    finally:
        busy.close()
