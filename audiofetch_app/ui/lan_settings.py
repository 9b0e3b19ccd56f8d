"""Settings → Network sharing: the LAN password, how long a login lasts, allowed origins."""

from __future__ import annotations

from typing import Protocol

from nicegui import ui

from audiofetch_app.sources.runtime import Runtime
from audiofetch_app.ui import state

HELP = ("Share AudioFetch with your household or team: start it with "
        "`audiofetch serve --host 0.0.0.0`. Nobody gets in without this password; it is "
        "stored only as a Scrypt hash.")


class LanControl(Protocol):
    """The LAN password as the window may change it (the web face's LanAccess is one)."""

    def is_set(self) -> bool: ...

    def check_strength(self, password: str) -> str:
        """`password` if it can be used; ValueError with a sentence if not."""

    async def set_password(self, password: str) -> None: ...

    async def clear_password(self) -> None: ...


class LanSettings:
    """The fields, inside the Settings dialog; `save` applies them."""

    def __init__(self, runtime: Runtime, lan: LanControl) -> None:
        self.runtime = runtime
        self.lan = lan
        with ui.expansion("Network sharing (LAN)", icon="lan").classes("w-full") \
                .mark("lan-settings"):
            ui.markdown(HELP).classes("text-caption")
            self.status = ui.label().classes("text-caption").mark("lan-status")
            with ui.row().classes("w-full items-end"):
                self.password = ui.input("New password", password=True,
                                         password_toggle_button=True).classes("w-64") \
                    .mark("lan-password")
                self.confirm = ui.input("Repeat it", password=True).classes("w-56") \
                    .mark("lan-password-confirm")
                ui.button("Remove password", on_click=self._clear).props("flat no-caps") \
                    .mark("lan-password-clear")
            self.hours = ui.number("A login lasts (hours)", min=0.1, max=24 * 365,
                                   precision=1).classes("w-56").mark("lan-hours")
            self.origins = ui.textarea(
                "Origins allowed to call the REST API from a browser (one per line, e.g. "
                "chrome-extension://<id>); applies at the next start").classes("w-full") \
                .props("autogrow").mark("lan-origins")
            self.networks = ui.textarea(
                "Networks that downloads asked for from other devices may reach (a NAS: "
                "192.168.1.20 or 192.168.1.0/24, one per line); otherwise only the internet. "
                "Only this computer can change it.").classes("w-full").props("autogrow") \
                .mark("lan-networks")
            if state.from_network():
                self.networks.disable()

    def load(self) -> None:
        current = self.runtime.settings.get()
        self.password.set_value("")
        self.confirm.set_value("")
        self.hours.set_value(current.lan_session_hours)
        self.origins.set_value("\n".join(current.cors_list()))
        self.networks.set_value(current.allowed_networks)
        self._show_status()

    def _show_status(self) -> None:
        state = "set" if self.lan.is_set() else "not set (LAN sharing is off)"
        self.status.set_text(f"LAN password: {state}")

    def changes(self) -> dict[str, object]:
        """The plain settings to save with the rest; raises ValueError with a sentence."""
        changes: dict[str, object] = {}
        if self.networks.enabled:  # a LAN client may not widen what its own jobs reach
            changes["allowed_networks"] = "\n".join(
                line.strip() for line in (self.networks.value or "").splitlines()
                if line.strip())
        return changes | {"lan_session_hours": float(self.hours.value or 24),
                "cors_origins": "\n".join(line.strip() for line in
                                          (self.origins.value or "").splitlines()
                                          if line.strip())}

    async def save_password(self) -> bool:
        """Set the new password if one was typed; True when it changed."""
        new = self.password.value or ""
        if not new and not self.confirm.value:
            return False
        if new != (self.confirm.value or ""):
            raise ValueError("The two passwords are not the same.")
        self.lan.check_strength(new)  # ValueError with the sentence
        await self.lan.set_password(new)
        self.password.set_value("")
        self.confirm.set_value("")
        self._show_status()
        return True

    async def _clear(self) -> None:
        await self.lan.clear_password()
        self._show_status()
        ui.notify("LAN password removed; `serve --host` on the network is refused until a new "
                  "one is set.")
