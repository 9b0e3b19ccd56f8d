"""Storage targets: a folder (or mounted share) and S3 on a moto server on loopback."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audiofetch_app.core import logs, targets
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.job_record import JobState
from audiofetch_app.core.store import Store
from audiofetch_app.core.targets import check_spec, open_target
from audiofetch_app.core.targets.folder import FolderTarget
from audiofetch_app.core.targets.s3 import NEEDS_EXTRA, S3Target
from audiofetch_app.core.vault import Vault
from tests.fakes import telegram as fake
from tests.fakes.s3_server import FakeS3
from tests.telegram_app import FORUM_PEER, MUSIC_PEER, TelegramApp

SAVED = {
    "Music/2024-05-01 First Song.mp3": (1, 10_000),
    "Music/2024-05-01 voice_3.ogg": (3, 3_000),
    "Music/2024-05-01 live.flac": (5, 4_000),
    "Music/2024-05-01 Second Song.mp3": (7, 50_000),
}
ESCAPING = ["../outside.mp3", "Music/../../outside.mp3", "/etc/outside.mp3"]


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy keys and no config, metadata service or proxy: nothing may reach real AWS."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "dummy-key-id-not-used")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy-secret-not-used")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def app(tg_app: TelegramApp) -> TelegramApp:
    return tg_app


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    store = Store(tmp_path / "db.json")
    yield Vault(store, tmp_path / "vault.key")
    store.close()


def s3_spec(s3: FakeS3, **changes: Any) -> dict[str, Any]:
    spec = {"type": "s3", "url": "s3://bucket/audio", "endpoint_url": s3.url, "region": None,
            "key_id": s3.key_id, "secret": s3.secret}
    spec.update(changes)
    return spec


def free_port() -> int:
    """A loopback port nothing listens on (an S3 endpoint that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def documents(app: TelegramApp) -> dict[int, Any]:
    return {m.id: m.media.document for m in app.world.messages[MUSIC_PEER]
            if m.media is not None and getattr(m.media, "document", None) is not None}


async def sync(app: TelegramApp, source_id: str) -> Any:
    job = await app.service.sync_now(source_id)
    return await app.jobs.wait(job.id)


def assert_sentence(text: str | None) -> None:
    assert text and "\n" not in text and "Traceback" not in text and text.endswith((".", "?"))


# ---------------------------------------------------------------- folders


def test_folder_target_saves_through_a_part_file(tmp_path: Path) -> None:
    root = tmp_path / "music"
    target = FolderTarget(root)
    target.check()  # the parent exists: the folder itself is made
    assert root.is_dir() and list(root.iterdir()) == []  # the write probe is gone
    rel = "Music/a song.mp3"
    assert target.saved_size(rel) is None
    partial = target.partial(rel)
    assert partial == root / "Music" / "a song.mp3.part" and partial.parent.is_dir()
    partial.write_bytes(b"x" * 1234)
    assert target.saved_size(rel) is None  # a .part is not a saved file
    assert target.commit(partial, rel) == str(root / "Music" / "a song.mp3")
    assert target.saved_size(rel) == 1234 and not partial.exists()


def test_unmounted_share_cannot_be_reached_and_is_not_created(tmp_path: Path) -> None:
    root = tmp_path / "nas" / "music"  # the share /nas is not mounted
    with pytest.raises(JobError, match="cannot be reached") as err:
        FolderTarget(root).check()
    assert_sentence(str(err.value))
    assert not root.parent.exists()


def test_read_only_folder_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "locked"
    root.mkdir()
    root.chmod(0o555)
    try:
        try:
            (root / "probe").touch()
        except PermissionError:
            pass
        else:
            pytest.skip("chmod does not stop this user from writing (running as root?)")
        with pytest.raises(JobError, match="may not write") as err:
            FolderTarget(root).check()
        assert_sentence(str(err.value))
    finally:
        root.chmod(0o755)


def test_a_file_instead_of_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "music").write_text("not a folder")
    with pytest.raises(JobError, match="is not a folder"):
        FolderTarget(tmp_path / "music").check()


