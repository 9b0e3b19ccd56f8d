"""X Spaces: a Space link becomes one tagged audio file (replays and live Spaces)."""

from audiofetch_app.core import registry
from audiofetch_app.sources.spaces.metadata import looks_like_space
from audiofetch_app.sources.spaces.source import KIND, preview, run

registry.register(registry.Source(KIND, "X Space", run, matches=looks_like_space,
                                  priority=10))

__all__ = ["KIND", "preview", "run"]
