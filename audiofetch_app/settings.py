"""Where things live (platformdirs, or AUDIOFETCH_HOME) and the user's persistent settings."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import threading
import zoneinfo
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import platformdirs

from audiofetch_app import APP_NAME
from audiofetch_app.core.store import SETTINGS, Store

HOME_ENV = "AUDIOFETCH_HOME"


def data_dir() -> Path:
    """The data folder: `AUDIOFETCH_HOME`, else the platform's user data folder."""
    override = os.environ.get(HOME_ENV)
    path = Path(override).expanduser() if override else Path(
        platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=True)
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_path() -> Path:
    return data_dir() / "audiofetch.json"


def log_dir() -> Path:
    return data_dir() / "logs"


def key_path() -> Path:
    return data_dir() / "secret.key"


def default_download_dir() -> Path:
    """`<AUDIOFETCH_HOME>/downloads`, else the user's Music (or Downloads) folder/AudioFetch."""
    if os.environ.get(HOME_ENV):
        return data_dir() / "downloads"
    music = Path(platformdirs.user_music_dir())
    base = music if music.is_dir() else Path(platformdirs.user_downloads_dir())
    return base / APP_NAME


AUDIO_FORMATS = ("m4a", "mp3")
WINDOW_TABS = ("Spaces", "Page audio", "Telegram", "Jobs")  # the window opens on the last used


def time_zone(name: str) -> dt.tzinfo | None:
    """The IANA time zone `name` ("Asia/Tokyo"), or None for "" (the computer's own zone).

    Zones come from the system's tz database (`zoneinfo`; on Windows the `tzdata` package).
    Raises ValueError with one sentence when `name` is not a zone.
    """
    name = str(name or "").strip()
    if not name:
        return None
    try:
        if len(name) > 64:
            raise ValueError(name)
        return zoneinfo.ZoneInfo(name)
    except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):
        pass
    near = [z for z in _zone_names() if z.lower() == name.lower()]
    hint = f" (did you mean {near[0]}?)" if near else ""
    raise ValueError(f"“{name[:64]}” is not a time zone{hint}; write an IANA name like "
                     "Asia/Tokyo or America/New_York, or leave it empty for this computer's.")


def _zone_names() -> set[str]:
    try:
        return zoneinfo.available_timezones()
    except OSError:
        return set()


def zone_names() -> list[str]:
    """Every IANA zone name this machine knows, sorted (for a picker; [] when none)."""
    return sorted(_zone_names())


def zone_label(name: str) -> str:
    """How a person reads zone setting `name`: the name itself, or for "" this computer's zone
    by its abbreviation now ("this computer's time zone (JST)")."""
    name = str(name or "").strip()
    if name:
        return name
    local = dt.datetime.now().astimezone().tzname() or ""
    return f"this computer's time zone ({local})" if local else "this computer's time zone"


@dataclass
class Settings:
    """What a user can change; every field has a default that works out of the box."""

    download_dir: str = ""
    # Where downloads go instead of the folder: a checked storage target spec (core.targets),
    # {} for the download folder.
    download_target: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Networks that downloads asked for from other devices may reach besides the internet
    # (a NAS on the LAN): CIDR ranges, one per line. The person at this computer reaches all.
    allowed_networks: str = ""
    max_filesize: int = 4 << 30  # bytes: a larger download stops with a sentence
    workers: int = 8
    space_workers: int = 16
    max_running_jobs: int = 3
    audio_format: str = "m4a"
    direct_template: str = "{title}.{ext}"
    space_template: str = "{host} - {title} ({date:%Y-%m-%d}).{ext}"
    page_template: str = "{n:02d} - {title}.{ext}"
    page_workers: int = 5
    telegram_template: str = "{channel}/{date:%Y-%m-%d} {title}.{ext}"
    telegram_workers: int = 3
    # The time zone Telegram's dates are read in: --from/--to days and {date} in file names.
    # An IANA name ("Asia/Tokyo"); empty: the computer's own zone.
    telegram_time_zone: str = ""
    lan_session_hours: float = 24.0  # how long a browser or token stays logged in (LAN mode)
    cors_origins: str = ""  # origins allowed to call the REST API from a browser, one per line
    page_zip: bool = True
    x_audiospace_query_id: str = "p8k4kaPusjNj85gj8w_YAQ"  # X renames it now and then
    last_tab: str = WINDOW_TABS[0]
    # The Telegram bot face (audiofetch_app/bot); its token is a vault secret, not a setting.
    bot_enabled: bool = False  # runs while the app is open
    bot_allowed: str = ""  # Telegram user ids or @usernames, one per line or comma-separated
    bot_owner_allowed: bool = True  # the accounts of this app's Telegram sessions may use it
    bot_groups: str = ""  # group chat ids (-100…) where it answers; else private chats only
    bot_jobs_at_once: int = 2  # per allowed person
    bot_jobs_per_hour: int = 20  # per allowed person

    def download_path(self) -> Path:
        return Path(self.download_dir).expanduser() if self.download_dir else default_download_dir()

    def telegram_zone(self) -> dt.tzinfo | None:
        """The zone of `telegram_time_zone`, None for the computer's; ValueError when bad."""
        return time_zone(self.telegram_time_zone)

    def telegram_zone_label(self) -> str:
        """`telegram_time_zone` as a person reads it (see `zone_label`)."""
        return zone_label(self.telegram_time_zone)

    def cors_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in str(self.cors_origins).replace(",", "\n")
                .splitlines() if o.strip()]

    def validate(self) -> None:
        from audiofetch_app.core.address_guard import parse_networks

        parse_networks(str(self.allowed_networks))  # ValueError with a sentence
        if not 1 << 20 <= int(self.max_filesize) <= 1 << 50:
            raise ValueError("The largest download must be at least 1 MiB.")
        if not isinstance(self.download_target, dict):
            raise ValueError("The download target must be a target spec.")
        if not 1 <= int(self.workers) <= 64:
            raise ValueError("Parallel workers must be between 1 and 64.")
        if not 1 <= int(self.page_workers) <= 20:
            raise ValueError("Parallel track downloads must be between 1 and 20.")
        if not 1 <= int(self.space_workers) <= 64:
            raise ValueError("Parallel Space connections must be between 1 and 64.")
        if not 0.1 <= float(self.lan_session_hours) <= 24 * 365:
            raise ValueError("A login lasts between 0.1 hours and a year.")
        for origin in self.cors_list():
            if not origin.startswith(("http://", "https://", "chrome-extension://",
                                      "moz-extension://")) or origin.count("/") != 2:
                raise ValueError(f"“{origin}” is not an origin; write it like "
                                 "https://example.com or chrome-extension://<id>.")
        if not 1 <= int(self.telegram_workers) <= 10:
            raise ValueError("Parallel Telegram downloads must be between 1 and 10.")
        self.telegram_zone()  # ValueError with a sentence
        if not 1 <= int(self.max_running_jobs) <= 16:
            raise ValueError("Jobs running at once must be between 1 and 16.")
        if self.last_tab not in WINDOW_TABS:
            raise ValueError(f"The window's tab must be one of: {', '.join(WINDOW_TABS)}.")
        if self.audio_format not in AUDIO_FORMATS:
            raise ValueError(f"Audio format must be one of: {', '.join(AUDIO_FORMATS)}.")
        self.validate_bot()

    def validate_bot(self) -> None:
        """The Telegram bot's fields; ValueError with a sentence."""
        bot_people(self.bot_allowed)
        bot_groups(self.bot_groups)
        if not 1 <= int(self.bot_jobs_at_once) <= 16:
            raise ValueError("Bot jobs at once per person must be between 1 and 16.")
        if not 1 <= int(self.bot_jobs_per_hour) <= 1000:
            raise ValueError("Bot jobs per hour per person must be between 1 and 1000.")


