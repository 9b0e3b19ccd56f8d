"""Where X cookies come from: a cookies.txt, the environment, or the vault (Settings)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from audiofetch_app.core import net
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.logs import register_secret
from audiofetch_app.sources.spaces.x_api import XCookies

if TYPE_CHECKING:
    from audiofetch_app.core.vault import Vault

ENV_PAIRS = (("AUDIOFETCH_X_AUTH_TOKEN", "AUDIOFETCH_X_CT0"), ("TWITTER_AUTH_TOKEN", "TWITTER_CT0"))
VAULT_NAMES = ("x_auth_token", "x_ct0")
_X_DOMAINS = ("x.com", "twitter.com")


def from_cookies_file(path: str | Path) -> XCookies:
    jar = net.load_cookies_txt(path)
    found: dict[str, str] = {}
    for cookie in jar.jar:
        if cookie.name in ("auth_token", "ct0") and cookie.domain.lstrip(".").endswith(
                _X_DOMAINS):
            found[cookie.name] = cookie.value or ""
    return _pair(found.get("auth_token"), found.get("ct0"), f"the cookies file {path}")


def _pair(auth_token: str | None, ct0: str | None, where: str) -> XCookies:
    if not auth_token or not ct0:
        missing = "auth_token" if not auth_token else "ct0"
        raise JobError(f"X needs both auth_token and ct0, but {missing} is missing from {where}.")
    register_secret(auth_token)
    register_secret(ct0)
    return XCookies(auth_token=auth_token.strip(), ct0=ct0.strip())


def resolve(cookies_file: str | None = None, vault: Vault = None) -> XCookies | None:
    """The first place that has X cookies wins; None means use a guest token."""
    if cookies_file:
        return from_cookies_file(cookies_file)
    for token_name, ct0_name in ENV_PAIRS:
        token, ct0 = os.environ.get(token_name), os.environ.get(ct0_name)
        if token or ct0:
            return _pair(token, ct0, f"the environment ({token_name}/{ct0_name})")
    if vault is not None:
        token, ct0 = (vault.get(name) for name in VAULT_NAMES)
        if token or ct0:
            return _pair(token, ct0, "Settings")
    return None
