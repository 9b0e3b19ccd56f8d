"""Who may use the bot, where, and how much: the allowed people (user ids, @usernames, and the
owner's own accounts when Telegram sessions exist), groups only when allowed, and each
person's limit of jobs at once and per hour (Settings → Telegram bot)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable

from audiofetch_app.bot.gateway import Chat, Sender
from audiofetch_app.settings import SettingsService, bot_groups, bot_people

STRANGER = "Sorry, this bot is private: it only answers the people its owner allowed."
NOT_HERE = ("I answer in private chats, and in groups my owner allowed; write to me "
            "directly.")
HOUR = 3600.0


class Access:
    """`allows` reads Settings each time, so a change applies to the next message.

    `people`: allowed people for this run instead of Settings (`audiofetch bot --allow`);
    `owner_ids`: the user ids of this app's Telegram sessions."""

    def __init__(self, settings: SettingsService, owner_ids: Callable[[], Awaitable[set[int]]],
                 people: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.owner_ids = owner_ids
        self.people = people
        self.clock = clock
        self._started: dict[int, deque[float]] = {}  # user id -> times jobs were started

    async def allows(self, sender: Sender) -> bool:
        """The person may use the bot."""
        current = self.settings.get()
        ids, names = bot_people(self.people if self.people is not None else current.bot_allowed)
        if sender.user_id in ids or (sender.username or "").lower() in names:
            return True
        return bool(current.bot_owner_allowed) and sender.user_id in await self.owner_ids()

    def answers_in(self, chat: Chat) -> bool:
        """Private chats always; a group only when Settings lists it."""
        return chat.private or chat.id in bot_groups(self.settings.get().bot_groups)

    def refusal(self, user_id: int, running: int) -> str | None:
        """Why this person may not start another job now (one sentence), or None.
        `running`: how many of their jobs are queued or running."""
        current = self.settings.get()
        if running >= current.bot_jobs_at_once:
            return (f"You have {running} job{'s' if running != 1 else ''} running, the most "
                    "at once; send it again when one is done (/jobs shows them).")
        recent = self._recent(user_id)
        if len(recent) >= current.bot_jobs_per_hour:
            wait = max(1, int((recent[0] + HOUR - self.clock()) // 60) + 1)
            return (f"You started {len(recent)} jobs in the last hour, the most allowed; try "
                    f"again in {wait} minute{'s' if wait != 1 else ''}.")
        return None

    def started(self, user_id: int) -> None:
        """Count a job this person started (for the hourly limit)."""
        self._recent(user_id).append(self.clock())

    def _recent(self, user_id: int) -> deque[float]:
        times = self._started.setdefault(user_id, deque())
        while times and times[0] <= self.clock() - HOUR:
            times.popleft()
        return times