def _entries(text: str) -> list[str]:
    return [e.strip() for e in str(text or "").replace(",", "\n").split() if e.strip()]


def bot_people(text: str) -> tuple[frozenset[int], frozenset[str]]:
    """(user ids, lower-case usernames without @) from the bot's allowed people: Telegram
    user ids (123456789) and @usernames, separated by commas, spaces or lines. ValueError
    with a sentence naming the first entry that is neither."""
    ids: set[int] = set()
    names: set[str] = set()
    for entry in _entries(text):
        if entry.isdigit():
            ids.add(int(entry))
        elif entry.startswith("@") and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{4,31}", entry[1:]):
            names.add(entry[1:].lower())
        else:
            raise ValueError(f"“{entry[:40]}” is not a Telegram user id (a number) or "
                             "an @username.")
    return frozenset(ids), frozenset(names)


def bot_groups(text: str) -> frozenset[int]:
    """The group chat ids where the bot answers (Telegram's peer ids: -100… for
    supergroups, -… for basic groups). ValueError with a sentence for another entry."""
    found: set[int] = set()
    for entry in _entries(text):
        if not re.fullmatch(r"-\d{1,20}", entry):
            raise ValueError(f"“{entry[:40]}” is not a group chat id (a negative number like "
                             "-1001234567890).")
        found.add(int(entry))
    return frozenset(found)


_FIELD_TYPES = {f.name: f.type for f in fields(Settings)}
_KEY = "user"


class SettingsService:
    """Loads, validates and saves Settings; tells subscribers so changes apply at once."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Settings], None]] = []
        self._current = self._load()

    def _load(self) -> Settings:
        def read(db: Any) -> dict[str, Any]:
            doc = db.table(SETTINGS).get(doc_id=1)
            return dict(doc) if doc else {}

        raw = self._store.run(read)
        known = {k: v for k, v in raw.get(_KEY, {}).items() if k in _FIELD_TYPES}
        settings = Settings(**known)
        try:
            settings.validate()
        except (ValueError, TypeError):
            settings = Settings()
        return settings

    def get(self) -> Settings:
        return dataclasses.replace(self._current)

    def update(self, **changes: Any) -> Settings:
        """Apply and persist `changes`; raises ValueError with a sentence when one is invalid."""
        unknown = set(changes) - set(_FIELD_TYPES)
        if unknown:
            raise ValueError(f"Unknown setting: {', '.join(sorted(unknown))}.")
        with self._lock:
            candidate = dataclasses.replace(self._current, **changes)
            candidate.workers = int(candidate.workers)
            candidate.space_workers = int(candidate.space_workers)
            candidate.page_workers = int(candidate.page_workers)
            candidate.max_running_jobs = int(candidate.max_running_jobs)
            candidate.telegram_workers = int(candidate.telegram_workers)
            candidate.lan_session_hours = float(candidate.lan_session_hours)
            candidate.telegram_time_zone = str(candidate.telegram_time_zone or "").strip()
            candidate.bot_jobs_at_once = int(candidate.bot_jobs_at_once)
            candidate.bot_jobs_per_hour = int(candidate.bot_jobs_per_hour)
            candidate.validate()
            payload = {_KEY: asdict(candidate)}

            def write(db: Any) -> None:
                table = db.table(SETTINGS)
                if table.get(doc_id=1) is None:
                    table.insert(payload)
                else:
                    table.update(payload, doc_ids=[1])

            self._store.run(write)
            self._current = candidate
            listeners = list(self._listeners)
        for listener in listeners:
            listener(dataclasses.replace(candidate))
        return dataclasses.replace(candidate)

    def subscribe(self, listener: Callable[[Settings], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)
