"""`audiofetch telegram` end to end against the fake Telegram (in-process: the fake lives here).

Every test's output and log are checked afterwards for the secrets a login handles.
"""

from __future__ import annotations

import asyncio
import builtins
import getpass
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession

from audiofetch_app.app import main
from audiofetch_app.cli import telegram as cli_telegram
from audiofetch_app.cli.common import EXIT_PAUSED
from audiofetch_app.sources.runtime import open_runtime
from audiofetch_app.sources.telegram import gateway as gw
from tests.fakes import telegram as fake
from tests.telegram_app import (
    API_HASH,
    API_ID,
    CODE,
    CODE_2FA,
    FORUM_PEER,
    PASSWORD_2FA,
    PHONE,
    PHONE_2FA,
    PRIVATE_INVITE,
)

Answer = str | Callable[[str], str]
S3_SECRET = "s3-secret-access-key-0123456789"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def last_line(self) -> str:
        return self.out.strip().splitlines()[-1]


@dataclass
class Cli:
    """Runs `audiofetch telegram ...` in this process with scripted answers to its questions."""

    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    prompts: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # everything printed, for the secret check

    def __call__(self, *args: str, answers: list[Answer] = (), passwords: list[str] = (),
                 stdin: str | None = None) -> Result:
        self.prompts.clear()
        self.monkeypatch.setattr(builtins, "input", self._script(list(answers)))
        self.monkeypatch.setattr(getpass, "getpass", self._script(list(passwords)))
        if stdin is not None:
            self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["telegram", *args])
        captured = self.capsys.readouterr()
        self.seen += [captured.out, captured.err]
        return Result(code, captured.out, captured.err)

    def _script(self, answers: list[Answer]) -> Callable[[str], str]:
        def answer(prompt: str = "") -> str:
            self.prompts.append(prompt)
            if not answers:
                raise EOFError  # like a closed stdin
            given = answers.pop(0)
            return given(prompt) if callable(given) else given
        return answer

    def ready(self) -> None:
        assert self("credentials", "--api-id", API_ID, "--api-hash", API_HASH).code == 0

    def logged_in(self, name: str = "Main") -> str:
        self.ready()
        result = self("login", "--phone", PHONE, "--name", name, answers=[CODE])
        assert result.code == 0, result.err
        return json.loads(self("sessions", "list", "--json").out)[-1]["id"]


def stored_secrets() -> tuple[list[str], list[str]]:
    """(every stored session string, every vault name) in AUDIOFETCH_HOME."""
    async def read() -> tuple[list[str], list[str]]:
        runtime = await open_runtime(console_log=False)
        try:
            sessions = runtime.telegram.sessions
            strings = [await sessions.session_string(r.id) for r in await sessions.list_all()]
            return strings, runtime.vault.names()
        finally:
            await runtime.close()
    return asyncio.run(read())


