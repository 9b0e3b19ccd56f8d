"""The words of `audiofetch`: every command, option and help text, in one argparse parser."""

from __future__ import annotations

import argparse
from pathlib import Path

from audiofetch_app import __version__
from audiofetch_app.cli.bot import add_bot_parser
from audiofetch_app.core import targets

WINDOW_COMMANDS = ("gui", "serve", "bot")  # started by audiofetch_app.app, not by this package
ZONE_NOTE = ("a day in the time zone Settings chooses for Telegram dates, else in this "
             "computer's time zone")


def folder(value: str) -> Path:
    """`-o FOLDER`: an empty value is refused (Path("") would quietly mean this folder)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("give a folder (or leave -o out for the download "
                                         "folder)")
    return Path(value)


def number(low: int, high: int | None = None):
    """An argparse type for a whole number from `low` to `high` (no upper bound if None)."""
    def parse(value: str) -> int:
        try:
            found = int(value)
        except ValueError:
            found = None
        if found is None or found < low or (high is not None and found > high):
            raise argparse.ArgumentTypeError(
                f"give a whole number from {low} to {high}" if high is not None else
                f"give a whole number of at least {low}")
        return found
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="audiofetch",
        description="Save audio from X Spaces, web pages and Telegram channels.",
    )
    parser.add_argument("--version", action="version", version=f"AudioFetch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also print log lines (they always go to the log file)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("gui", help="open the app window (the default)")

    serve = sub.add_parser("serve", help="serve the app to a browser (or the LAN)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on; anything but loopback (e.g. 0.0.0.0 for "
                            "the LAN) needs a password")
    serve.add_argument("--port", type=number(0, 65535), default=8765,
                       help="the port to listen on (0: any free one; 8765)")
    serve.add_argument("--password-file", type=Path,
                       help="file whose first line is the LAN password (or set "
                            "AUDIOFETCH_PASSWORD); kept only as a Scrypt hash")
    serve.add_argument("--trusted-proxy", action="append", default=[], metavar="IP",
                       help="a reverse proxy (address or network; repeat or separate with "
                            "commas) whose X-Forwarded-For and X-Forwarded-Proto are believed; "
                            "without one they are ignored")
    serve.add_argument("--allow-network", action="append", default=[], metavar="CIDR",
                       help="a network that downloads asked for from other devices may reach "
                            "(a NAS: 192.168.1.20 or 192.168.1.0/24; repeatable); otherwise "
                            "they reach only the internet")

    get = sub.add_parser("get", help="download a direct audio link or HLS audio playlist")
    get.add_argument("url")
    get.add_argument("-o", "--output", type=folder, help="folder to save into")
    add_target_options(get)
    add_limit_options(get)
    get.add_argument("--name", help="file name to use (without extension)")
    get.add_argument("--format", choices=["m4a", "mp3"], help="output format for HLS audio")
    get.add_argument("--referer", help="Referer header some servers require")
    get.add_argument("--workers", type=int, help="parallel segment downloads for HLS")

    space = sub.add_parser("space", help="download an X Space (replay or live)")
    space.add_argument("url", nargs="?", help="the Space link (or its id)")
    space.add_argument("-o", "--output", type=folder, help="folder to save into")
    add_target_options(space)
    add_limit_options(space)
    space.add_argument("--format", choices=["m4a", "mp3"])
    space.add_argument("--cookies", type=Path, help="a Netscape cookies.txt with auth_token/ct0")
    space.add_argument("--workers", type=int, help="parallel chunk downloads (default 16)")
    space.add_argument("--info", action="store_true", help="show the Space, download nothing")
    space.add_argument("--playlist-url", help="download this Space playlist directly")

    page = sub.add_parser("page", help="download every track a web page offers")
    page.add_argument("url")
    page.add_argument("name", nargs="?", help="a name for the collection (ZIP or folder)")
    page.add_argument("-o", "--output", type=folder, help="folder to save into")
    add_target_options(page)
    add_limit_options(page)
    page.add_argument("--plugin", help="use only this player family")
    page.add_argument("--workers", type=int, help="parallel track downloads, 1 to 20 (5)")
    page.add_argument("--zip", action=argparse.BooleanOptionalAction, default=None,
                      help="one ZIP (default) or a folder of files")
    page.add_argument("--list", action="store_true", help="print the tracks, download nothing")
    page.add_argument("--tracks", metavar="NUMBERS",
                      help="only these tracks, by their numbers in --list: 1,3-5 (default all)")
    page.add_argument("--cookies", type=Path, help="a Netscape cookies.txt for the site")

    _add_telegram(sub.add_parser("telegram", help="Telegram login, sessions, sources and sync"))
    add_bot_parser(sub)

    extension = sub.add_parser("extension", description="Print the folder of the browser "
                               "extension that sends what a page really plays to AudioFetch, "
                               "and how to load it in Chrome, Edge, Brave or Firefox.",
                               help="where the browser extension is, and how to "
                               "load it (or --zip FILE to pack it)")
    extension.add_argument("--zip", type=Path, metavar="FILE",
                           help="write the extension as a ZIP (for a store or signing)")

    restore = sub.add_parser("restore-database", help="put back the last good copy of a "
                             "damaged database (the damaged file is kept beside it)")
    restore.add_argument("--force", action="store_true",
                         help="restore it even though the database reads cleanly")

    jobs = sub.add_parser("jobs", help="list, resume, retry or delete jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", metavar="ACTION")
    listing = jobs_sub.add_parser("list", help="list jobs, newest first (the default)")
    listing.add_argument("--state", action="append",
                         choices=["queued", "running", "done", "failed", "cancelled",
                                  "interrupted"])
    listing.add_argument("--limit", type=number(1), default=50)
    listing.add_argument("--json", action="store_true")
    for action, text in (("resume", "resume or retry a job here, with progress"),
                         ("retry", "same as resume")):
        p = jobs_sub.add_parser(action, help=text)
        p.add_argument("job_id")
    delete = jobs_sub.add_parser("delete", help="forget a job")
    delete.add_argument("job_id")
    delete.add_argument("--files", action="store_true", help="also delete what it saved")
    _add_verbose(parser)
    return parser


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    """`-v` after any command too (`audiofetch get -v URL`); SUPPRESS keeps a `-v` given
    before the command from being reset by the command's default."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                if "-v" not in child._option_string_actions:
                    child.add_argument("-v", "--verbose", action="store_true",
                                       default=argparse.SUPPRESS, help=argparse.SUPPRESS)
                _add_verbose(child)