@pytest.mark.parametrize("rel", ESCAPING)
def test_names_that_leave_the_target_are_refused(tmp_path: Path, rel: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    folder = FolderTarget(root)
    bucket = S3Target(bucket="bucket", prefix="audio", staging=tmp_path / "staging",
                      key_id="AKIA", secret="never-used-secret")
    for target in (folder, bucket):
        with pytest.raises(JobError, match="leave the target"):
            target.saved_size(rel)
        with pytest.raises(JobError, match="leave the target"):
            target.partial(rel)
    outside = tmp_path / "outside.mp3"
    outside.write_bytes(b"keep me")
    with pytest.raises(JobError, match="leave the target"):
        folder.commit(outside, rel)
    assert outside.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside.mp3", "root"]


# ---------------------------------------------------------------- S3 specs


def test_s3_spec_keeps_the_secret_in_the_vault_only(vault: Vault, tmp_path: Path) -> None:
    secret = "s3-secret-marker-4471-abcdefgh"
    spec = check_spec({"type": "s3", "url": "s3://my-bucket//audio/tg/", "key_id": "AKIA1",
                       "secret": secret, "endpoint_url": "http://127.0.0.1:9000/"},
                      tmp_path, vault)
    assert spec == {"type": "s3", "url": "s3://my-bucket/audio/tg",
                    "endpoint_url": "http://127.0.0.1:9000", "region": None,
                    "key_id": "AKIA1", "secret_ref": spec["secret_ref"]}
    assert spec["secret_ref"].startswith("telegram_s3:")
    assert vault.get(spec["secret_ref"]) == secret
    assert secret not in logs.redact(f"signing with {secret}")
    # An edit that leaves the secret empty keeps the stored one.
    again = check_spec({**spec, "secret": ""}, tmp_path, vault)
    assert again == spec and vault.get(spec["secret_ref"]) == secret
    # Another key on the same bucket has no secret yet.
    with pytest.raises(JobError, match="Enter the secret access key"):
        check_spec({**spec, "key_id": "AKIA2", "secret": ""}, tmp_path, vault)


@pytest.mark.parametrize(("changes", "message"), [
    ({"url": ""}, "Enter the S3 address"),
    ({"url": "https://bucket/audio"}, "must look like s3://"),
    ({"url": "s3://Bad_Bucket/audio"}, "not valid"),
    ({"url": "s3://ab/audio"}, "not valid"),
    ({"url": "s3://bucket-/audio"}, "not valid"),
    ({"url": "s3://my..bucket/audio"}, "not valid"),
    ({"url": "s3://192.168.1.20/audio"}, "not valid"),
    ({"url": "s3://bucket/audio/../other"}, "may not contain"),
    ({"url": "s3://bucket/audio?x=1"}, "may not contain"),
    ({"endpoint_url": "ftp://127.0.0.1:21"}, "http:// or https://"),
    ({"endpoint_url": "file:///tmp/s3"}, "http:// or https://"),
    ({"endpoint_url": "http://me:pw@127.0.0.1:9000"}, "own fields"),
    ({"endpoint_url": "http://127.0.0.1:99999"}, "port"),
    ({"region": "eu central"}, "region name"),
    ({"key_id": ""}, "access key ID"),
    ({"secret": ""}, "Enter the secret access key"),
])
def test_s3_spec_refuses_what_is_wrong(vault: Vault, tmp_path: Path, changes: dict[str, Any],
                                       message: str) -> None:
    spec = {"type": "s3", "url": "s3://bucket/audio", "endpoint_url": None, "region": None,
            "key_id": "AKIA1", "secret": "some-secret-value", **changes}
    with pytest.raises(JobError, match=message) as err:
        check_spec(spec, tmp_path, vault)
    assert_sentence(str(err.value))
    assert "some-secret-value" not in str(err.value)


def test_unknown_target_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(JobError, match="Unknown storage target"):
        check_spec({"type": "ftp"}, tmp_path, None)
    assert check_spec(None, tmp_path, None) == {"type": "folder", "path": str(tmp_path)}


def test_s3_without_the_extra_says_how_to_install_it(
        vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if s3fs were not installed
    spec = {"type": "s3", "url": "s3://bucket/audio", "key_id": "AKIA1", "secret": "x" * 20}
    with pytest.raises(JobError) as err:
        check_spec(spec, tmp_path, vault)
    assert str(err.value) == NEEDS_EXTRA
    with pytest.raises(JobError) as err:
        open_target({**spec, "secret_ref": "telegram_s3:0"}, staging=tmp_path, secrets=vault)
    assert str(err.value) == NEEDS_EXTRA


# ---------------------------------------------------------------- S3 syncs


async def test_sync_to_s3_uploads_every_file_whole_and_skips_them_next_time(
        app: TelegramApp, s3: FakeS3) -> None:
    session = await app.logged_in()
    source = await app.service.add_source(session, "@music", target=s3_spec(s3))
    done = await sync(app, source.id)
    assert done.state == JobState.DONE, done.error
    assert s3.objects("bucket") == {f"audio/{rel}": size for rel, (_, size) in SAVED.items()}
    docs = documents(app)
    for rel, (message_id, size) in SAVED.items():
        assert s3.read("bucket", f"audio/{rel}") == fake.content_of(docs[message_id].id, size)
    assert sorted(done.files) == sorted(f"s3://bucket/audio/{rel}" for rel in SAVED)
    assert done.output_path == "s3://bucket/audio"
    staging = app.home / "staging" / source.id
    assert [p for p in staging.rglob("*") if p.is_file()] == []  # uploaded parts are removed
    state = await app.service.get_source(source.id)
    assert (state.last_id, state.files, state.bytes) == (7, 4, 67_000)
    # Everything is in the bucket already: nothing is downloaded again.
    before = list(app.world.downloads)
    again = await sync(app, source.id)
    assert again.state == JobState.DONE, again.error
    assert app.world.downloads == before
    assert s3.secret not in app.raw()


async def test_cut_download_to_s3_resumes_from_its_offset(
        app: TelegramApp, s3: FakeS3, monkeypatch: pytest.MonkeyPatch) -> None:
    from audiofetch_app.sources.telegram import sync_file as sync_mod

    monkeypatch.setattr(sync_mod, "RETRY_DELAY", 0.01)
    session = await app.logged_in()
    source = await app.service.add_source(session, "@music", keep={"kinds": ["music"]},
                                          target=s3_spec(s3))
    big = app.world.post(fake.music(11, 8, title="Long Mix", size=1_500_000))
    app.world.cut_after[8] = 1_100_000  # two whole 512 KiB parts are in before the cut
    done = await sync(app, source.id)
    assert done.state == JobState.DONE, done.error
    assert [o for m, o in app.world.downloads if m == 8] == [0, 1_048_576]
    doc = big.media.document
    assert s3.read("bucket", "audio/Music/2024-05-01 Long Mix.mp3") == fake.content_of(
        doc.id, doc.size)


async def test_upload_that_fails_keeps_the_part_and_retries_without_downloading(
        app: TelegramApp, s3: FakeS3) -> None:
    session = await app.logged_in()
    source = await app.service.add_source(session, "@music", keep={"kinds": ["voice"]},
                                          target=s3_spec(s3))
    # A key that may write the check file but not upload into "audio/Music/".
    key_id, secret = s3.add_user("checker", {
        "*": ["s3:GetObject"],
        "arn:aws:s3:::bucket/audio/.audiofetch-write-check": ["s3:PutObject", "s3:DeleteObject"],
    })
    await app.service.update_source(source.id, target=s3_spec(s3, key_id=key_id, secret=secret))
    failed = await sync(app, source.id)
    assert failed.state == JobState.FAILED
    assert_sentence(failed.error)
    assert "may not upload the file" in (failed.error or "")
    part = app.home / "staging" / source.id / "audio/Music/2024-05-01 voice_3.ogg.part"
    assert part.stat().st_size == 3_000
    assert s3.objects("bucket") == {}
    downloads = len(app.world.downloads)
    # With a key that may write, the finished part is uploaded: Telegram is not asked again.
    await app.service.update_source(source.id, target=s3_spec(s3))
    done = await sync(app, source.id)
    assert done.state == JobState.DONE, done.error
    assert len(app.world.downloads) == downloads
    assert s3.objects("bucket") == {"audio/Music/2024-05-01 voice_3.ogg": 3_000}
    assert not part.exists()


@pytest.mark.parametrize("case", ["wrong secret", "unknown key", "missing bucket",
                                  "endpoint down", "read-only key"])
async def test_bad_s3_targets_fail_the_job_with_a_sentence(
        app: TelegramApp, s3: FakeS3, case: str) -> None:
    wrong = "wrong-secret-marker-5813-zzzz"
    changes, message = {
        "wrong secret": ({"secret": wrong}, "refused the secret access key"),
        "unknown key": ({"key_id": "AKIANOSUCHKEY0000000", "secret": wrong},
                        "does not know this access key ID"),
        "missing bucket": ({"url": "s3://no-such-bucket/audio"}, "does not exist"),
        "endpoint down": ({"endpoint_url": f"http://127.0.0.1:{free_port()}"},
                          "cannot be reached"),
        "read-only key": (dict(zip(("key_id", "secret"), s3.add_user(
            "reader", {"*": ["s3:GetObject", "s3:ListBucket"]}), strict=True)),
            "may not write"),
    }[case]
    session = await app.logged_in()
    spec = s3_spec(s3, **changes)
    source = await app.service.add_source(session, "@music", target=spec)
    done = await sync(app, source.id)
    assert done.state == JobState.FAILED
    assert_sentence(done.error)
    assert message in (done.error or "")
    assert app.world.downloads == []  # the target is checked before anything is fetched
    raw = app.raw()
    assert spec["secret"] not in raw and s3.secret not in raw
    assert spec["secret"] not in (done.error or "")


async def test_s3_secret_lives_in_the_vault_and_survives_edits_and_restarts(
        s3: FakeS3, tmp_path: Path) -> None:
    app = TelegramApp(tmp_path / "home")
    await app.jobs.start()
    try:
        session = await app.logged_in()
        source = await app.service.add_source(session, "@music", keep={"kinds": ["voice"]},
                                              target=s3_spec(s3))
        ref = source.target["secret_ref"]
        assert "secret" not in source.target and app.vault.get(ref) == s3.secret
        assert s3.secret not in app.raw()
        # Edits that leave the secret empty keep it; the sync still signs its requests.
        edited = await app.service.update_source(
            source.id, target=s3_spec(s3, url="s3://bucket/tg", secret=""))
        assert edited.target["secret_ref"] == ref and edited.target["url"] == "s3://bucket/tg"
        assert (await sync(app, source.id)).state == JobState.DONE
        assert list(s3.objects("bucket")) == ["tg/Music/2024-05-01 voice_3.ogg"]
        # A new secret replaces the old one (a wrong one here, which the sync then reports).
        await app.service.update_source(source.id,
                                        target=s3_spec(s3, secret="wrong-but-new-1234"))
        assert app.vault.get(ref) == "wrong-but-new-1234"
        failed = await sync(app, source.id)
        assert failed.state == JobState.FAILED
        assert "secret access key" in (failed.error or "")
        await app.service.update_source(source.id, target=s3_spec(s3, url="s3://bucket/tg"))
        # A key that is not yet in the vault needs its secret.
        with pytest.raises(JobError, match="Enter the secret access key"):
            await app.service.update_source(
                source.id, target=s3_spec(s3, key_id="AKIAOTHER", secret=""))
    finally:
        await app.close()
    # After a restart the secret is read back from the vault.
    reopened = TelegramApp(tmp_path / "home", world=app.world)
    await reopened.jobs.start()
    try:
        assert reopened.vault.get(ref) == s3.secret
        app.world.post(fake.voice(11, 8))
        done = await sync(reopened, source.id)
        assert done.state == JobState.DONE, done.error
        assert sorted(s3.objects("bucket")) == ["tg/Music/2024-05-01 voice_3.ogg",
                                                "tg/Music/2024-05-01 voice_8.ogg"]
        assert s3.secret not in reopened.raw()
        # Two sources share the key; the secret stays until the last of them is deleted.
        other = await reopened.service.add_source(
            (await reopened.service.sessions.list_all())[0].id, str(FORUM_PEER),
            target=s3_spec(s3, url="s3://bucket/tg", secret=""))
        assert other.target["secret_ref"] == ref
        await reopened.service.delete_source(source.id)
        assert reopened.vault.get(ref) == s3.secret
        await reopened.service.delete_source(other.id)
        assert reopened.vault.get(ref) is None
    finally:
        await reopened.close()


def test_big_file_goes_up_in_parts_and_arrives_whole(s3: FakeS3, tmp_path: Path) -> None:
    from audiofetch_app.core.targets import s3 as targets_s3

    target = S3Target(bucket="bucket", prefix="", staging=tmp_path / "staging",
                      key_id=s3.key_id, secret=s3.secret, endpoint_url=s3.url)
    target.check()
    rel = "Music/long mix.flac"
    partial = target.partial(rel)
    size = 2 * targets_s3.PART_SIZE + 12_345  # over the single-request limit: multipart
    data = os.urandom(size)
    partial.write_bytes(data)
    assert target.commit(partial, rel) == "s3://bucket/Music/long mix.flac"
    assert target.saved_size(rel) == size
    assert s3.read("bucket", "Music/long mix.flac") == data
    assert s3.multipart_uploads("bucket") == [] and not partial.exists()
    assert list(s3.objects("bucket")) == ["Music/long mix.flac"]  # the check file is gone


def test_open_target_reads_the_secret_back(vault: Vault, s3: FakeS3, tmp_path: Path) -> None:
    spec = check_spec(s3_spec(s3), tmp_path, vault)
    target = open_target(spec, staging=tmp_path / "staging", secrets=vault)
    assert isinstance(target, S3Target) and target.label == "s3://bucket/audio"
    assert s3.secret not in repr(target)
    target.check()
    vault.delete(spec["secret_ref"])
    with pytest.raises(JobError, match="secret access key is missing"):
        open_target(spec, staging=tmp_path / "staging", secrets=vault)
    assert targets.target_label(spec) == "s3://bucket/audio"
