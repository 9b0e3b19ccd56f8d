"""`audiofetch telegram`: API credentials, login, sessions, channels, sources and sync."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from audiofetch_app.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, close, open_or_reach
from audiofetch_app.cli.telegram_common import (
    Usage,
    ask,
    print_json,
    session_id_of,
)
from audiofetch_app.cli.telegram_sources import sources_command, sync_command
from audiofetch_app.core.job_context import JobError

if TYPE_CHECKING:
    from audiofetch_app.sources.runtime import Runtime
    from audiofetch_app.sources.telegram.service import TelegramService

TRIES = 3  # wrong codes or passwords before the login gives up
QR_POLL = 5.0  # seconds per wait for the scan; a renewed QR code is redrawn between waits
# ---------------------------------------------------------------- the command


async def telegram_command(args: argparse.Namespace) -> int:
    """Run one `audiofetch telegram ACTION`; every failure ends as one sentence."""
    from audiofetch_app.sources.runtime import Runtime
    from audiofetch_app.sources.telegram.credentials import HOW_TO, CredentialsMissing

    action = _actions()[args.tg_command]
    runtime = await open_or_reach(args)
    if runtime is None:
        return EXIT_FAILED
    if not isinstance(runtime, Runtime):  # the app is open: run it there
        from audiofetch_app.cli.telegram_remote import telegram_in_app

        try:
            return await telegram_in_app(runtime, args)
        finally:
            await close(runtime)
    try:
        return await action(runtime, args)
    except Usage as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except CredentialsMissing:
        print(HOW_TO, file=sys.stderr)
        print("Then enter them with: audiofetch telegram credentials", file=sys.stderr)
        return EXIT_FAILED
    except JobError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # never a traceback on the terminal: one sentence, the log has it
        from audiofetch_app.core.job_context import user_message

        logging.getLogger(__name__).exception("telegram %s failed", args.tg_command)
        print(user_message(exc), file=sys.stderr)
        return EXIT_FAILED
    finally:
        await runtime.close()


async def _credentials(runtime: Runtime, args: argparse.Namespace) -> int:
    from audiofetch_app.sources.telegram.credentials import HOW_TO

    credentials = runtime.telegram.credentials
    if args.clear:
        await credentials.clear()
        print("Forgot the Telegram API credentials.")
        return EXIT_OK
    api_id, api_hash = args.api_id, args.api_hash
    if api_id is None and api_hash is None and await credentials.is_set():
        print("The Telegram API credentials are set; replace them with --api-id and "
              "--api-hash, or forget them with --clear.")
        return EXIT_OK
    if api_id is None or api_hash is None:
        print(HOW_TO)
    if api_id is None:
        api_id = ask("api_id: ", "--api-id")
    if api_hash is None:
        api_hash = ask("api_hash (not shown): ", "--api-hash", secret=True)
    await credentials.set(api_id, api_hash)
    print("Saved the Telegram API credentials (encrypted).")
    return EXIT_OK


async def _login(runtime: Runtime, args: argparse.Namespace) -> int:
    tg = runtime.telegram
    await tg.credentials.get()  # missing credentials: the how-to now, before any question
    if args.string_session is not None or args.string_session_stdin:
        text = args.string_session if args.string_session is not None else sys.stdin.read()
        record = await tg.login.import_session_string(args.name, text)
    elif args.session_file is not None:
        record = await tg.login.import_session_file(args.name, args.session_file.expanduser())
    else:
        record = await _interactive_login(tg, args)
    print(f"Logged in as {record.display_name} ({record.masked_phone}): "
          f"session {record.id} “{record.name}”.")
    return EXIT_OK


async def _interactive_login(tg: TelegramService, args: argparse.Namespace) -> Any:
    from audiofetch_app.sources.telegram.login import LoginStep

    if args.qr:
        login_id, url = await tg.login.start_qr()
    else:
        phone = args.phone or ask("Phone number, with its country code: ", "--phone")
        login_id = await tg.login.start_login(phone)
    finished = False
    try:
        step = await (_wait_for_scan(tg, login_id, url) if args.qr
                      else _enter_code(tg, login_id))
        if step is LoginStep.PASSWORD:
            await _enter_password(tg, login_id)
        # A name typed here counts as given: only an empty answer takes the account's name.
        args.name = args.name or ask("A name for this session (Enter: the account's name): ")
        record = await tg.login.finish(login_id, args.name)
        finished = True
        return record
    finally:
        if not finished:  # nothing half-logged-in is left in the vault
            await tg.login.cancel(login_id)


def _gave_up(exc: Exception) -> JobError:
    print(exc, file=sys.stderr)
    return JobError(f"That was the last of {TRIES} tries; start again with: "
                    "audiofetch telegram login")


async def _enter_code(tg: TelegramService, login_id: str) -> Any:
    from audiofetch_app.sources.telegram.gateway import CodeExpired, WrongCode

    print("Telegram sent a login code to your Telegram app (or by SMS).")
    wrong = 0
    while True:
        try:
            return await tg.login.submit_code(login_id, ask("Code: "))
        except WrongCode as exc:
            wrong += 1
            if wrong == TRIES:
                raise _gave_up(exc) from None
            print(exc, file=sys.stderr)
        except CodeExpired as exc:
            print(exc, file=sys.stderr)
            if ask("Send a new code? [Y/n] ").lower() not in ("", "y", "yes"):
                raise
            await tg.login.resend_code(login_id)
            print("Sent a new code.")


async def _enter_password(tg: TelegramService, login_id: str) -> None:
    from audiofetch_app.sources.telegram.gateway import WrongPassword

    print("This account has two-step verification.")
    for attempt in range(1, TRIES + 1):
        try:
            await tg.login.submit_password(login_id, ask("Password (not shown): ", secret=True))
            return
        except WrongPassword as exc:
            if attempt == TRIES:
                raise _gave_up(exc) from None
            print(exc, file=sys.stderr)


async def _wait_for_scan(tg: TelegramService, login_id: str, url: str) -> Any:
    from audiofetch_app.sources.telegram.login import LoginStep

    print("Scan this code with Telegram on your phone: Settings → Devices → Link Desktop "
          "Device. It is renewed by itself until it is scanned.")
    shown = ""
    while True:
        url = tg.login.qr_url(login_id) or url
        if url != shown:  # Telegram's codes last about 30 s: draw the renewed one
            show_qr(url)
            shown = url
        step = await tg.login.wait_qr(login_id, QR_POLL)
        if step is not LoginStep.QR:
            return step


def show_qr(url: str) -> None:
    """Draw `url` as a QR code on the terminal, and print it for terminals that cannot."""
    import segno

    # A terminal that cannot show block characters still gets the URL.
    with contextlib.suppress(UnicodeEncodeError):
        segno.make(url).terminal(out=sys.stdout, compact=True)
    print(url, flush=True)


# ---------------------------------------------------------------- sessions and channels


async def _sessions(runtime: Runtime, args: argparse.Namespace) -> int:
    tg = runtime.telegram
    action = args.sessions_command or "list"
    if action == "list":
        records = await tg.sessions.list_all()
        if getattr(args, "json", False):
            print_json([asdict(r) for r in records])
            return EXIT_OK
        if not records:
            print("No Telegram sessions yet; log in with: audiofetch telegram login")
        for r in records:
            print(f"{r.id}  {r.name}  ({r.display_name}, {r.masked_phone}, "
                  f"since {r.created_at[:10]})")
        return EXIT_OK
    session_id = await session_id_of(tg, args.session)
    if action == "rename":
        record = await tg.sessions.rename(session_id, args.name)
        print(f"Session {record.id} is now “{record.name}”.")
    elif await tg.delete_session(session_id):
        print(f"Logged out and forgot session {session_id}.")
    else:
        print(f"Forgot session {session_id}; Telegram could not be told, so end it in "
              "Telegram → Settings → Devices.")
    return EXIT_OK


def _kind(channel: Any) -> str:
    return "forum" if channel.is_forum else "group" if channel.is_group else "channel"


async def _channels(runtime: Runtime, args: argparse.Namespace) -> int:
    tg = runtime.telegram
    found = await tg.sessions.channels(await session_id_of(tg, args.session))
    if args.json:
        print_json([{"id": c.id, "title": c.title, "username": c.username, "kind": _kind(c)}
               for c in found])
        return EXIT_OK
    for c in found:
        at = f"  @{c.username}" if c.username else ""
        print(f"{c.id:>15}  {_kind(c):<7}  {c.title}{at}")
    return EXIT_OK


def _actions() -> dict[str, Any]:
    return {"credentials": _credentials, "login": _login, "sessions": _sessions,
            "channels": _channels, "sources": sources_command, "sync": sync_command}
