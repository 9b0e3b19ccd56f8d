"""X Spaces: a Space link becomes one tagged audio file (replays and live Spaces)."""

from audiofetch_app.core import registry
from audiofetch_app.sources.spaces.metadata import looks_like_space
from audiofetch_app.sources.spaces.source import (
    KIND,
    SpaceOptions,
    SpacePreview,
    link,
    preview,
    run,
)

registry.register(registry.Source(
    KIND, "X Space", run, matches=looks_like_space, link=link, priority=10,
    options=SpaceOptions, preview=preview))

__all__ = ["KIND", "SpaceOptions", "SpacePreview", "link", "preview", "run"]
