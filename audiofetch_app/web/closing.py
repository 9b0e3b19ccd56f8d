"""Whether the server is closing, for answers that stay open (`/api/events`, `/ws`): they end
by themselves once uvicorn was asked to exit (Ctrl-C, SIGTERM, the window closed), so
closing the app neither waits out the graceful shutdown nor logs their cancellation."""

from __future__ import annotations

import asyncio

POLL = 0.25  # seconds between two looks at the server's exit flag


def server_closing() -> bool:
    """True once the running server (NiceGUI's uvicorn server) was asked to exit."""
    from nicegui.server import Server

    instance = getattr(Server, "instance", None)
    return bool(instance is not None and getattr(instance, "should_exit", False))


async def until_closing(poll: float = POLL) -> None:
    """Return once `server_closing()` (looked at every `poll` seconds)."""
    while not server_closing():
        await asyncio.sleep(poll)
