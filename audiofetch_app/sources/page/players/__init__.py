"""Player families: one module each, exposing NAME, DESCRIPTION and find(page) -> list[Track].

The order families run in, and the registry of them, live in `page/detect.py`."""
