"""`python -m audiofetch_app` runs the same command as `audiofetch`; it is also the entry
script of the built executable (build.spec)."""

import multiprocessing
import os
import sys


def _give_windowed_builds_streams() -> None:
    """A windowed executable (Windows, macOS) starts with sys.stdout and sys.stderr None, and
    code that writes, flushes or asks isatty() (uvicorn, NiceGUI's exit) would crash. Send
    them to the null device; the log file in the data folder keeps what matters."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


if __name__ == "__main__":
    # Must come first: a frozen app's spawned children (the native window) re-enter here and
    # must run their task, not a second copy of the app.
    multiprocessing.freeze_support()
    _give_windowed_builds_streams()
    from audiofetch_app.app import main

    raise SystemExit(main())
