"""The registry sources add themselves to. Core never imports a source; faces reach sources
through `audiofetch_app.sources.submit` and `preview`, which read this registry.

Each source owns its links: `matches` claims a URL for kind "auto", `link` gives its
canonical form and id (or refuses it with a sentence), `options` is the source's typed
options (a `JobOptions` dataclass, validated once, at submit), `preview` says what a link
holds before anything is downloaded, and `run` does the job. When several sources claim a
URL, the highest `priority` wins.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

from audiofetch_app.core import targets
from audiofetch_app.core.job_context import JobContext, JobError

if TYPE_CHECKING:
    from audiofetch_app.core.vault import Vault
    from audiofetch_app.settings import SettingsService

Runner = Callable[[JobContext], Awaitable[None]]


class OptionError(JobError):
    """An option a source cannot use; the message is the sentence to show."""


@dataclass(frozen=True)
class Link:
    """A link a source has claimed: its kind, canonical URL and the source's id for it."""

    kind: str
    url: str
    id: str


@dataclass
class Preview:
    """What a link holds, found before downloading. Sources return a subclass with more;
    `link` is what to submit (a page that is really one audio file previews as a direct link).
    """

    link: Link
    title: str


class Services(Protocol):
    """What a preview may use besides the network: settings and the vault (a Runtime)."""

    settings: SettingsService
    vault: Vault


@dataclass
class JobOptions:
    """A source's options: a dataclass of JSON values, all optional; stored on the job.

    Subclasses add fields and may override `check` to refuse values with a sentence.
    """

    output_dir: str | None = None  # a folder; the Settings download folder when None
    target: dict[str, Any] | None = None  # a storage target spec (core.targets) instead
    max_filesize: int | None = None  # bytes; a larger file stops (Settings' limit if None)

    LIMITS: ClassVar[dict[str, tuple[int, int]]] = {}  # int field -> (lowest, highest)
    BASE_LIMITS: ClassVar[dict[str, tuple[int, int]]] = {"max_filesize": (1, 1 << 50)}
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}  # str field -> allowed values

    @classmethod
    def names(cls) -> set[str]:
        """The options this source takes."""
        return {f.name for f in dataclasses.fields(cls)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None, *, strict: bool = True) -> Self:
        """Options from a JSON object; None values are left out.

        strict (at submit): unknown names and out-of-range values raise OptionError.
        Not strict (reading a stored job): unknown names are ignored.
        """
        names = cls.names()
        given = {k: v for k, v in (raw or {}).items() if v is not None}
        unknown = sorted(set(given) - names)
        if unknown and strict:
            raise OptionError(f"Unknown option {unknown[0]!r} for this kind of download; "
                              f"known: {', '.join(sorted(names))}.")
        options = cls(**{k: v for k, v in given.items() if k in names})
        if strict:
            options.check()
        return options

    def check(self) -> None:
        """Refuse values the source cannot use (OptionError with a sentence)."""
        if self.target is not None:
            if not isinstance(self.target, dict):
                raise OptionError("A target is an object naming its type, like "
                                  '{"type": "folder", "path": "/music"}.')
            try:
                targets.find(self.target.get("type"))
            except JobError as exc:
                raise OptionError(str(exc)) from None
            if self.output_dir:
                raise OptionError("Choose an output folder or a target, not both.")
        for name, (low, high) in (self.BASE_LIMITS | self.LIMITS).items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise OptionError(f"{name.replace('_', ' ').capitalize()} must be a whole "
                                  f"number from {low} to {high}.")
        for name, allowed in self.CHOICES.items():
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise OptionError(f"{name.replace('_', ' ').capitalize()} must be one of "
                                  f"{', '.join(allowed)}, not {value!r}.")

    def to_dict(self) -> dict[str, Any]:
        """The options that are set, as stored on the job."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Source:
    """A kind of job: its name, a label for people, how to run it, which links it claims."""

    kind: str
    label: str
    run: Runner
    matches: Callable[[str], bool] | None = None  # claims a URL for kind "auto"
    link: Callable[[str], Link] | None = None  # canonical form; JobError if not its link
    priority: int = 0  # higher wins when several sources claim a URL
    options: type[JobOptions] = JobOptions
    preview: Callable[[Link, Any, Services], Awaitable[Preview]] | None = None
    title: Callable[[Link], str] | None = None  # a job's title before it runs
    # The job writes into its output folder (-o, a folder target, Settings' download folder),
    # which is checked before it runs; False for a source with targets of its own (Telegram).
    uses_output_folder: bool = True


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


def recognise(url: str, kind: str = "auto") -> Link:
    """The link as its source sees it: for "auto", the highest-priority source that claims
    `url`; else the source for `kind`. JobError with a sentence when none can take it."""
    if kind == "auto":
        claims = [s for s in _sources.values() if s.matches and s.link and _claims(s, url)]
        if not claims:
            raise JobError("AudioFetch cannot download that link; paste an X Space, a web "
                           "page with audio, or a link to an audio file (http or https).")
        source = max(claims, key=lambda s: s.priority)
    else:
        try:
            source = get(kind)
        except KeyError as exc:
            raise JobError(str(exc.args[0])) from None
        if source.link is None:
            raise JobError(f"{source.label} jobs do not start from a link.")
    assert source.link is not None
    return source.link(url)


def _claims(source: Source, url: str) -> bool:
    """`source.matches(url)`, where a URL no parser can read is nobody's (urllib raises
    ValueError for "http://[::1" or a port over 65535)."""
    try:
        return bool(source.matches and source.matches(url))
    except ValueError:
        return False


def detect_kind(url: str) -> str | None:
    """The kind that claims `url` with the highest priority, or None."""
    claims = [s for s in _sources.values() if s.matches and _claims(s, url)]
    return max(claims, key=lambda s: s.priority).kind if claims else None
