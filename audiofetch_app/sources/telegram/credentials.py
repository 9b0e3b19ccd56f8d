"""The user's Telegram API credentials (api_id, api_hash), entered once and kept in the vault."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.logs import register_secret

if TYPE_CHECKING:
    from audiofetch_app.core.vault import Vault

API_ID = "telegram_api_id"
API_HASH = "telegram_api_hash"
HOW_TO = ("Get an api_id and api_hash at https://my.telegram.org → API development tools, "
          "then enter them here once.")


class CredentialsMissing(JobError):
    """No api_id/api_hash yet."""


class ApiCredentials:
    """api_id and api_hash in the vault; `get` says what to do when they are missing."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    async def set(self, api_id: int | str, api_hash: str) -> None:
        """Check the shape of both values and keep them encrypted."""
        api_id, api_hash = str(api_id).strip(), api_hash.strip()
        if not api_id.isdigit() or int(api_id) <= 0:
            raise JobError("The api_id is a number; copy it from my.telegram.org.")
        register_secret(api_hash)
        if not re.fullmatch(r"[0-9a-fA-F]{32}", api_hash):
            raise JobError("The api_hash is 32 letters and digits; copy it from my.telegram.org.")
        await asyncio.to_thread(self.vault.set, API_ID, api_id)
        await asyncio.to_thread(self.vault.set, API_HASH, api_hash.lower())

    async def get(self) -> tuple[int, str]:
        """(api_id, api_hash); raises CredentialsMissing with the how-to when not entered yet."""
        api_id = await asyncio.to_thread(self.vault.get, API_ID)
        api_hash = await asyncio.to_thread(self.vault.get, API_HASH)
        if not api_id or not api_hash:
            raise CredentialsMissing(HOW_TO)
        return int(api_id), api_hash

    def masked(self) -> str | None:
        """"api_id ••••, api_hash ••••cdef" when set, else None; never the values themselves."""
        from audiofetch_app.core.vault import Vault

        api_id, api_hash = self.vault.get(API_ID), self.vault.get(API_HASH)
        if not api_id or not api_hash:
            return None
        return f"api_id {Vault.mask(api_id) or '••••'}, api_hash {Vault.mask(api_hash)}"

    async def is_set(self) -> bool:
        names = await asyncio.to_thread(self.vault.names)
        return API_ID in names and API_HASH in names

    async def clear(self) -> None:
        await asyncio.to_thread(self.vault.delete, API_ID)
        await asyncio.to_thread(self.vault.delete, API_HASH)
