"""Every kind of source; importing this package registers them all with core.registry."""

from audiofetch_app.sources import direct, spaces
from audiofetch_app.sources.page import source as page

__all__ = ["direct", "page", "spaces"]
