"""The bot's commands: /start, /help, /jobs, /cancel and /format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audiofetch_app.bot.gateway import InlineButton, Message
from audiofetch_app.bot.status import progress_line
from audiofetch_app.core.job_record import JobState
from audiofetch_app.settings import AUDIO_FORMATS

if TYPE_CHECKING:
    from audiofetch_app.bot.service import TelegramBot

SHORT_HELP = ("Send me a link: an X Space, a web page with audio, or a link to an audio file "
              "or HLS playlist. /help says more.")
HELP = """Send me links, one or several in a message:
• an X Space (x.com/i/spaces/…): I show it, you choose m4a or mp3, I send the recording
  (a live Space is recorded from its start until it ends);
• a web page with audio players: I say how many tracks I found; send them all (as albums
  of up to 10), as one ZIP, or just one;
• a link to an audio file or an HLS playlist (.m3u8): I start at once.
Each job has a status message with a Cancel button. Files over 2,000 MB stay on the
computer; I say where.

/jobs – your last jobs
/cancel – stop one of them
/format m4a|mp3 – your default format (now: {fmt})"""


async def run(bot: TelegramBot, message: Message) -> None:
    """Answer a command message (its first word, `/name` or `/name@botname`)."""
    word, _, rest = message.text.strip().partition(" ")
    name = word[1:].split("@", 1)[0].lower()
    chat, user = message.chat.id, message.sender.user_id
    if name in ("start", "help"):
        await bot.say(chat, HELP.format(fmt=await bot.audio_format(user)))
    elif name == "jobs":
        await bot.say(chat, await jobs_text(bot, user))
    elif name == "cancel":
        running = bot.running_for(user)
        if not running:
            await bot.say(chat, "Nothing of yours is running.")
            return
        await bot.say(chat, "Which one shall I stop?", [
            [InlineButton((job.title or job.url)[:60], f"c:{job.id}".encode())]
            for job in running[:10]])
    elif name == "format":
        chosen = rest.strip().lower().lstrip(".")
        if chosen not in AUDIO_FORMATS:
            await bot.say(chat, f"Write /format m4a or /format mp3 (now: "
                                f"{await bot.audio_format(user)}).")
            return
        await bot.ledger.set_audio_format(user, chosen)
        await bot.say(chat, f"Your default format is {chosen} now.")
    else:
        await bot.say(chat, "I do not know that command. " + SHORT_HELP)


async def jobs_text(bot: TelegramBot, user_id: int) -> str:
    """The person's last ten bot jobs with their states, newest first."""
    records = await bot.ledger.jobs_of(user_id, limit=10)
    lines = []
    for record in records:
        job = bot.runtime.jobs.get(record.job_id, whole=False)
        if job is None:
            continue
        if job.state == JobState.DONE:
            state = "sent" if record.delivered else "sending" \
                if record.job_id in bot.deliveries else "saved"
        elif job.state == JobState.FAILED:
            state = f"failed: {job.error}"
        elif job.active:
            state = progress_line(job).split("\n")[0]
        else:
            state = job.state.value
        lines.append(f"• {job.title or job.url} — {state}")
    return "Your last jobs:\n" + "\n".join(lines) if lines else "You have no jobs yet."
