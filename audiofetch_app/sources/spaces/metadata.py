"""What X says about a Space, and the links that name one."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from audiofetch_app.core.job_context import JobError

# x.com, twitter.com, mobile.twitter.com, optional /peek, any query string; or a bare id.
_LINK = re.compile(
    r"^(?:https?://)?(?:(?:www|mobile)\.)?(?:x|twitter)\.com/i/spaces/([A-Za-z0-9]{10,20})"
    r"(?:/peek)?/?(?:[?#].*)?$", re.I)
_BARE_ID = re.compile(r"^[0-9][A-Za-z0-9]{9,19}$")


def parse_space_id(text: str) -> str:
    """The Space id in a link (or a bare id); JobError with a sentence otherwise."""
    text = text.strip()
    match = _LINK.match(text)
    if match:
        return match.group(1)
    if _BARE_ID.match(text):
        return text
    raise JobError("That is not an X Space link; it should look like "
                   "https://x.com/i/spaces/1YqKDqDkXvWJV.")


def space_url(space_id: str) -> str:
    """The canonical link of a Space."""
    return f"https://x.com/i/spaces/{space_id}"


def looks_like_space(text: str) -> bool:
    return bool(_LINK.match(text.strip()))


@dataclass
class Speaker:
    name: str
    screen_name: str
    avatar_url: str = ""


@dataclass
class SpaceMetadata:
    space_id: str
    media_key: str
    title: str
    state: str
    host_name: str
    host_screen_name: str
    host_avatar_url: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    scheduled_start: datetime | None = None
    replay_available: bool = False
    speakers: list[Speaker] = field(default_factory=list)

    @property
    def url(self) -> str:
        return space_url(self.space_id)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (or to now for a running Space)."""
        if not self.started_at:
            return None
        end = self.ended_at or datetime.now(UTC)
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def host_label(self) -> str:
        """"Name (@screen_name)", or whichever of the two X sent."""
        at = f"@{self.host_screen_name}" if self.host_screen_name else ""
        if self.host_name and at:
            return f"{self.host_name} ({at})"
        return self.host_name or at or "an unknown host"

    @property
    def display_title(self) -> str:
        return self.title or f"Space by {self.host_name or self.host_screen_name}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("started_at", "ended_at", "scheduled_start"):
            value = getattr(self, key)
            data[key] = value.isoformat() if value else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpaceMetadata:
        values = dict(data)
        for key in ("started_at", "ended_at", "scheduled_start"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        values["speakers"] = [Speaker(**s) for s in values.get("speakers", [])]
        return cls(**values)


def user_of(result: Any) -> Speaker:
    """A GraphQL User result in either of X's shapes: the newer one keeps the names in
    `core` ({name, screen_name}) and the picture in `avatar` ({image_url}), sometimes with no
    names in `legacy`; the older one has them all in `legacy` (`profile_image_url_https`).
    Missing fields are empty strings."""
    result = result if isinstance(result, dict) else {}
    if result.get("__typename") == "UserUnavailable":
        result = {}
    core = result.get("core") if isinstance(result.get("core"), dict) else {}
    legacy = result.get("legacy") if isinstance(result.get("legacy"), dict) else {}
    avatar = result.get("avatar") if isinstance(result.get("avatar"), dict) else {}

    def text(*values: Any) -> str:
        return next((v.strip() for v in values if isinstance(v, str) and v.strip()), "")

    return Speaker(name=text(core.get("name"), legacy.get("name")),
                   screen_name=text(core.get("screen_name"), legacy.get("screen_name")),
                   avatar_url=text(avatar.get("image_url"),
                                   legacy.get("profile_image_url_https")))


def _ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC) if value else None
    except (TypeError, ValueError, OverflowError):
        return None


def parse_audio_space(space_id: str, payload: dict[str, Any]) -> SpaceMetadata:
    """Read AudioSpaceById's answer; deleted and private Spaces come back empty."""
    audio_space = (payload.get("data") or {}).get("audioSpace") or {}
    meta = audio_space.get("metadata")
    if not meta:
        raise JobError("This Space does not exist any more, or it is private; if you can "
                       "open it on x.com, add your X cookies in Settings.")
    host = user_of((meta.get("creator_results") or {}).get("result"))
    participants = audio_space.get("participants") or {}
    speakers = [
        Speaker(name=p.get("display_name", ""), screen_name=p.get("twitter_screen_name", ""),
                avatar_url=p.get("avatar_url", ""))
        for group in ("admins", "speakers") for p in participants.get(group) or []
    ]
    seen: set[str] = {host.screen_name}  # the host is shown as the host
    unique = [s for s in speakers if not (s.screen_name in seen or seen.add(s.screen_name))]
    return SpaceMetadata(
        space_id=meta.get("rest_id") or space_id,
        media_key=meta.get("media_key", ""),
        title=(meta.get("title") or "").strip(),
        state=meta.get("state", "Unknown"),
        host_name=host.name,
        host_screen_name=host.screen_name,
        host_avatar_url=host.avatar_url,
        started_at=_ms(meta.get("started_at")),
        ended_at=_ms(meta.get("ended_at")),
        scheduled_start=_ms(meta.get("scheduled_start")),
        replay_available=bool(meta.get("is_space_available_for_replay")),
        speakers=unique,
    )
