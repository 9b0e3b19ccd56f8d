"""`audiofetch extension`: where the browser extension's folder is and how to load it;
`--zip FILE` packs it."""

from __future__ import annotations

import argparse
import sys

from audiofetch_app.core import extension

HOW_TO_LOAD = """\
Load it in the browser:
  Chrome, Edge, Brave: open chrome://extensions, turn on Developer mode, click Load unpacked
    and choose the folder above.
  Firefox 128 or newer: open about:debugging#/runtime/this-firefox, click Load Temporary
    Add-on and choose manifest.json in that folder (it stays until Firefox closes).
Then open the extension's options and enter the address AudioFetch runs at (Settings ->
Browser extension shows it; usually http://127.0.0.1:8765)."""


def extension_command(args: argparse.Namespace) -> int:
    """Print the folder and how to load it; with --zip, write the ZIP too. Exit 0, or 1 when
    the ZIP cannot be written."""
    if args.zip is not None:
        dest = args.zip.expanduser()
        try:
            extension.build_zip(dest)
        except OSError as exc:
            print(f"Could not write {dest}: {exc.strerror or exc}.", file=sys.stderr)
            return 1
        print(f"Wrote the extension {extension.version()} to {dest}")
        return 0
    print(extension.EXTENSION_DIR)
    print(HOW_TO_LOAD)
    return 0
