"""Player families: one module each, beside `common.py` (the helpers they share).

A family module declares:
  NAME         the `--plugin` name, e.g. "plyr";
  DESCRIPTION  a few words for "no audio found" messages ("Looked for ...");
  PRECEDENCE   an int: when several families find one track, the lowest takes the credit
               (the most specific player first, the plain links last);
  find(page)   -> list[PlacedTrack], never touching the network.

FAMILY_MODULES below is the one list of families, in the order auto-detection runs them;
adding a family is its module plus one line here. `page/detect.py` builds on it."""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

FAMILY_MODULES = (
    "html5",
    "links",
    "plyr",
    "howler",
    "mediaelement",
    "videojs",
    "wordpress",
    "jsonld",
    "meta",
    "feeds",
    "scripts",
    "hls",
)


@cache
def load_families() -> tuple[ModuleType, ...]:
    """The family modules, in FAMILY_MODULES order."""
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in FAMILY_MODULES)
