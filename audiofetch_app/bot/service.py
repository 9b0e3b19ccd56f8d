"""The Telegram bot face: a link in, a preview out, a job started from a button, its progress
edited in place, its audio sent back. Bot jobs are ordinary jobs (marked with the chat as
their origin); the bot follows job events, so a cancel anywhere shows in the chat too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audiofetch_app import sources
from audiofetch_app.bot import commands, offers
from audiofetch_app.bot.access import NOT_HERE, STRANGER, Access
from audiofetch_app.bot.delivery import Delivery, DeliveryFailed
from audiofetch_app.bot.gateway import (
    BotAccount,
    BotGateway,
    CallbackQuery,
    Chat,
    FloodWait,
    Keyboard,
    Message,
    Sender,
    TelegramError,
)
from audiofetch_app.bot.ledger import BotJob, BotLedger
from audiofetch_app.bot.status import EDIT_INTERVAL, StatusBoard, status_text
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.job_record import ACTIVE_STATES, Job, JobEvent, JobState
from audiofetch_app.core.net_errors import NetError

if TYPE_CHECKING:
    from audiofetch_app.sources.runtime import Runtime

log = logging.getLogger(__name__)

MAX_LINKS = 10  # links taken from one message
ORIGIN = "Telegram bot"


class TelegramBot:
    """One running bot on `gateway`, serving the people `Access` allows."""

    def __init__(self, runtime: Runtime, gateway: BotGateway, *, people: str | None = None,
                 edit_interval: float = EDIT_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.runtime = runtime
        self.gateway = gateway
        self.ledger = BotLedger(runtime.store)
        self.access = Access(runtime.settings, self._owner_ids, people)
        self.board = StatusBoard(gateway, interval=edit_interval, clock=clock)
        self.offers = offers.Offers()
        self.followed: dict[str, BotJob] = {}
        self.deliveries: dict[str, asyncio.Task[None]] = {}
        self.account: BotAccount | None = None
        self.sleep = asyncio.sleep  # delivery waits (FLOOD_WAIT, after a cut); tests shorten
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: Callable[[], None] | None = None

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> BotAccount:
        """Log in, follow job events, and pick up jobs a previous run left undelivered."""
        self.account = await self.gateway.start(self.on_message, self.on_callback)
        self._unsubscribe = self.runtime.jobs.subscribe(self._on_job_event)
        for record in await self.ledger.pending():
            job = self.runtime.jobs.get(record.job_id, whole=False)
            if job is None:
                await self.ledger.set_delivered(record.job_id)
                continue
            self.followed[job.id] = record
            if job.state == JobState.DONE:
                self._deliver(record, job)
        log.info("Telegram bot @%s is running", self.account.username)
        return self.account

    async def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        tasks = [*self._tasks, *self.deliveries.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.board.close()
        await self.gateway.stop()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _owner_ids(self) -> set[int]:
        return {s.user_id for s in await self.runtime.telegram.sessions.list_all()}

    # -- messages ---------------------------------------------------------------------------

    async def on_message(self, message: Message) -> None:
        """A message arrived: handled in a task of its own, so updates never wait."""
        self._spawn(self._guarded(self._on_message(message)))

    async def on_callback(self, query: CallbackQuery) -> None:
        """A button was pressed: handled in a task of its own."""
        self._spawn(self._guarded(self._on_callback(query)))

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Telegram bot: an update could not be handled")

    async def admitted(self, chat: Chat, sender: Sender) -> str | None:
        """None when the bot serves this person here, else the one sentence to answer.
        Every refusal is logged with the user id."""
        if not await self.access.allows(sender):
            log.warning("Telegram bot: refused user id %d (not allowed)", sender.user_id)
            return STRANGER
        if not self.access.answers_in(chat):
            log.warning("Telegram bot: user id %d wrote in group %d, which is not allowed",
                        sender.user_id, chat.id)
            return NOT_HERE
        return None

    async def _on_message(self, message: Message) -> None:
        refusal = await self.admitted(message.chat, message.sender)
        if refusal:
            await self.say(message.chat.id, refusal)
            return
        text = message.text.strip()
        if text.startswith("/"):
            await commands.run(self, message)
            return
        urls = list(dict.fromkeys(message.urls)) or [w for w in text.split() if _takes(w)]
        if not urls:
            await self.say(message.chat.id, commands.SHORT_HELP)
            return
        for url in urls[:MAX_LINKS]:
            await self._take(message, url)

    async def _take(self, message: Message, url: str) -> None:
        """One link: a card to choose from, or (a direct link) a job at once."""
        try:
            found = await sources.preview(self.runtime, url, from_network=True)
        except (JobError, NetError) as exc:
            await self.say(message.chat.id, str(exc))
            return
        if not offers.is_offer(found):
            fmt = await self.audio_format(message.sender.user_id)
            options = {"format": fmt} if "format" in _option_names(found.link.kind) else {}
            await self.start_job(message.chat, message.sender, found.link.url, found.link.kind,
                                 options, "")
            return
        text, buttons = offers.card(found, self.offers, message.sender.user_id,
                                    await self.audio_format(message.sender.user_id))
        folder = Path(tempfile.mkdtemp(prefix="audiofetch-bot-card-"))
        try:
            policy = self.runtime.jobs.address_policy()
            cover = await offers.space_cover(found, policy, folder)
            if cover is not None:
                with contextlib.suppress(TelegramError):
                    await self.gateway.send_photo(message.chat.id, cover, text, buttons)
                    return
            await self.say(message.chat.id, text, buttons)
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)

    async def _on_callback(self, query: CallbackQuery) -> None:
        refusal = await self.admitted(query.chat, query.sender)
        if refusal:
            await self._answer(query, refusal)
            return
        what, _, rest = query.data.decode("utf-8", "replace").partition(":")
        if what == "c":
            await self._answer(query, await self.cancel(rest, query.sender))
        elif what == "r":
            await self._answer(query, await self.send_again(rest, query.sender))
        elif what == "o":
            token, _, choice = rest.partition(":")
            offer = self.offers.get(token)
            if offer is None:
                await self._answer(query, "This choice has expired; send the link again.")
                return
            try:
                options, title = offer.job_for(choice, await self.audio_format(
                    query.sender.user_id))
            except ValueError:
                await self._answer(query, "That button is not one I know.")
                return
            await self._answer(query, "Starting…")
            await self.start_job(query.chat, query.sender, offer.url, offer.kind, options,
                                 title)
        else:
            await self._answer(query)

    async def _answer(self, query: CallbackQuery, text: str = "") -> None:
        with contextlib.suppress(TelegramError):
            await self.gateway.answer(query, text)

    async def say(self, chat_id: int, text: str, buttons: Keyboard | None = None) -> int | None:
        """Send a message; waits out one short FLOOD_WAIT; None when it could not be sent."""
        for _ in range(2):
            try:
                return await self.gateway.send_message(chat_id, text, buttons)
            except FloodWait as flood:
                if flood.seconds > 60:
                    break
                await self.sleep(flood.seconds)
            except TelegramError as exc:
                log.warning("Telegram bot: could not send a message: %s", exc)
                return None
        return None

    async def audio_format(self, user_id: int) -> str:
        """The person's default (/format), else Settings' audio format."""
        return await self.ledger.audio_format(user_id) or self.runtime.settings.get().audio_format

    # -- jobs -------------------------------------------------------------------------------

    def running_for(self, user_id: int) -> list[Job]:
        """The person's bot jobs that are queued, running or being sent."""
        found = []
        for job_id, record in self.followed.items():
            job = self.runtime.jobs.get(job_id, whole=False)
            if record.user_id == user_id and job is not None and (
                    job.state in ACTIVE_STATES or job_id in self.deliveries):
                found.append(job)
        return found

    async def start_job(self, chat: Chat, sender: Sender, url: str, kind: str,
                        options: dict[str, Any], title: str) -> Job | None:
        """Submit a job for the chat (within the person's limits) and post its status."""
        refusal = self.access.refusal(sender.user_id, len(self.running_for(sender.user_id)))
        if refusal:
            await self.say(chat.id, refusal)
            return None
        try:
            job = await sources.submit(self.runtime, url, kind, options, title=title,
                                       from_network=True, origin=f"{ORIGIN} · {chat.title}")
        except JobError as exc:
            await self.say(chat.id, str(exc))
            return None
        self.access.started(sender.user_id)
        text, buttons = status_text(job), offers.cancel_keyboard(job.id)
        message_id = await self.say(chat.id, text, buttons)
        if message_id is None:
            return job
        self.board.shown(chat.id, message_id, text, buttons)
        record = BotJob(job.id, chat.id, sender.user_id, chat.title, message_id)
        await self.ledger.add(record)
        self.followed[job.id] = record
        current = self.runtime.jobs.get(job.id, whole=False)
        if current is not None:  # it may have moved on while the message was sent
            self._on_job_event(JobEvent("updated", current))
        return job

    async def send_again(self, job_id: str, sender: Sender) -> str:
        """Send a finished job's files that a delivery gave up on (those sent before are not
        sent again); the answer's words."""
        record = self.followed.get(job_id) or await self.ledger.get(job_id)
        if record is None or record.user_id != sender.user_id:
            return "That is not one of your jobs."
        job = self.runtime.jobs.get(job_id)
        if job is None:
            return "That job is gone."
        if job.id in self.deliveries:
            return "It is being sent."
        if record.delivered:
            return "It was sent."
        if job.state != JobState.DONE:
            return "There is nothing to send: the job did not finish."
        self.followed[job.id] = record
        self._deliver(record, job)
        return "Sending again…"

    async def cancel(self, job_id: str, sender: Sender) -> str:
        """Stop a bot job (download or sending) for the person who may; the answer's words."""
        record = self.followed.get(job_id) or await self.ledger.get(job_id)
        if record is None or record.user_id != sender.user_id:
            return "That is not one of your jobs."
        delivery = self.deliveries.get(job_id)
        if delivery is not None:
            delivery.cancel()
            return "Sending stopped."
        try:
            job = await self.runtime.jobs.cancel(job_id)
        except KeyError:
            return "That job is gone."
        return "Cancelled." if job.state == JobState.CANCELLED else \
            f"It is {job.state.value} already."

    def _on_job_event(self, event: JobEvent) -> None:
        record = self.followed.get(event.job.id)
        if record is None:
            return
        job, chat, message = event.job, record.chat_id, record.status_message_id
        if event.type == "removed":
            self.followed.pop(job.id, None)
            self.board.show(chat, message, f"{job.title or job.url}\nDeleted in AudioFetch.")
            return
        if job.state == JobState.DONE:
            if job.id not in self.deliveries and not record.delivered:
                self._deliver(record, job)
            return
        if job.state in ACTIVE_STATES or job.state == JobState.PAUSED:
            self.board.show(chat, message, status_text(job), offers.cancel_keyboard(job.id))
        else:
            self.board.show(chat, message, status_text(job))

    def _deliver(self, record: BotJob, job: Job) -> None:
        title = job.title or job.url
        chat, message = record.chat_id, record.status_message_id
        buttons = offers.cancel_keyboard(job.id)
        self.board.show(chat, message, status_text(job), buttons)

        async def deliver() -> None:
            whole = self.runtime.jobs.get(job.id) or job
            delivery = Delivery(self.gateway, self.ledger, record,
                                lambda words: self.board.show(chat, message, f"{title}\n{words}",
                                                              buttons), sleep=self.sleep)
            try:
                report = await delivery.run(whole)
            except asyncio.CancelledError:
                self.board.show(chat, message, f"{title}\nSaved on the computer; sending "
                                "stopped.")
                await self.ledger.set_delivered(job.id)
                raise
            except (DeliveryFailed, TelegramError, OSError) as exc:
                log.warning("Telegram bot: could not send job %s: %s", job.id, exc)
                self.board.show(chat, message, f"{title}\nNot sent: {exc}",
                                offers.send_again_keyboard(job.id))
                return
            record.delivered = True
            await self.ledger.set_delivered(job.id)
            self.board.show(chat, message, f"{title}\nDone. {report.sentence()}")

        task = asyncio.create_task(deliver(), name=f"bot-deliver-{job.id}")
        self.deliveries[job.id] = task
        task.add_done_callback(lambda _t: self.deliveries.pop(job.id, None))


def _takes(word: str) -> bool:
    """A word of the message some source takes as a link (a source decides, not the bot)."""
    try:
        sources.recognise(word)
    except JobError:
        return False
    return True


def _option_names(kind: str) -> set[str]:
    from audiofetch_app.core import registry

    return registry.get(kind).options.names()
