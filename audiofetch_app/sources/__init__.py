"""Every kind of source, and the two calls the faces make to them.

Importing this package registers every source with `core.registry`; faces call `submit`
and `preview` (see `sources/submit.py`) and never parse a source's links themselves.
"""

from audiofetch_app.sources import direct, spaces
from audiofetch_app.sources.page import source as page
from audiofetch_app.sources.submit import options_for, preview, recognise, submit

__all__ = ["direct", "options_for", "page", "preview", "recognise", "spaces", "submit"]
