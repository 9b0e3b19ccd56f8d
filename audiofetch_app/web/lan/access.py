"""Who may use a LAN-shared AudioFetch: the password, the login tokens and the lockout."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from audiofetch_app.web.lan.lockout import Lockout
from audiofetch_app.web.lan.passwords import PasswordStore, check_strength
from audiofetch_app.web.lan.tokens import TokenStore

if TYPE_CHECKING:
    from audiofetch_app.core.store import Store
    from audiofetch_app.settings import SettingsService


class LanAccess:
    """One per process: the token cache and the lockout counts live here."""

    def __init__(self, store: Store, settings: SettingsService) -> None:
        self.passwords = PasswordStore(store)
        self.tokens = TokenStore(store)
        self.lockout = Lockout()
        self.settings = settings

    @property
    def session_seconds(self) -> float:
        """How long a login lasts (Settings → LAN sharing; 24 hours by default)."""
        return float(self.settings.get().lan_session_hours) * 3600

    def is_set(self) -> bool:
        return self.passwords.is_set()

    def check_strength(self, password: str) -> str:
        """`password` if it can be used; PasswordError (a ValueError) with a sentence if not."""
        return check_strength(password)

    async def set_password(self, password: str) -> None:
        """Keep the new password's hash; everybody logged in with the old one is logged out."""
        await asyncio.to_thread(self.passwords.set, password)
        await asyncio.to_thread(self.tokens.revoke_all)

    async def clear_password(self) -> None:
        await asyncio.to_thread(self.passwords.clear)
        await asyncio.to_thread(self.tokens.revoke_all)
