"""The add/edit source dialog: which channel, which topics, what to keep, where to, how often."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from audiofetch_app.core.job_context import JobError
from audiofetch_app.sources.telegram import media
from audiofetch_app.sources.telegram.catalog import TelegramSource
from audiofetch_app.sources.telegram.gateway import Channel, Topic
from audiofetch_app.sources.telegram.service import TelegramService
from audiofetch_app.sources.telegram.sessions import SessionRecord
from audiofetch_app.ui.target_fields import TargetFields
from audiofetch_app.ui.telegram.common import channel_kind, sentence

Saved = Callable[[TelegramSource], Awaitable[None] | None]

def channel_ref(channel: Channel) -> str:
    """What to hand `add_source` for a channel picked from a list: its @name, else its id."""
    return f"@{channel.username}" if channel.username else str(channel.id)


def source_ref(source: TelegramSource) -> str:
    """How to find an existing source's channel again (for its forum topics)."""
    if source.username:
        return f"@{source.username}"
    return str(source.channel_id) if source.channel_id else source.ref


def split_extensions(text: str) -> list[str]:
    return [e for e in (media.clean_extension(p) for p in re.split(r"[\s,;]+", text or "")) if e]


class SourceForm:
    """A dialog for a new source (`source=None`) or for changing one; closes itself when saved."""

    def __init__(self, service: TelegramService, sessions: list[SessionRecord], on_saved: Saved,
                 *, source: TelegramSource | None = None, session_id: str | None = None,
                 channel: Channel | None = None) -> None:
        self.service = service
        self.on_saved = on_saved
        self.source = source
        self.channels: dict[str, Channel] = {}
        self.looked_up: tuple[str, Channel, list[Topic]] | None = None
        self.topic_boxes: dict[int, ui.checkbox] = {}
        first = source.session_id if source else session_id or (sessions[0].id if sessions
                                                                 else None)
        keep = media.Keep.from_dict(source.keep if source else None)
        settings = service.settings.get()
        target = dict(source.target) if source else {}
        with ui.dialog().props("persistent") as self.dialog, \
                ui.card().classes("w-full max-w-3xl tg-source-form").mark("tg-source-form"):
            ui.label(f"Edit “{source.title}”" if source else "Add a source") \
                .classes("text-h6")
            self.session = ui.select({r.id: r.name for r in sessions}, value=first,
                                     label="Session", on_change=self._session_changed) \
                .classes("w-64").mark("tg-form-session")
            if source is None:
                with ui.row().classes("w-full items-start gap-2"):
                    self.channel = ui.select({}, label="Channel or group",
                                             on_change=self._channel_picked) \
                        .classes("w-64").mark("tg-form-channel")
                    ui.label("or").classes("q-mt-md")
                    self.ref = ui.input("@name, t.me link, invite link or id") \
                        .classes("grow").mark("tg-form-ref")
                    self.ref.on("keydown.enter", self.lookup)
                    ui.button("Look up", icon="search", on_click=self.lookup) \
                        .props("outline").classes("q-mt-sm").mark("tg-form-lookup")
            self.found = ui.label(source.title if source else "").classes("text-body1") \
                .mark("tg-form-found")
            self.topics = ui.column().classes("w-full gap-0").mark("tg-form-topics")
            ui.label("Keep").classes("text-subtitle2 q-mt-sm")
            with ui.row().classes("gap-2"):
                self.kinds = {kind: ui.checkbox(label, value=kind in keep.kinds)
                              .mark(f"tg-kind-{kind}")
                              for kind, label in media.KIND_LABELS.items()}
            with ui.row().classes("w-full items-start gap-2"):
                self.extensions = ui.input("Also keep files ending in",
                                           value=", ".join(keep.extensions),
                                           placeholder="zip, pdf").classes("w-64") \
                    .mark("tg-form-exts")
                self.date_from = ui.input("Posted from", placeholder="2024-01-31",
                                          value=_iso(keep.date_from)).classes("w-40") \
                    .mark("tg-form-date-from")
                self.date_to = ui.input("Posted until", placeholder="2024-12-31",
                                        value=_iso(keep.date_to)).classes("w-40") \
                    .mark("tg-form-date-to")
            ui.label(f"Days and dates in names are in {settings.telegram_zone_label()} "
                     "(Settings chooses the zone).").classes("text-caption") \
                .mark("tg-form-date-zone")
            self.template = ui.input("File names", value=source.template if source else
                                     settings.telegram_template or media.DEFAULT_TEMPLATE) \
                .classes("w-full").mark("tg-form-template")
            ui.label("Save to").classes("text-subtitle2 q-mt-sm")
            self.target = TargetFields(target, default_folder=str(service.default_folder()),
                                       mark="tg-form-target", editing=source is not None)
            with ui.row().classes("items-center gap-2"):
                self.interval = ui.number("Sync every (hours)", min=0, max=720, step=1,
                                          value=source.interval_hours if source else 0) \
                    .classes("w-48").mark("tg-form-interval")
                ui.label("0: only when you press Sync now").classes("text-caption text-grey-7")
            self.error = ui.label().classes("text-negative").mark("tg-form-error")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.close).props("flat").mark("tg-form-cancel")
                self.save_button = ui.button("Save" if source else "Add source", icon="check",
                                             on_click=self.save).mark("tg-form-save")
        self._preset = channel

    async def open(self) -> None:
        """Show the dialog, then fill the channel list (and the topics of a forum)."""
        self.dialog.open()
        if self.source is not None:
            if self.source.is_forum:
                await self._find(source_ref(self.source))
            return
        await self._load_channels()
        if self._preset is not None:
            ref = channel_ref(self._preset)
            self.channels.setdefault(ref, self._preset)
            self.channel.set_options(self._options(), value=ref)  # its on_change looks it up

    def close(self) -> None:
        if not self.dialog.is_deleted:
            self.dialog.close()
            self.dialog.delete()

    # ---------------------------------------------------------------- which channel

    def _options(self) -> dict[str, str]:
        return {ref: f"{c.title} ({channel_kind(c)})" for ref, c in self.channels.items()}

    async def _load_channels(self) -> None:
        self.channels = {}
        if self.session.value:
            try:
                found = await self.service.sessions.channels(self.session.value)
            except Exception as exc:
                self.error.set_text(sentence(exc))
                found = []
            self.channels = {channel_ref(c): c for c in found}
        self.channel.set_options(self._options(), value=None)

    async def _session_changed(self) -> None:
        self.looked_up = None
        self._show_found(None)
        if self.source is None:
            await self._load_channels()

    async def _channel_picked(self) -> None:
        if self.channel.value:
            self.ref.set_value("")
            await self._find(self.channel.value)

    async def lookup(self) -> None:
        ref = (self.ref.value or "").strip()
        if not ref:
            self.error.set_text("Type the channel's @name, a t.me link, an invite link or "
                                "its id.")
            return
        self.channel.set_value(None)
        await self._find(ref)

    async def _find(self, ref: str) -> None:
        self.error.set_text("")
        self.found.set_text("Looking it up…")
        try:
            channel, topics = await self.service.find_channel(self.session.value or "", ref)
        except Exception as exc:
            self._show_found(None)
            self.error.set_text(sentence(exc))
            return
        self.looked_up = (ref, channel, topics)
        self._show_found(channel, topics)

    def _show_found(self, channel: Channel | None, topics: list[Topic] | None = None) -> None:
        self.topics.clear()
        self.topic_boxes = {}
        if channel is None:
            self.found.set_text(self.source.title if self.source else "")
            return
        at = f" · @{channel.username}" if channel.username else ""
        self.found.set_text(f"{channel.title} · {channel_kind(channel)}{at}")
        if not topics:
            return
        chosen = set(self.source.topics) if self.source and self.source.topics else None
        with self.topics:
            self.all_topics = ui.switch("All topics", value=chosen is None,
                                        on_change=self._all_topics_changed) \
                .mark("tg-form-all-topics")
            with ui.row().classes("gap-2"):
                for topic in topics:
                    self.topic_boxes[topic.id] = ui.checkbox(
                        topic.title, value=chosen is None or topic.id in chosen) \
                        .mark(f"tg-topic-{topic.id}")
        self._all_topics_changed()

    def _all_topics_changed(self) -> None:
        for box in self.topic_boxes.values():
            box.set_enabled(not self.all_topics.value)

    def _chosen_topics(self, ref: str | None) -> list[int] | None:
        """None for every topic; the ticked ones when the user chose some."""
        if not self.topic_boxes or self.all_topics.value:
            return None
        if self.looked_up is None or (ref is not None and self.looked_up[0] != ref):
            return None  # the topics shown belong to another channel
        chosen = [tid for tid, box in self.topic_boxes.items() if box.value]
        if not chosen:
            raise JobError("Tick at least one topic, or keep all topics.")
        return chosen

    def _keep(self) -> dict[str, Any]:
        base = dict(self.source.keep) if self.source else {}
        return {**base, "kinds": [k for k, box in self.kinds.items() if box.value],
                "extensions": split_extensions(self.extensions.value or ""),
                "date_from": (self.date_from.value or "").strip() or None,
                "date_to": (self.date_to.value or "").strip() or None}

    def _ref(self) -> str:
        typed = (self.ref.value or "").strip()
        if typed:
            return typed
        if self.channel.value:
            return str(self.channel.value)
        raise JobError("Pick a channel from the list, or type its @name or link.")

    async def save(self) -> None:
        self.error.set_text("")
        self.save_button.props("loading")
        try:
            changes = {"keep": self._keep(), "template": (self.template.value or "").strip(),
                       "target": self.target.spec(),
                       "interval_hours": float(self.interval.value or 0)}
            if self.source is None:
                ref = self._ref()
                saved = await self.service.add_source(self.session.value or "", ref,
                                                      topics=self._chosen_topics(ref),
                                                      **changes)
            else:
                if self.topic_boxes:
                    changes["topics"] = self._chosen_topics(None)
                if self.session.value != self.source.session_id:
                    changes["session_id"] = self.session.value
                saved = await self.service.update_source(self.source.id, **changes)
        except Exception as exc:
            self.error.set_text(sentence(exc))
            return
        finally:
            self.save_button.props(remove="loading")
        ui.notify(f"Source {'saved' if self.source else 'added'}: {saved.title}.",
                  type="positive")
        self.close()
        result = self.on_saved(saved)
        if result is not None:
            await result


def _iso(value: Any) -> str:
    return value.isoformat() if value else ""
