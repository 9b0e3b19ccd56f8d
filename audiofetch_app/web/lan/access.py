"""Who may use a LAN-shared AudioFetch: the password, the login tokens and the lockout."""

from __future__ import annotations

import asyncio
from typing import Any

from audiofetch_app.core.lan_passwords import PasswordStore
from audiofetch_app.core.lan_tokens import TokenStore
from audiofetch_app.core.lockout import Lockout


class LanAccess:
    """One per process: the token cache and the lockout counts live here."""

    def __init__(self, store: Any, settings: Any) -> None:
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

    async def set_password(self, password: str) -> None:
        """Keep the new password's hash; everybody logged in with the old one is logged out."""
        await asyncio.to_thread(self.passwords.set, password)
        await asyncio.to_thread(self.tokens.revoke_all)

    async def clear_password(self) -> None:
        await asyncio.to_thread(self.passwords.clear)
        await asyncio.to_thread(self.tokens.revoke_all)
