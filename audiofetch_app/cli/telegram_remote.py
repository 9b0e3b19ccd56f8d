"""`audiofetch telegram` while the app is open: the commands that read or sync run in the app
over its REST API (`/api/telegram/...`, see cli.remote); the ones that change credentials,
sessions or sources say to use the app's Telegram tab, or to close the app first.

Why not all of them: a login asks questions while Telegram waits (a code, a password, a QR
code to scan), and the open window may be in the middle of the same change; one place to make
such changes at a time keeps a half-done login or edit from crossing another.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from audiofetch_app.cli.common import EXIT_FAILED, EXIT_OK, EXIT_PAUSED, EXIT_USAGE, follow_remote
from audiofetch_app.cli.remote import RemoteApp, RemoteError
from audiofetch_app.cli.telegram_common import Usage, _pick, print_json
from audiofetch_app.cli.telegram_sources import print_sources

API = "/api/telegram"


async def telegram_in_app(app: RemoteApp, args: argparse.Namespace) -> int:
    """Run one `audiofetch telegram ACTION` in the open app; every failure is one sentence."""
    action = args.tg_command
    sub = getattr(args, f"{action}_command", None) or "list"
    try:
        if action == "sync":
            return await _sync(app, args)
        if action == "sources" and sub == "list":
            return await _sources(app, getattr(args, "json", False))
        if action == "sessions" and sub == "list":
            return await _sessions(app, getattr(args, "json", False))
        if action == "channels":
            return await _channels(app, args)
    except Usage as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except RemoteError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    print(f"AudioFetch is open at {app.url}: make this change in its Telegram tab, or close it "
          "and run this command again.", file=sys.stderr)
    return EXIT_FAILED


async def _sources(app: RemoteApp, as_json: bool) -> int:
    from audiofetch_app.sources.telegram.catalog import TelegramSource

    found = await app.call("GET", f"{API}/sources")
    return print_sources([(TelegramSource.from_dict(s), s.get("sync")) for s in found], as_json)


async def _session_list(app: RemoteApp) -> list[dict[str, Any]]:
    return await app.call("GET", f"{API}/sessions")


async def _session_id(app: RemoteApp, ref: str) -> str:
    records = await _session_list(app)
    return _pick(ref, [(r["id"], (r.get("name", ""),)) for r in records], "session",
                 "`audiofetch telegram sessions`")


async def _sessions(app: RemoteApp, as_json: bool) -> int:
    records = await _session_list(app)
    if as_json:
        print_json(records)
        return EXIT_OK
    if not records:
        print("No Telegram sessions yet; log in with: audiofetch telegram login")
    for r in records:
        print(f"{r['id']}  {r['name']}  ({r.get('display_name', '')}, "
              f"{r.get('masked_phone', '')}, since {str(r.get('created_at', ''))[:10]})")
    return EXIT_OK


async def _channels(app: RemoteApp, args: argparse.Namespace) -> int:
    session_id = await _session_id(app, args.session)
    found = await app.call("GET", f"{API}/sessions/{session_id}/channels")
    for c in found:
        c["kind"] = "forum" if c.get("is_forum") else "group" if c.get("is_group") \
            else "channel"
    if args.json:
        print_json([{k: c.get(k) for k in ("id", "title", "username", "kind")} for c in found])
        return EXIT_OK
    for c in found:
        at = f"  @{c['username']}" if c.get("username") else ""
        print(f"{c['id']:>15}  {c['kind']:<7}  {c['title']}{at}")
    return EXIT_OK


async def _sync(app: RemoteApp, args: argparse.Namespace) -> int:
    found = await app.call("GET", f"{API}/sources")
    if args.all:
        ids = [s["id"] for s in found]
        if not ids:
            raise RemoteError("There are no Telegram sources yet; add one with: "
                              "audiofetch telegram sources add SESSION @channel")
    elif args.sources:
        items = [(s["id"], (s.get("title", ""), f"@{s['username']}" if s.get("username")
                            else "")) for s in found]
        ids = list(dict.fromkeys(_pick(ref, items, "source", "`audiofetch telegram sources`")
                                 for ref in args.sources))
    else:
        raise Usage("Name the sources to sync (audiofetch telegram sources lists them), "
                    "or give --all.")
    jobs = [(await app.call("POST", f"{API}/sources/{i}/sync"))["job_id"] for i in ids]
    codes = [(await follow_remote(app, job_id))[0] for job_id in jobs]
    if EXIT_FAILED in codes:
        return EXIT_FAILED
    return EXIT_PAUSED if EXIT_PAUSED in codes else EXIT_OK
