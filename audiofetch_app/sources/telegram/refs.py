"""What a user types to name a channel, parsed: @name, t.me links, invites, numeric ids."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from audiofetch_app.core.job_context import JobError
from audiofetch_app.sources.telegram.gateway import ChannelRef

_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_INVITE = re.compile(r"[A-Za-z0-9_-]{8,64}")
_HOSTS = {"t.me", "telegram.me", "telegram.dog", "www.t.me", "www.telegram.me"}
_RESERVED = {"joinchat", "c", "s", "addstickers", "share", "proxy", "socks", "login", "iv"}

HELP = ("Give a channel as @name, a t.me link, an invite link (t.me/+…), "
        "or its numeric id.")


def channel_peer_id(channel_id: int) -> int:
    """A bare channel id (as in t.me/c/<id>) as the marked peer id Telegram clients use."""
    return -(10**12 + channel_id)


def parse_channel_ref(text: str) -> ChannelRef:
    """Parse `text`; raises JobError with the accepted forms when it is none of them."""
    raw = (text or "").strip()
    if not raw:
        raise JobError(HELP)
    if re.fullmatch(r"-?\d{1,20}", raw):
        number = int(raw)
        if number == 0:
            raise JobError(HELP)
        return ChannelRef("id", number if number < 0 else channel_peer_id(number))
    if raw.startswith("@"):
        return _username(raw[1:])
    if raw.startswith("tg://"):
        return _tg_link(raw)
    url = raw if "://" in raw else "https://" + raw
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() not in _HOSTS:
        if "/" not in raw and "." not in raw:
            return _username(raw)
        raise JobError(HELP)
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        raise JobError(HELP)
    head = segments[0]
    if head.startswith("+"):
        return _invite(head[1:])
    if head == "joinchat" and len(segments) > 1:
        return _invite(segments[1])
    if head == "c" and len(segments) > 1 and segments[1].isdigit():
        return ChannelRef("id", channel_peer_id(int(segments[1])), _post(segments[2:]))
    if head == "s" and len(segments) > 1:
        segments = segments[1:]
        head = segments[0]
    if head.lower() in _RESERVED:
        raise JobError(HELP)
    ref = _username(head)
    return ChannelRef(ref.kind, ref.value, _post(segments[1:]))


def _username(name: str) -> ChannelRef:
    if not _USERNAME.fullmatch(name):
        raise JobError(f"“{name}” is not a Telegram username. {HELP}")
    return ChannelRef("username", name.lower())


def _invite(value: str) -> ChannelRef:
    if not _INVITE.fullmatch(value):
        raise JobError("This invite link is cut short; copy the whole link.")
    return ChannelRef("invite", value)


def _post(rest: list[str]) -> int | None:
    return int(rest[-1]) if rest and rest[-1].isdigit() else None


def _tg_link(raw: str) -> ChannelRef:
    query = dict(p.split("=", 1) for p in urlsplit(raw).query.split("&") if "=" in p)
    if "domain" in query:
        return _username(query["domain"])
    if "invite" in query:
        return _invite(query["invite"])
    raise JobError(HELP)
