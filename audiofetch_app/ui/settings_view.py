"""The Settings dialog: folders, workers, format, name templates, X cookies and the Telegram API
credentials (both in the vault)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from nicegui import app, ui

from audiofetch_app import settings as settings_mod
from audiofetch_app.core import targets, transfer_limits
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.vault import Vault, VaultError
from audiofetch_app.sources.runtime import Runtime
from audiofetch_app.ui import bot_settings, desktop, state
from audiofetch_app.ui.extension_help import ExtensionHelp
from audiofetch_app.ui.lan_settings import LanSettings
from audiofetch_app.ui.target_fields import TargetFields
from audiofetch_app.ui.telegram.credentials import how_to
from audiofetch_app.ui.words import bounded_number

X_COOKIES = {"x_auth_token": "auth_token", "x_ct0": "ct0"}
TEMPLATES = {
    "direct_template": "Direct links",
    "space_template": "X Spaces",
    "page_template": "Page audio tracks",
    "telegram_template": "Telegram files",
}


class SettingsDialog:
    """Built once per page; `open()` refreshes the fields from the saved settings."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        with ui.dialog() as self.dialog, ui.card().classes("w-full max-w-2xl settings-dialog"):
            ui.label("Settings").classes("text-h6")
            ui.label("Save downloads to").classes("text-subtitle2")
            self.target = TargetFields({}, default_folder=str(settings_mod.default_download_dir()),
                                       mark="download")
            self.folder = self.target.path_field()
            self.folder.on_value_change(lambda _: setattr(self.folder, "error", None))
            with ui.row().classes("w-full items-end no-wrap"):
                if state.native_mode:
                    ui.button(icon="folder", on_click=self._pick_folder) \
                        .props('flat round aria-label="Choose folder"').tooltip("Choose folder")
            with ui.row().classes("w-full"):
                self.workers = bounded_number("Parallel downloads per job", 1, 64) \
                    .classes("w-56").mark("workers")
                self.max_jobs = bounded_number("Jobs at once", 1, 16).classes("w-40") \
                    .mark("max_jobs")
                self.format = ui.select(list(settings_mod.AUDIO_FORMATS),
                                        label="Audio format").classes("w-40").mark("format")
                self.telegram_workers = bounded_number("Parallel Telegram downloads", 1, 10) \
                    .classes("w-56").mark("telegram_workers")
                self.max_filesize = ui.input("Largest download (e.g. 4G, 500M)") \
                    .classes("w-56").mark("max_filesize")
            ui.label("Name templates").classes("text-subtitle2 q-mt-sm")
            self.templates = {key: ui.input(label).classes("w-full")
                              for key, label in TEMPLATES.items()}
            ui.label("X (Twitter) cookies — needed for some Spaces; stored encrypted") \
                .classes("text-subtitle2 q-mt-sm")
            with ui.row().classes("w-full"):
                self.cookies = {name: ui.input(label, password=True,
                                               password_toggle_button=True)
                                .classes("w-64").mark(name)
                                for name, label in X_COOKIES.items()}
                ui.button("Forget cookies", on_click=self._forget_cookies).props("flat no-caps")
            with ui.row().classes("w-full"):
                self.space_workers = bounded_number("Parallel connections per Space", 1, 64) \
                    .classes("w-64").mark("space_workers")
                self.query_id = ui.input("X AudioSpaceById query id (changes when X updates)") \
                    .classes("grow").mark("query_id")
            ui.label("Telegram API — your own api_id and api_hash; stored encrypted") \
                .classes("text-subtitle2 q-mt-sm")
            how_to()
            self.tg_status = ui.label().classes("text-caption").mark("tg-api-status")
            with ui.row().classes("w-full items-end"):
                self.tg_api_id = ui.input("api_id").classes("w-40").mark("settings-tg-api-id")
                self.tg_api_hash = ui.input("api_hash", password=True,
                                            password_toggle_button=True) \
                    .classes("w-80").mark("settings-tg-api-hash")
                ui.button("Forget API credentials", on_click=self._forget_telegram) \
                    .props("flat no-caps").mark("settings-tg-api-clear")
            with ui.row().classes("w-full items-end"):
                self.tg_zone = ui.input("Time zone of Telegram dates (date range, {date})",
                                        autocomplete=settings_mod.zone_names()) \
                    .classes("w-96").mark("telegram_time_zone")
            self.bot = bot_settings.build(runtime)
            self.lan = LanSettings(runtime, state.lan())
            ExtensionHelp(runtime)
            with ui.expansion("Data and log folders", icon="info").classes("w-full"):
                self.paths = ui.column().classes("gap-1")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button("Save", on_click=self.save).classes("settings-save").mark("save")

    def open(self) -> None:
        current = self.runtime.settings.get()
        self.target.set_spec(current.download_target or {},
                             default_folder=str(current.download_path()))
        self.folder.error = None
        self.workers.set_value(current.workers)
        self.max_jobs.set_value(current.max_running_jobs)
        self.format.set_value(current.audio_format)
        self.telegram_workers.set_value(current.telegram_workers)
        self.tg_zone.set_value(current.telegram_time_zone)
        self.tg_zone.props(f'placeholder="{settings_mod.zone_label("")}, or like Asia/Tokyo"')
        self.max_filesize.set_value(transfer_limits.short_size(current.max_filesize))
        self.tg_api_id.set_value("")
        self.tg_api_hash.set_value("")
        self._show_telegram_status()
        self.lan.load()
        self.bot.load()
        self.space_workers.set_value(current.space_workers)
        self.query_id.set_value(current.x_audiospace_query_id)
        for key, field in self.templates.items():
            field.set_value(getattr(current, key))
        for name, field in self.cookies.items():
            field.set_value("")
            try:
                saved = self.runtime.vault.get(name)
            except VaultError:
                saved = None
            field.props(f'placeholder="{Vault.mask(saved) if saved else "not set"}"')
        self.paths.clear()
        with self.paths:
            for label, path in (("Data", settings_mod.data_dir()),
                                ("Logs", settings_mod.log_dir())):
                with ui.row().classes("items-center gap-2"):
                    ui.label(f"{label}: {path}").classes("text-caption font-mono")
                    ui.button(icon="folder_open",
                              on_click=lambda p=path: self._open(p)).props("flat dense round")
        self.dialog.open()

    def _show_telegram_status(self) -> None:
        try:
            shown = self.runtime.telegram.credentials.masked() or "not set"
        except VaultError:
            shown = "not readable"
        self.tg_status.set_text(f"Telegram API: {shown}")

    async def save(self) -> None:
        # Every field is looked at before anything is said, so one Save marks all that are
        # wrong, each beside itself, in the dialog's order.
        numbers = (self.workers, self.max_jobs, self.telegram_workers, self.space_workers)
        refused: list[tuple[ui.element, str]] = [
            (field, "a number is outside its allowed range.")
            for field in numbers if not field.validate()]  # each shows its error
        refused += self._refused_texts()
        spec = self.target.spec()
        folder_given = (self.folder.value or "").strip() not in (
            "", str(settings_mod.default_download_dir()))
        if targets.is_local(spec) and folder_given and not await self._folder_usable(spec):
            refused.append((self.folder, self.folder.error or "the folder cannot be used."))
        if refused:
            field, reason = min(refused, key=lambda item: self._order(item[0]))
            _bring_into_sight(field)  # Save is at the bottom of a long dialog
            ui.notify(f"Nothing was saved: {reason}" if len(refused) == 1 else
                      f"Nothing was saved: {len(refused)} fields are marked.", type="negative")
            return
        largest = transfer_limits.parse_size(self.max_filesize.value or "")
        changes = {
            "max_filesize": largest,
            "download_dir": (self.folder.value or "").strip(),
            "workers": int(self.workers.value or 0),
            "max_running_jobs": int(self.max_jobs.value or 0),
            "audio_format": self.format.value,
            "space_workers": int(self.space_workers.value or 0),
            "telegram_workers": int(self.telegram_workers.value or 0),
            "telegram_time_zone": (self.tg_zone.value or "").strip(),
            "x_audiospace_query_id": (self.query_id.value or "").strip()
            or settings_mod.Settings.x_audiospace_query_id,
            **{key: (field.value or "").strip() for key, field in self.templates.items()},
        }
        changes.update(self.lan.changes())
        if changes["download_dir"] == str(settings_mod.default_download_dir()):
            changes["download_dir"] = ""
        try:
            if targets.is_local(spec):
                changes["download_target"] = {}  # its folder was checked above
            else:  # checked (and its secret moved to the vault) before it is saved
                changes["download_target"] = await asyncio.to_thread(
                    targets.check_spec, spec, settings_mod.default_download_dir(),
                    self.runtime.vault)
            self.runtime.settings.update(**changes)
            for name, field in self.cookies.items():
                if (field.value or "").strip():
                    self.runtime.vault.set(name, field.value.strip())
            api_id = (self.tg_api_id.value or "").strip()
            api_hash = (self.tg_api_hash.value or "").strip()
            if api_id or api_hash:  # both blank: leave the saved ones as they are
                await self.runtime.telegram.credentials.set(api_id, api_hash)
            if await self.lan.save_password():
                ui.notify("LAN password saved; everybody logged in must log in again.")
        except (ValueError, VaultError, JobError) as exc:
            ui.notify(str(exc), type="negative")
            return
        ui.notify("Settings saved.", type="positive")
        self.dialog.close()

    def _order(self, field: ui.element) -> int:
        """Where a field sits in the dialog (top first): its place among the elements made."""
        return field.id

    def _refused_texts(self) -> list[tuple[ui.input | ui.number, str]]:
        """The typed fields whose text cannot be saved, each with its reason, which is also
        shown beside the field (the last save's reasons are cleared first)."""
        refused: list[tuple[ui.input | ui.number, str]] = []
        checks: list[tuple[ui.input | ui.number, object]] = [
            (self.max_filesize, lambda: transfer_limits.parse_size(
                self.max_filesize.value or "")),
            (self.tg_zone, lambda: settings_mod.time_zone(self.tg_zone.value or "")),
            (self.lan.hours, lambda: float(self.lan.hours.value)),
        ]
        for key, field in self.templates.items():
            checks.append((field, lambda field=field, key=key: (field.value or "").strip() or
                           _raise(f"The {TEMPLATES[key]} name template cannot be empty.")))
        for field, check in checks:
            try:
                check()  # type: ignore[operator]
                field.error = None
            except (TypeError, ValueError) as exc:
                reason = str(exc) if field is not self.lan.hours else \
                    "A login lasts a number of hours."
                field.error = reason
                refused.append((field, reason))
        return refused

    async def _folder_usable(self, spec: dict) -> bool:
        """Check the download folder as a download would use it (a missing parent is refused,
        not created); the reason shows beside the field."""
        try:
            checked = targets.check_spec(spec, settings_mod.default_download_dir())
            target = targets.open_target(checked, staging=settings_mod.data_dir(), secrets=None)
            await asyncio.to_thread(target.check)
        except JobError as exc:
            self.folder.error = str(exc)
            return False
        self.folder.error = None
        return True

    def _forget_cookies(self) -> None:
        for name in X_COOKIES:
            self.runtime.vault.delete(name)
        for field in self.cookies.values():
            field.set_value("")
            field.props('placeholder="not set"')
        ui.notify("X cookies forgotten.")

    async def _forget_telegram(self) -> None:
        await self.runtime.telegram.credentials.clear()
        self._show_telegram_status()
        ui.notify("Telegram API credentials forgotten.")

    async def _pick_folder(self) -> None:
        import webview  # only present in native mode

        window = app.native.main_window
        if window is None:
            return
        chosen = await window.create_file_dialog(webview.FOLDER_DIALOG,
                                                 directory=self.folder.value or "")
        if chosen:
            self.folder.set_value(str(chosen[0]))

    def _open(self, path: Path) -> None:
        try:
            desktop.open_folder(path)
        except OSError as exc:
            ui.notify(str(exc), type="warning")


def _raise(reason: str) -> None:
    raise ValueError(reason)


def _bring_into_sight(field: ui.element) -> None:
    """Scroll the dialog to a field that was refused, so its message is seen."""
    ui.run_javascript(f"getHtmlElement({field.id})?.scrollIntoView({{block: 'center'}})")
