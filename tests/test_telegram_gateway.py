"""The Telethon adapter maps Telethon's errors and types to ours; the fake behaves alike."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest
from telethon import errors
from telethon.tl import types

from audiofetch_app.sources.telegram import gateway as gw
from audiofetch_app.sources.telegram.telethon_gateway import TelethonGateway, map_error
from tests.fakes import telegram as fake


class StubClient:
    """Stands in for TelegramClient: each method raises or returns what the test set."""

    def __init__(self, **behaviour: Any) -> None:
        self.behaviour = behaviour
        self.session = SimpleNamespace(save=lambda: "1session")
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _do(self, name: str, **kw: Any) -> Any:
        self.calls.append((name, kw))
        value = self.behaviour.get(name)
        if isinstance(value, BaseException):
            raise value
        return value

    async def connect(self) -> None:
        self._do("connect")

    async def send_code_request(self, phone: str) -> Any:
        return self._do("send_code_request", phone=phone)

    async def sign_in(self, **kw: Any) -> Any:
        return self._do("sign_in_password" if "password" in kw else "sign_in", **kw)

    async def get_me(self) -> Any:
        return self._do("get_me")

    async def log_out(self) -> Any:
        return self._do("log_out")

    async def iter_dialogs(self):
        for entity in self._do("iter_dialogs"):
            yield SimpleNamespace(entity=entity)

    async def iter_messages(self, entity: Any, **kw: Any):
        for message in self._do("iter_messages", entity=entity, **kw):
            if isinstance(message, BaseException):
                raise message
            yield message

    async def iter_download(self, media: Any, offset: int = 0):
        self._do("iter_download", offset=offset)
        data = self.behaviour["data"]
        for i in range(offset, len(data), 5):
            yield data[i:i + 5]


def adapter(**behaviour: Any) -> TelethonGateway:
    return TelethonGateway(None, 1, "0" * 32, client=StubClient(**behaviour))


@pytest.mark.parametrize(("error", "ours"), [
    (errors.SessionPasswordNeededError(request=None), gw.PasswordNeeded),
    (errors.PhoneCodeInvalidError(request=None), gw.WrongCode),
    (errors.PhoneCodeExpiredError(request=None), gw.CodeExpired),
    (errors.PasswordHashInvalidError(request=None), gw.WrongPassword),
    (errors.FloodWaitError(request=None, capture=42), gw.FloodWait),
    (errors.FileReferenceExpiredError(request=None), gw.FileReferenceExpired),
    (errors.AuthKeyUnregisteredError(request=None), gw.NotAuthorized),
    (errors.SessionRevokedError(request=None), gw.NotAuthorized),
    (errors.PhoneNumberInvalidError(request=None), gw.InvalidPhone),
    (ConnectionError("reset"), gw.Unreachable),
    # Seen for real: something that is not Telegram answers 95 bytes and hangs up.
    (__import__("asyncio").IncompleteReadError(b"x" * 95, 1347703872), gw.Unreachable),
])
def test_map_error(error: Exception, ours: type) -> None:
    mapped = map_error(error)
    assert isinstance(mapped, ours)
    text = str(mapped)
    assert text.endswith(".") and "\n" not in text and "RPCError" not in text


def test_unknown_error_is_not_mapped() -> None:
    assert map_error(RuntimeError("boom")) is None


def test_flood_wait_sentence() -> None:
    mapped = map_error(errors.FloodWaitError(request=None, capture=42))
    assert isinstance(mapped, gw.FloodWait) and mapped.seconds == 42
    assert str(mapped) == "Telegram asks to wait 42 seconds before trying again."
    assert "3 minutes" in str(gw.FloodWait(150))
    assert "2 hours" in str(gw.FloodWait(7200))


async def test_send_code_and_sign_in_errors() -> None:
    sent = SimpleNamespace(phone_code_hash="abc")
    g = adapter(send_code_request=sent,
                sign_in=errors.SessionPasswordNeededError(request=None),
                sign_in_password=errors.PasswordHashInvalidError(request=None))
    assert await g.send_code("+447700900123") == "abc"
    with pytest.raises(gw.PasswordNeeded) as info:
        await g.sign_in("+447700900123", "12345", "abc")
    assert isinstance(info.value.__cause__, errors.SessionPasswordNeededError)
    with pytest.raises(gw.WrongPassword):
        await g.check_password("nope")
    g = adapter(sign_in=errors.PhoneCodeInvalidError(request=None))
    with pytest.raises(gw.WrongCode):
        await g.sign_in("+447700900123", "1", "abc")
    g = adapter(send_code_request=errors.FloodWaitError(request=None, capture=42))
    with pytest.raises(gw.FloodWait, match="42 seconds"):
        await g.send_code("+447700900123")


async def test_sign_in_accepts_user() -> None:
    g = adapter(sign_in=types.User(id=1, phone="447700900123"))
    await g.sign_in("+447700900123", "12345", "abc")


async def test_me_masks_phone() -> None:
    user = types.User(id=7, first_name="Ada", last_name="Lovelace", phone="447700900123")
    account = await adapter(get_me=user).me()
    assert account == gw.Account(7, "Ada Lovelace", "+44 •••• ••23")
    assert (await adapter(get_me=types.User(id=8, username="ada")).me()).display_name == "ada"
    with pytest.raises(gw.NotAuthorized):
        await adapter(get_me=None).me()
    with pytest.raises(gw.NotAuthorized):
        await adapter(get_me=errors.AuthKeyUnregisteredError(request=None)).me()


async def test_dialogs_keep_channels_and_groups() -> None:
    world = fake.FakeTelegram()
    world.add_channel(11, "Music", "music")
    world.add_channel(12, "Forum", forum=True)
    world.add_basic_group(13, "Friends")
    entities = [*world.chats, types.User(id=5, first_name="Bob")]
    found = await adapter(iter_dialogs=entities).dialogs()
    assert [c.title for c in found] == ["Music", "Forum", "Friends"]
    music, forum, friends = found
    assert (music.id, music.username, music.is_group, music.is_forum) == (
        -1000000000011, "music", False, False)
    assert forum.is_group and forum.is_forum
    assert friends.id == -13 and friends.is_group


async def test_iter_messages_passes_arguments_and_maps_errors() -> None:
    m = fake.music(11, 5)
    g = adapter(iter_messages=[m, errors.FloodWaitError(request=None, capture=7)])
    seen = []
    with pytest.raises(gw.FloodWait):
        async for message in g.iter_messages(-1000000000011, min_id=4):
            seen.append(message)
    assert seen == [m]
    _name, kw = g.client.calls[-1]
    assert kw["min_id"] == 4 and kw["reverse"] is True


async def test_download_from_offset_with_progress() -> None:
    data = b"0123456789abcdefghij"
    m = fake.document(11, 6, mime="audio/flac", file_name="a.flac", size=len(data))
    g = adapter(data=data)
    out = io.BytesIO()
    seen: list[tuple[int, int | None]] = []
    total = await g.download(m, out, offset=8, progress=lambda d, t: seen.append((d, t)))
    assert out.getvalue() == data[8:] and total == len(data)
    assert seen[-1] == (20, 20)
    g = adapter(iter_download=errors.FileReferenceExpiredError(request=None), data=data)
    with pytest.raises(gw.FileReferenceExpired):
        await g.download(m, io.BytesIO())


def test_bad_session_string() -> None:
    with pytest.raises(gw.BadSession):
        TelethonGateway("not a session", 1, "0" * 32)


async def test_export_session() -> None:
    assert await adapter().export_session() == "1session"


def test_mask_phone() -> None:
    assert gw.mask_phone("+44 7700 900112") == "+44 •••• ••12"
    assert gw.mask_phone("123") == "•••• ••"


# ---------------------------------------------------------------- the fake itself


@pytest.fixture
def world() -> fake.FakeTelegram:
    w = fake.FakeTelegram()
    w.add_account("+447700900123", code="11111")
    chat = w.add_channel(11, "Music", "music")
    w.post(fake.music(11, 1, title="Song", file_name="song.mp3"))
    w.post(fake.voice(11, 2))
    w.post(fake.round_video(11, 3))
    w.post(fake.document(11, 4, mime="audio/flac", file_name="a.flac"))
    w.post(fake.document(11, 5, mime="application/pdf", file_name="b.pdf"))
    w.post(fake.text(11, 6))
    assert chat == -1000000000011
    return w


async def logged_in(world: fake.FakeTelegram) -> fake.FakeGateway:
    g = world.factory(None, 1, "x")
    await g.connect()
    code_hash = await g.send_code("+447700900123")
    await g.sign_in("+447700900123", "11111", code_hash)
    return g


async def test_fake_messages_are_telethon_types(world: fake.FakeTelegram) -> None:
    g = await logged_in(world)
    got = [m async for m in g.iter_messages("@music", min_id=1)]
    assert [m.id for m in got] == [2, 3, 4, 5, 6]
    assert all(isinstance(m, types.Message) for m in got)
    voice_attr = got[0].media.document.attributes[0]
    assert isinstance(voice_attr, types.DocumentAttributeAudio) and voice_attr.voice
    assert got[1].media.document.attributes[0].round_message
    newest_first = [m.id async for m in g.iter_messages(-1000000000011, reverse=False, limit=2)]
    assert newest_first == [6, 5]


async def test_fake_download_resumes(world: fake.FakeTelegram) -> None:
    g = await logged_in(world)
    message = world.messages[-1000000000011][0]
    whole, tail = io.BytesIO(), io.BytesIO()
    size = await g.download(message, whole)
    await g.download(message, tail, offset=4097)
    assert size == 10_000 and whole.getvalue()[4097:] == tail.getvalue()
    world.expire_file_reference(message)
    with pytest.raises(gw.FileReferenceExpired):
        await g.download(message, io.BytesIO())
    fresh = [m async for m in g.iter_messages(-1000000000011, limit=1)].pop()
    again = io.BytesIO()
    await g.download(fresh, again)
    assert again.getvalue() == whole.getvalue()


async def test_fake_requires_login(world: fake.FakeTelegram) -> None:
    g = world.factory(None, 1, "x")
    await g.connect()
    with pytest.raises(gw.NotAuthorized):
        await g.dialogs()
    session = await (await logged_in(world)).export_session()
    again = world.factory(session, 1, "x")
    assert (await again.me()).masked_phone == "+44 •••• ••23"


class ResolvingClient(StubClient):
    """A StubClient that also answers raw requests and get_entity/get_messages."""

    async def __call__(self, request: Any) -> Any:
        return self._do(type(request).__name__, request=request)

    async def get_entity(self, what: Any) -> Any:
        return self._do("get_entity", what=what)

    async def get_messages(self, peer: Any, ids: int) -> Any:
        return self._do("get_messages", peer=peer, ids=ids)


def resolving(**behaviour: Any) -> TelethonGateway:
    return TelethonGateway(None, 1, "0" * 32, client=ResolvingClient(**behaviour))


async def test_resolve_username_invite_and_id() -> None:
    world = fake.FakeTelegram()
    world.add_channel(11, "Music", "music")
    music = world.chats[0]
    g = resolving(get_entity=music)
    channel = await g.resolve(gw.ChannelRef("username", "music"))
    assert (channel.title, channel.access_hash) == ("Music", music.access_hash)
    assert g.client.calls[-1] == ("get_entity", {"what": "music"})
    with pytest.raises(gw.ChannelNotFound):
        await resolving(get_entity=ValueError("No user has")).resolve(
            gw.ChannelRef("username", "nobody"))
    with pytest.raises(gw.ChannelNotFound, match="person"):
        await resolving(get_entity=types.User(id=5)).resolve(gw.ChannelRef("username", "bob"))
    # An invite already used: no join. A new one: joined.
    g = resolving(CheckChatInviteRequest=types.ChatInviteAlready(chat=music))
    assert (await g.resolve(gw.ChannelRef("invite", "AbCdEfGh1234"))).title == "Music"
    assert [c for c, _ in g.client.calls] == ["CheckChatInviteRequest"]
    invite = types.ChatInvite(title="Music", photo=types.PhotoEmpty(id=1),
                              participants_count=3, color=0)
    g = resolving(CheckChatInviteRequest=invite,
                  ImportChatInviteRequest=SimpleNamespace(chats=[music]))
    assert (await g.resolve(gw.ChannelRef("invite", "AbCdEfGh1234"))).id == -1000000000011
    assert [c for c, _ in g.client.calls] == ["CheckChatInviteRequest",
                                              "ImportChatInviteRequest"]
    g = resolving(CheckChatInviteRequest=errors.InviteHashExpiredError(request=None))
    with pytest.raises(gw.InviteInvalid):
        await g.resolve(gw.ChannelRef("invite", "AbCdEfGh1234"))
    # By id: only among the account's dialogs.
    g = resolving(iter_dialogs=[music])
    assert (await g.resolve(gw.ChannelRef("id", -1000000000011))).title == "Music"
    with pytest.raises(gw.NoAccess):
        await resolving(iter_dialogs=[music]).resolve(gw.ChannelRef("id", -1000000000099))
    g = resolving(get_entity=errors.ChannelPrivateError(request=None))
    with pytest.raises(gw.NoAccess):
        await g.resolve(gw.ChannelRef("username", "secret"))


async def test_topics_and_refetch_use_the_stored_access_hash() -> None:
    forum = gw.Channel(-1000000000012, "Forum", None, True, True, access_hash=36)
    topic = types.ForumTopic(
        id=5, date=fake.EPOCH, peer=types.PeerChannel(12), title="Jazz", icon_color=0,
        top_message=50, read_inbox_max_id=0, read_outbox_max_id=0, unread_count=0,
        unread_mentions_count=0, unread_reactions_count=0, unread_poll_votes_count=0,
        from_id=types.PeerUser(1), notify_settings=types.PeerNotifySettings())
    result = SimpleNamespace(topics=[topic, types.ForumTopicDeleted(id=6)], count=2)
    g = resolving(GetForumTopicsRequest=result)
    assert await g.topics(forum) == [gw.Topic(5, "Jazz")]
    request = g.client.calls[-1][1]["request"]
    assert request.peer == types.InputPeerChannel(channel_id=12, access_hash=36)
    assert await resolving().topics(gw.Channel(-1000000000011, "M", None, False, False)) == []
    message = fake.music(12, 9)
    g = resolving(get_messages=message)
    assert await g.get_message(forum, 9) is message
    assert g.client.calls[-1][1]["ids"] == 9
    basic = gw.Channel(-13, "friends", None, True, False)
    g = resolving(iter_messages=[])
    async for _ in g.iter_messages(basic, min_id=3):
        pass
    assert g.client.calls[-1][1]["entity"] == types.InputPeerChat(chat_id=13)


async def test_qr_wait_timeout_is_not_a_connection_error() -> None:
    class Inner:
        url = "tg://login?token=abc"
        expires = fake.EPOCH

        async def wait(self, timeout: float | None = None) -> Any:
            raise TimeoutError

        async def recreate(self) -> None:
            self.url = "tg://login?token=new"

    g = adapter(qr_login=None)

    async def qr_login() -> Inner:
        return Inner()

    g.client.qr_login = qr_login
    qr = await g.qr_login()
    assert qr.url.endswith("abc") and qr.expires_at == fake.EPOCH.timestamp()
    with pytest.raises(TimeoutError):
        await qr.wait(1)
    await qr.recreate()
    assert qr.url.endswith("new")


def test_client_reports_every_flood_wait() -> None:
    g = TelethonGateway(None, 1, "0" * 32)
    assert g.client.flood_sleep_threshold == 0
