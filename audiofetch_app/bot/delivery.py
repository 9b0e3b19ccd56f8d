"""Sending a finished job's files to the chat that asked: audio as audio (title, performer,
duration, cover), several in albums of up to 10 in order, ZIPs and other files as documents.
Files over the bot upload limit are not attempted. Uploads cut half-way continue from the
last part Telegram has; files the ledger lists as sent for the job are never sent again."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from audiofetch_app.bot import audio_facts
from audiofetch_app.bot.gateway import (
    MAX_ALBUM,
    UPLOAD_LIMIT,
    AudioItem,
    BotGateway,
    FloodWait,
    Upload,
    UploadCut,
)
from audiofetch_app.bot.ledger import BotJob, BotLedger
from audiofetch_app.core.job_record import Job
from audiofetch_app.core.units import human_bytes

log = logging.getLogger(__name__)
T = TypeVar("T")

UPLOAD_ATTEMPTS = 5  # cuts in a row before a file is given up
LONGEST_FLOOD_WAIT = 15 * 60  # seconds the delivery waits for Telegram before giving up


class DeliveryFailed(Exception):
    """A file could not be sent; the message is the sentence for the chat."""


@dataclass
class DeliveryReport:
    sent: int  # files sent now
    already: int  # files sent before (a retried delivery)
    too_big: list[Path]

    def sentence(self) -> str:
        parts = []
        if self.sent or not (self.already or self.too_big):
            parts.append(f"Sent {self.sent} file{'s' if self.sent != 1 else ''}.")
        if self.already:
            parts.append(f"{self.already} sent before, not again.")
        for path in self.too_big:
            parts.append(f"{path.name} is {human_bytes(path.stat().st_size)}, over the "
                         f"2,000 MB a bot may send; it is saved on the computer at {path}.")
        return " ".join(parts)


def _natural(path: Path) -> list[object]:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", path.name)]


def files_of(job: Job) -> list[Path]:
    """The job's saved files that exist, in name order (page tracks are numbered `NN - `)."""
    found = [Path(p) for p in (job.files or ([job.output_path] if job.output_path else []))]
    return sorted((p for p in dict.fromkeys(found) if p.is_file()), key=_natural)


def is_audio(path: Path) -> bool:
    return audio_facts.mime_type_of(path).startswith("audio/")


class Delivery:
    """Sends one job's files to its chat; `on_progress(sentence)` says how far it got."""

    def __init__(self, gateway: BotGateway, ledger: BotLedger, record: BotJob,
                 on_progress: Callable[[str], None],
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.gateway = gateway
        self.ledger = ledger
        self.record = record
        self.on_progress = on_progress
        self.sleep = sleep
        self.cuts = 0  # uploads cut and continued (seen in tests and logs)

    async def run(self, job: Job) -> DeliveryReport:
        files = files_of(job)
        if not files:
            raise DeliveryFailed("The job saved no file to send.")
        already = [p for p in files if str(p) in self.record.sent]
        todo = [p for p in files if str(p) not in self.record.sent]
        too_big = [p for p in todo if p.stat().st_size > UPLOAD_LIMIT]
        todo = [p for p in todo if p not in too_big]
        audio = [p for p in todo if is_audio(p)]
        documents = [p for p in todo if not is_audio(p)]
        total, done = len(todo), 0
        work = Path(tempfile.mkdtemp(prefix="audiofetch-bot-"))
        try:
            for start in range(0, len(audio), MAX_ALBUM):
                batch = audio[start:start + MAX_ALBUM]
                items = []
                for path in batch:
                    upload = await self._upload(path, done, total)
                    items.append(await self._item(path, upload, work, job, len(files)))
                    done += 1
                ids = await self._with_flood_waits(
                    lambda items=items: self.gateway.send_audio(self.record.chat_id, items))
                await self._sent(batch, ids)
            for path in documents:
                upload = await self._upload(path, done, total)
                message_id = await self._with_flood_waits(
                    lambda upload=upload, path=path: self.gateway.send_document(
                        self.record.chat_id, upload, job.title or path.stem))
                await self._sent([path], [message_id])
                done += 1
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        return DeliveryReport(len(todo), len(already), too_big)

    async def _sent(self, paths: list[Path], ids: list[int]) -> None:
        if len(ids) != len(paths):  # an album answers one message per file
            ids = (ids + ids[-1:] * len(paths))[:len(paths)] if ids else [0] * len(paths)
        sent = {str(p): [i] for p, i in zip(paths, ids, strict=True)}
        self.record.sent.update(sent)
        await self.ledger.mark_sent(self.record.job_id, sent)

    async def _upload(self, path: Path, index: int, total: int) -> Upload:
        upload = Upload(path, path.name, path.stat().st_size, random.getrandbits(63),
                        part_size=self.gateway.part_size)
        label = f"Sending {index + 1} of {total}" if total > 1 else "Sending"

        def progress(done: int, size: int) -> None:
            self.on_progress(f"{label}: {done * 100 // max(size, 1)}% of {human_bytes(size)}")

        cuts = 0
        while True:
            try:
                return await self._with_flood_waits(
                    lambda upload=upload: self.gateway.upload(upload, progress))
            except UploadCut as cut:
                cuts += 1
                self.cuts += 1
                upload = cut.upload
                log.info("Telegram bot: upload of %s cut after %d of %d parts; continuing",
                         path.name, upload.parts_done, upload.parts)
                if cuts >= UPLOAD_ATTEMPTS:
                    raise DeliveryFailed(f"The upload of {path.name} to Telegram was cut "
                                         f"{cuts} times; it is saved on the computer at "
                                         f"{path}.") from cut
                await self.sleep(min(2 ** cuts, 30))

    async def _with_flood_waits(self, call: Callable[[], Awaitable[T]]) -> T:
        while True:
            try:
                return await call()
            except FloodWait as flood:
                if flood.seconds > LONGEST_FLOOD_WAIT:
                    raise DeliveryFailed(str(flood)) from flood
                self.on_progress(f"Telegram asks to wait {flood.seconds} s before sending…")
                await self.sleep(flood.seconds)

    async def _item(self, path: Path, upload: Upload, work: Path, job: Job,
                    count: int) -> AudioItem:
        facts = await audio_facts.read_facts(path)
        thumb = await audio_facts.extract_thumb(path, work / f"{upload.file_id}.jpg")
        caption = job.title if count == 1 and job.title and job.title != facts.title else ""
        return AudioItem(upload, facts.title or path.stem, facts.artist,
                         round(facts.duration), facts.mime_type, thumb, caption)
