"""The small registry sources add themselves to; the faces read it, core never imports a source."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audiofetch_app.core.jobs import JobContext

Runner = Callable[["JobContext"], Awaitable[None]]


@dataclass(frozen=True)
class Source:
    """A kind of job: its name, a label for people, how to run it and which URLs it claims."""

    kind: str
    label: str
    run: Runner
    matches: Callable[[str], bool] | None = None
    priority: int = 0  # higher wins when several sources claim a URL


_sources: dict[str, Source] = {}


def register(source: Source) -> Source:
    _sources[source.kind] = source
    return source


def get(kind: str) -> Source:
    try:
        return _sources[kind]
    except KeyError:
        known = ", ".join(sorted(_sources)) or "none"
        raise KeyError(f"Unknown kind of download {kind!r}; known kinds: {known}.") from None


def all_sources() -> list[Source]:
    return sorted(_sources.values(), key=lambda s: s.kind)


def detect_kind(url: str) -> str | None:
    """The kind whose `matches` claims `url` with the highest priority, or None."""
    claims = [s for s in _sources.values() if s.matches and s.matches(url)]
    if not claims:
        return None
    return max(claims, key=lambda s: s.priority).kind
