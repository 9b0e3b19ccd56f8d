"""What the `audiofetch telegram` commands share: asking, picking a session or source by a
name a person types, and printing."""

from __future__ import annotations

import contextlib
import getpass
import json
import signal
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audiofetch_app.sources.telegram.service import TelegramService

KINDS = ("music", "voice", "round", "document")


class Usage(Exception):
    """Something typed cannot work; the message says what to type instead (exit 2)."""


def ask(prompt: str, option: str = "", *, secret: bool = False) -> str:
    """An answer typed on the terminal (not shown if `secret`); Usage when there is none."""
    # asyncio.run turns the first Ctrl-C into a task cancel, which a blocked prompt never
    # sees; while a question waits, Ctrl-C stops at once (the login is still cleaned up).
    previous = signal.getsignal(signal.SIGINT)
    with contextlib.suppress(ValueError):  # only the main thread may set it
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return getpass.getpass(prompt) if secret else input(prompt).strip()
    except EOFError:
        print(file=sys.stderr)
        where = f"give it with {option}" if option else "run this on a terminal"
        raise Usage(f"No answer to “{prompt.strip(' :')}”; {where}.") from None
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGINT, previous)


def _pick(ref: str, items: list[tuple[str, tuple[str, ...]]], what: str, listing: str) -> str:
    """The id `ref` names: an exact id, a name (any case) or a unique id prefix."""
    if any(ref == item_id for item_id, _ in items):
        return ref
    folded = ref.casefold()
    named = [i for i, names in items if any(n and n.casefold() == folded for n in names)]
    prefixed = [i for i, _ in items if i.startswith(ref)] if ref else []
    found = named or prefixed
    if len(found) == 1:
        return found[0]
    if found:
        raise Usage(f"“{ref}” names more than one {what}; use its id ({listing} lists them).")
    raise Usage(f"There is no Telegram {what} “{ref}”; {listing} lists them.")


async def session_id_of(tg: TelegramService, ref: str) -> str:
    records = await tg.sessions.list_all()
    return _pick(ref, [(r.id, (r.name,)) for r in records], "session",
                 "`audiofetch telegram sessions`")


async def source_id_of(tg: TelegramService, ref: str) -> str:
    found = await tg.list_sources()
    items = [(s.id, (s.title, f"@{s.username}" if s.username else "")) for s in found]
    return _pick(ref, items, "source", "`audiofetch telegram sources`")


def when(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M") if timestamp else "never"


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# ---------------------------------------------------------------- credentials and login