@pytest.fixture
def cli(tg_world: fake.FakeTelegram, af_home: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    runner = Cli(monkeypatch, capsys)
    yield runner
    strings, names = stored_secrets()
    assert not [n for n in names if n.startswith("telegram_login:")]  # no login left behind
    log = af_home / "logs" / "audiofetch.log"
    text = "\n".join(runner.seen) + (log.read_text(encoding="utf-8") if log.exists() else "")
    for secret in [API_HASH, PHONE, PHONE.lstrip("+"), PHONE_2FA.lstrip("+"), PASSWORD_2FA,
                   S3_SECRET, *strings]:
        assert secret not in text


def authorized_string(world: fake.FakeTelegram, phone: str = PHONE) -> str:
    """A string session the fake world knows as logged in to `phone`."""
    gateway = world.factory(None, 1, "x")
    asyncio.run(gateway.connect())
    world.authorized[gateway.key] = phone
    return asyncio.run(gateway.export_session())


# ---------------------------------------------------------------- credentials and login


def test_missing_credentials_say_how_to_get_them(cli: Cli) -> None:
    result = cli("login", "--phone", PHONE)
    assert result.code == 1 and "my.telegram.org" in result.err
    assert "audiofetch telegram credentials" in result.err and "Traceback" not in result.err
    asked = cli("credentials")  # nothing on stdin: the how-to, then what to type
    assert asked.code == 2 and "my.telegram.org" in asked.out and "--api-id" in asked.err
    entered = cli("credentials", answers=[API_ID], passwords=[API_HASH])
    assert entered.code == 0 and cli.prompts == ["api_id: ", "api_hash (not shown): "]
    assert "set" in cli("credentials").out
    bad = cli("credentials", "--api-id", "abc", "--api-hash", API_HASH)
    assert bad.code == 1 and "api_id is a number" in bad.err
    assert cli("credentials", "--clear").code == 0
    assert "my.telegram.org" in cli("login", "--qr").err


def test_bare_command_shows_the_actions(cli: Cli) -> None:
    result = cli()
    assert result.code == 2 and "sources" in result.err and "sync" in result.err


def test_login_by_code_wrong_then_right(cli: Cli) -> None:
    cli.ready()
    result = cli("login", answers=[PHONE, "99999", CODE, ""])
    assert result.code == 0, result.err
    assert cli.prompts.count("Code: ") == 2 and "not correct" in result.err
    assert "Logged in as Ada Lovelace (+44 •••• ••23)" in result.out
    listed = json.loads(cli("sessions", "list", "--json").out)
    assert [(s["name"], s["masked_phone"]) for s in listed] == [("Ada Lovelace",
                                                                 "+44 •••• ••23")]


def test_three_wrong_codes_give_up_and_leave_nothing(cli: Cli) -> None:
    cli.ready()
    result = cli("login", "--phone", PHONE, answers=["1", "2", "3"])
    assert result.code == 1 and "last of 3 tries" in result.err
    assert json.loads(cli("sessions", "list", "--json").out) == []

    def ctrl_c(_prompt: str) -> str:
        raise KeyboardInterrupt

    stopped = cli("login", "--phone", PHONE, answers=[CODE, ctrl_c])  # at the name question
    assert stopped.code == 130 and "Traceback" not in stopped.err
    assert json.loads(cli("sessions", "list", "--json").out) == []


def test_expired_code_offers_a_new_one(cli: Cli, tg_world: fake.FakeTelegram) -> None:
    cli.ready()

    def expire_then_type(_prompt: str) -> str:
        tg_world.expire_codes()
        return CODE

    result = cli("login", "--phone", PHONE, "--name", "Again",
                 answers=[expire_then_type, "y", CODE])
    assert result.code == 0, result.err
    assert "expired" in result.err and "Sent a new code" in result.out
    assert tg_world.sent_codes == [PHONE, PHONE]


def test_two_step_password_wrong_then_right(cli: Cli) -> None:
    cli.ready()
    result = cli("login", "--phone", PHONE_2FA, "--name", "Work", answers=[CODE_2FA],
                 passwords=["wrong-one", PASSWORD_2FA])
    assert result.code == 0, result.err
    assert "password is not correct" in result.err
    assert "Grace Hopper" in result.out and "“Work”" in result.out
    typed = cli("login", "--phone", PHONE, answers=[CODE, "  Typed name "])
    assert typed.code == 0 and "“Typed name”" in typed.out


def test_qr_login_redraws_a_renewed_code_then_asks_the_password(
        cli: Cli, tg_world: fake.FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.ready()
    # Every wait ends with an expired code, so each poll renews it and the CLI redraws it;
    # the phone scans the second one.
    monkeypatch.setattr(fake.FakeQr, "expires_at", property(lambda self: 0.0))
    monkeypatch.setattr(cli_telegram, "QR_POLL", 0.01)
    shown: list[str] = []
    draw = cli_telegram.show_qr

    def show_and_scan(url: str) -> None:
        draw(url)
        shown.append(url)
        if len(shown) == 2:
            tg_world.scan_qr(url, PHONE_2FA)

    monkeypatch.setattr(cli_telegram, "show_qr", show_and_scan)
    result = cli("login", "--qr", answers=[""], passwords=[PASSWORD_2FA])
    assert result.code == 0, result.err
    assert len(set(shown)) == 2 and all(u.startswith("tg://login?token=") for u in shown)
    assert all(u in result.out for u in shown) and "▀" in result.out  # the drawn QR code
    assert "Logged in as Grace Hopper" in result.out


def test_import_a_string_session_and_a_session_file(cli: Cli, tg_world: fake.FakeTelegram,
                                                    tmp_path: Path) -> None:
    cli.ready()
    pasted = cli("login", "--string-session-stdin", "--name", "Pasted",
                 stdin=f"  {authorized_string(tg_world)}\n")
    assert pasted.code == 0 and "“Pasted”" in pasted.out
    inline = cli("login", "--string-session", authorized_string(tg_world, PHONE_2FA))
    assert inline.code == 0 and "“Grace Hopper”" in inline.out
    junk = cli("login", "--string-session", "not-a-session")
    assert junk.code == 1 and "not a Telethon string session" in junk.err
    key = tg_world.factory(authorized_string(tg_world), 1, "x").key
    file_session = SQLiteSession(str(tmp_path / "phone"))
    file_session.set_dc(4, "149.154.167.91", 443)
    file_session.auth_key = AuthKey(key)
    file_session.save()
    file_session.close()
    from_file = cli("login", "--session-file", str(tmp_path / "phone.session"))
    assert from_file.code == 0 and "“Ada Lovelace”" in from_file.out
    assert len(json.loads(cli("sessions", "list", "--json").out)) == 3


# ---------------------------------------------------------------- sessions and channels


def test_sessions_rename_delete_and_channels(cli: Cli, tg_world: fake.FakeTelegram) -> None:
    session_id = cli.logged_in("Main")
    assert f"{session_id}  Main  (Ada Lovelace" in cli("sessions").out
    renamed = cli("sessions", "rename", session_id[:5], "Phone")
    assert renamed.code == 0 and "“Phone”" in renamed.out
    channels = cli("channels", "phone")  # by name, any case
    assert channels.code == 0
    lines = channels.out.splitlines()
    assert [line.split()[-1] for line in lines] == ["Forum", "friends", "@music"]
    assert "forum" in lines[0] and str(FORUM_PEER) in lines[0]
    listed = json.loads(cli("channels", session_id, "--json").out)
    assert {"title": "Music", "username": "music", "kind": "channel"}.items() <= \
        listed[2].items()
    unknown = cli("channels", "nobody")
    assert unknown.code == 2 and "no Telegram session “nobody”" in unknown.err
    assert cli("sources", "add", "Phone", "@music").code == 0
    refused = cli("sessions", "delete", "Phone")
    assert refused.code == 1 and "Sources still use this session (Music)" in refused.err
    assert cli("sources", "delete", "Music").code == 0
    deleted = cli("sessions", "delete", "Phone")
    assert deleted.code == 0 and "Logged out" in deleted.out and tg_world.logged_out
    assert "No Telegram sessions yet" in cli("sessions").out


# ---------------------------------------------------------------- sources


def test_sources_add_list_edit_delete(cli: Cli, tmp_path: Path) -> None:
    session_id = cli.logged_in()
    out = tmp_path / "out"
    music = cli("sources", "add", session_id, "@music", "-o", str(out), "--ext", "zip",
                "--from", "2024-01-01")
    assert music.code == 0, music.err
    assert f"goes to {out}" in music.out
    private = cli("sources", "add", "Main", f"t.me/+{PRIVATE_INVITE}", "--keep", "music")
    assert private.code == 0 and "“Secret Tapes”" in private.out
    no_topic = cli("sources", "add", "Main", str(FORUM_PEER), "--topics", "7")
    assert no_topic.code == 1 and "no topic 7" in no_topic.err
    bad_kind = cli("sources", "add", "Main", str(FORUM_PEER), "--keep", "musik")
    assert bad_kind.code == 2 and "not a kind of audio" in bad_kind.err
    forum = cli("sources", "add", "Main", str(FORUM_PEER), "--topics", "5", "--every", "6")
    assert forum.code == 0, forum.err
    listed = {s["title"]: s for s in json.loads(cli("sources", "list", "--json").out)}
    assert set(listed) == {"Music", "Secret Tapes", "A Forum"}
    assert listed["A Forum"]["topics"] == [5] and listed["A Forum"]["interval_hours"] == 6
    assert listed["Music"]["target"] == {"type": "folder", "path": str(out)}
    assert listed["Music"]["keep"]["extensions"] == ["zip"]
    assert listed["Music"]["keep"]["date_from"] == "2024-01-01"
    assert listed["Secret Tapes"]["keep"]["kinds"] == ["music"]
    assert listed["Music"]["sync"] is None
    edited = cli("sources", "edit", "@music", "--keep", "music,voice", "--to", "2024-12-31",
                 "--every", "2")
    assert edited.code == 0, edited.err
    music_now = json.loads(cli("sources", "list", "--json").out)[1]
    assert music_now["keep"]["kinds"] == ["music", "voice"]
    assert music_now["keep"]["extensions"] == ["zip"]  # what was not named stays
    assert music_now["keep"]["date_to"] == "2024-12-31" and music_now["interval_hours"] == 2
    forum_id = listed["A Forum"]["id"]
    assert cli("sources", "edit", forum_id[:6], "--all-topics").code == 0
    assert json.loads(cli("sources", "list", "--json").out)[0]["topics"] is None
    assert cli("sources", "edit", forum_id).code == 2  # nothing to change
    text = cli("sources").out
    assert "Music (@music)  → " in text and "every 2 h" in text and "only when asked" in text
    to_s3 = cli("sources", "edit", "Secret Tapes", "--s3", "s3://tapes/in", "--s3-key-id",
                "AKIAEXAMPLE", passwords=[S3_SECRET])
    assert to_s3.code == 0, to_s3.err
    tapes = next(s for s in json.loads(cli("sources", "list", "--json").out)
                 if s["title"] == "Secret Tapes")
    assert tapes["target"]["url"] == "s3://tapes/in"
    assert tapes["target"]["key_id"] == "AKIAEXAMPLE" and "secret" not in tapes["target"]
    assert cli("sources", "delete", "Secret Tapes").code == 0
    assert cli("sources", "delete", "Secret Tapes").code == 2
    assert len(json.loads(cli("sources", "list", "--json").out)) == 2


# ---------------------------------------------------------------- sync


def test_sync_prints_the_folder_last(cli: Cli, tmp_path: Path) -> None:
    cli.logged_in()
    out = tmp_path / "out"
    assert cli("sources", "add", "Main", "@music", "-o", str(out)).code == 0
    result = cli("sync", "Music")
    assert result.code == 0, result.err
    assert Path(result.last_line) == out
    saved = sorted(p.name for p in (out / "Music").iterdir())
    assert saved == ["2024-05-01 First Song.mp3", "2024-05-01 Second Song.mp3",
                     "2024-05-01 live.flac", "2024-05-01 voice_3.ogg"]
    listing = json.loads(cli("sources", "list", "--json").out)[0]
    assert listing["files"] == 4 and listing["sync"]["state"] == "done"
    assert "4 files" in cli("sources").out
    assert cli("sync").code == 2
    again = cli("sync", "--all")
    assert again.code == 0 and Path(again.last_line) == out


def test_failing_sync_exits_non_zero_with_the_sentence(cli: Cli, tg_world: fake.FakeTelegram,
                                                       tmp_path: Path) -> None:
    cli.logged_in()
    assert cli("sources", "add", "Main", "@music", "-o", str(tmp_path)).code == 0
    tg_world.fail("iter_messages", gw.NotAuthorized())
    result = cli("sync", "--all")
    assert result.code == 1
    assert "no longer logged in" in result.err and "Traceback" not in result.err
    assert "no longer logged in" in cli("sources").out  # the last result stays visible


def test_long_flood_wait_pauses_and_says_so(cli: Cli, tg_world: fake.FakeTelegram,
                                            tmp_path: Path) -> None:
    cli.logged_in()
    assert cli("sources", "add", "Main", "@music", "-o", str(tmp_path)).code == 0
    tg_world.fail("download", gw.FloodWait(3 * 3600))
    result = cli("sync", "Music")
    assert result.code == EXIT_PAUSED
    assert "paused" in result.err and "3 hours" in result.err
    assert "sync paused until" in cli("sources").out


def test_help_says_what_a_pause_exits_with(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["telegram", "sync", "--help"])
    assert "75" in capsys.readouterr().out

