"""Every kind of source; importing this package registers them all with core.registry."""

from audiofetch_app.sources import direct, spaces

__all__ = ["direct", "spaces"]