def _add_telegram(telegram: argparse.ArgumentParser) -> None:
    """`audiofetch telegram ACTION`; the actions run in cli_telegram.py."""
    telegram.set_defaults(tg_help=telegram.print_help)
    sub = telegram.add_subparsers(dest="tg_command", metavar="ACTION")
    creds = sub.add_parser("credentials", help="enter (or --clear) the api_id and api_hash "
                           "from my.telegram.org; asks for what is not given")
    creds.add_argument("--api-id")
    creds.add_argument("--api-hash", help="better left out: it is then asked, not shown")
    creds.add_argument("--clear", action="store_true", help="forget them")

    login = sub.add_parser("login", help="log in (phone and code by default) and keep "
                           "the session; the session string is never shown")
    login.add_argument("--phone", help="with its country code, like +44 7700 900123")
    login.add_argument("--name", help="a name for the session (default: the account's name)")
    how = login.add_mutually_exclusive_group()
    how.add_argument("--qr", action="store_true", help="show a QR code to scan in Telegram")
    how.add_argument("--session-file", type=Path, help="import a Telethon .session file")
    how.add_argument("--string-session", help="import a Telethon string session (other "
                     "users can see command lines: prefer --string-session-stdin)")
    how.add_argument("--string-session-stdin", action="store_true",
                     help="read the string session from standard input")

    sessions = sub.add_parser("sessions", help="list, rename or delete sessions")
    sessions_sub = sessions.add_subparsers(dest="sessions_command", metavar="ACTION")
    sessions_sub.add_parser("list", help="the default").add_argument("--json",
                                                                     action="store_true")
    rename = sessions_sub.add_parser("rename", help="give a session another name")
    rename.add_argument("session", help="its id, a unique start of it, or its name")
    rename.add_argument("name")
    forget = sessions_sub.add_parser("delete", help="log a session out and forget it")
    forget.add_argument("session")

    channels = sub.add_parser("channels", help="the channels and groups a session can read")
    channels.add_argument("session")
    channels.add_argument("--json", action="store_true")

    sources = sub.add_parser("sources", help="channels to keep synced: list, add, edit, delete")
    sources_sub = sources.add_subparsers(dest="sources_command", metavar="ACTION")
    sources_sub.add_parser("list", help="with last sync, files and next run (the default)"
                           ).add_argument("--json", action="store_true")
    add = sources_sub.add_parser("add", help="keep a channel's audio synced")
    add.add_argument("session")
    add.add_argument("ref", help="@name, a t.me link, an invite link (t.me/+…) or an id")
    edit = sources_sub.add_parser("edit", help="change what a source keeps, where, how often")
    edit.add_argument("source", help="its id, a unique start of it, its title or @name")
    edit.add_argument("--session", help="read it through another session")
    edit.add_argument("--all-topics", action="store_true", help="keep every forum topic")
    for p in (add, edit):
        p.add_argument("--keep", metavar="KINDS", help="music,voice,round,document "
                       "(default music,voice,document)")
        p.add_argument("--ext", metavar="EXTS", help="more file types to keep, like flac,zip")
        p.add_argument("--from", dest="date_from", metavar="DATE",
                       help=f"keep posts from this day on, like 2024-05-31; {ZONE_NOTE}")
        p.add_argument("--to", dest="date_to", metavar="DATE",
                       help=f"keep posts up to this day (inclusive), like 2024-12-31; "
                            f"{ZONE_NOTE}")
        p.add_argument("--topics", help="forum topic numbers, like 5,9 (default: all)")
        p.add_argument("--template", help="file names, like '{channel}/{title}.{ext}' "
                       "({date} is in the same time zone as --from/--to)")
        p.add_argument("-o", "--output", type=folder, help="folder to save into")
        add_target_options(p)
        p.add_argument("--every", type=float, metavar="HOURS",
                       help="sync by itself while the app runs (0: only when asked)")
    sources_sub.add_parser("delete", help="forget a source; its files stay").add_argument(
        "source")

    sync = sub.add_parser(
        "sync", help="sync sources now, with progress; prints the folder last (exit 75: "
                     "paused, Telegram asked to wait)",
        description="Sync now, in the foreground. Exit code 0 when every sync finished; 1 "
                    "when one failed; 75 when Telegram asked to wait longer than two minutes "
                    "(FLOOD_WAIT): the sync is then paused and goes on by itself at the time "
                    "it says while AudioFetch is open.")
    sync.add_argument("sources", nargs="*", metavar="SOURCE",
                      help="id, unique start of an id, title or @name")
    sync.add_argument("--all", action="store_true", help="every source")


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """`--max-filesize SIZE`, as yt-dlp names it."""
    parser.add_argument("--max-filesize", metavar="SIZE",
                        help="stop a file larger than this (50M, 2G; default from Settings, "
                             "4G) and delete what arrived")


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """`--target ADDRESS` and each kind of target's own fields as `--target-FIELD` (secret
    fields are asked, never given on the command line)."""
    parser.add_argument("--target", metavar="ADDRESS",
                        help="save there instead of -o or the download folder: " + ", ".join(
                            f"{k.LABEL.lower()} ({k.EXAMPLE})" for k in targets.kinds())
                        + "; secret keys are asked, not shown")
    seen: set[str] = set()
    for kind in targets.kinds():
        for name, label, secret in kind.FIELDS[1:]:
            if secret or name in seen:
                continue
            seen.add(name)
            parser.add_argument(f"--target-{name.replace('_', '-')}", dest=f"target_{name}",
                                metavar=name.split("_")[-1].upper(),
                                help=f"{label} ({kind.LABEL} targets)")
    # The names these options had when only Telegram sources could save to S3.
    for old, new in (("--s3", "target"), ("--s3-endpoint", "target_endpoint_url"),
                     ("--s3-region", "target_region"), ("--s3-key-id", "target_key_id")):
        parser.add_argument(old, dest=new, help=argparse.SUPPRESS)
