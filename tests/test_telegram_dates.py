"""Telegram dates are days where the user is: the date range and `{date}` in names follow a time
zone (Settings' choice, else the computer's), not UTC.

A post at 2024-05-01T20:30Z is on 2024-05-02 in Asia/Tokyo (UTC+9 all year, no summer time,
IANA tz database) and on 2024-05-01 in UTC.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from audiofetch_app import settings as settings_mod
from audiofetch_app.app import main
from audiofetch_app.core.job_record import JobState
from audiofetch_app.core.store import Store
from audiofetch_app.sources.telegram import media
from tests.telegram_app import TelegramApp
from tests.telegram_messages import audio_file

POSTED = dt.datetime(2024, 5, 1, 20, 30, tzinfo=dt.UTC)
MAY_1, MAY_2 = dt.date(2024, 5, 1), dt.date(2024, 5, 2)
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
ONLY_MAY_2 = media.Keep(date_from=MAY_2, date_to=MAY_2)
ONLY_MAY_1 = media.Keep(date_from=MAY_1, date_to=MAY_1)
DAY = "{date:%Y-%m-%d} {title}.{ext}"


def late_post(msg_id: int = 100) -> media.AudioItem:
    item = media.classify(audio_file(11, msg_id, mime="audio/mpeg", file_name="late.mp3",
                                     date=POSTED))
    assert item is not None
    return item


@pytest.fixture
def local_zone() -> Iterator[Callable[[str], None]]:
    """Sets the computer's time zone for this process (TZ and time.tzset), restored after."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset exists on Unix only")
    before = os.environ.get("TZ")

    def set_zone(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield set_zone
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_a_chosen_zone_decides_the_day() -> None:
    item = late_post()
    assert media.wanted(item, ONLY_MAY_2, tz=TOKYO)
    assert not media.wanted(item, ONLY_MAY_1, tz=TOKYO)
    assert media.file_name(DAY, item, "C", tz=TOKYO) == "2024-05-02 late.mp3"
    assert not media.wanted(item, ONLY_MAY_2, tz=dt.UTC)
    assert media.wanted(item, ONLY_MAY_1, tz=dt.UTC)
    assert media.file_name(DAY, item, "C", tz=dt.UTC) == "2024-05-01 late.mp3"
    # The hour moves too: 20:30 UTC is 05:30 the next morning in Tokyo.
    assert media.file_name("{date:%Y-%m-%d %H%M}.{ext}", item, "C", tz=TOKYO) == (
        "2024-05-02 0530.mp3")


def test_both_ends_of_the_range_are_whole_days_in_the_zone() -> None:
    # 2024-05-01T15:00Z is 2024-05-02T00:00 in Tokyo, the first instant of May 2 there;
    # 14:59Z is still May 1.
    first = media.classify(audio_file(11, 1, mime="audio/mpeg", file_name="a.mp3",
                                      date=dt.datetime(2024, 5, 1, 15, 0, tzinfo=dt.UTC)))
    before = media.classify(audio_file(11, 2, mime="audio/mpeg", file_name="b.mp3",
                                       date=dt.datetime(2024, 5, 1, 14, 59, tzinfo=dt.UTC)))
    assert media.wanted(first, ONLY_MAY_2, tz=TOKYO)
    assert not media.wanted(before, ONLY_MAY_2, tz=TOKYO)
    # 2024-05-02T14:59:59Z is the last second of May 2 in Tokyo.
    last = media.classify(audio_file(11, 3, mime="audio/mpeg", file_name="c.mp3",
                                     date=dt.datetime(2024, 5, 2, 14, 59, 59, tzinfo=dt.UTC)))
    assert media.wanted(last, ONLY_MAY_2, tz=TOKYO)


def test_without_a_zone_the_computers_zone_is_used(local_zone) -> None:
    item = late_post()
    local_zone("Asia/Tokyo")
    assert media.wanted(item, ONLY_MAY_2)
    assert media.file_name(DAY, item, "C") == "2024-05-02 late.mp3"
    local_zone("UTC")
    assert not media.wanted(item, ONLY_MAY_2)
    assert media.file_name(DAY, item, "C") == "2024-05-01 late.mp3"
    # America/Los_Angeles is UTC-7 in May (summer time): still May 1 there.
    local_zone("America/Los_Angeles")
    assert media.file_name(DAY, item, "C") == "2024-05-01 late.mp3"


def test_the_setting_takes_an_iana_zone_and_refuses_others(tmp_path: Path) -> None:
    service = settings_mod.SettingsService(Store(tmp_path / "db.json"))
    assert service.get().telegram_time_zone == "" and service.get().telegram_zone() is None
    service.update(telegram_time_zone=" Asia/Tokyo ")
    assert service.get().telegram_time_zone == "Asia/Tokyo"
    assert service.get().telegram_zone() == TOKYO
    assert media.wanted(late_post(), ONLY_MAY_2, tz=service.get().telegram_zone())
    for bad in ("Mars/Olympus", "asia/tokyo", "/etc/localtime", "../zoneinfo", "Tokyo"):
        with pytest.raises(ValueError) as err:
            service.update(telegram_time_zone=bad)
        message = str(err.value)
        assert f"“{bad}” is not a time zone" in message and "Asia/Tokyo" in message
        assert message.endswith("computer's.") and ". " not in message  # one sentence
    assert service.get().telegram_time_zone == "Asia/Tokyo"  # nothing half-applied
    service.update(telegram_time_zone="")
    assert service.get().telegram_zone() is None


def test_a_bad_saved_zone_falls_back_to_the_defaults(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.json")
    settings_mod.SettingsService(store).update(telegram_time_zone="Europe/Berlin")
    store.run(lambda db: db.table("settings").update(
        {"user": {"telegram_time_zone": "Nowhere/Land"}}, doc_ids=[1]))
    assert settings_mod.SettingsService(store).get().telegram_time_zone == ""


async def test_a_sync_keeps_the_post_of_the_local_day(tg_app: TelegramApp, tmp_path: Path,
                                                     local_zone) -> None:
    tg_app.world.post(audio_file(11, 100, mime="audio/mpeg", file_name="late.mp3", date=POSTED))
    session = await tg_app.logged_in()
    local_zone("Asia/Tokyo")
    tokyo, utc = tmp_path / "tokyo", tmp_path / "utc"
    for folder in (tokyo, utc):
        source = await tg_app.service.add_source(
            session, "@music", keep={"date_from": "2024-05-02", "date_to": "2024-05-02"},
            target={"type": "folder", "path": str(folder)}, template=DAY)
        job = await tg_app.service.sync_now(source.id)
        assert (await tg_app.jobs.wait(job.id)).state == JobState.DONE
        await tg_app.service.delete_source(source.id)
        local_zone("UTC")
    assert [p.name for p in tokyo.iterdir()] == ["2024-05-02 late.mp3"]
    assert not utc.exists() or list(utc.iterdir()) == []


def test_the_help_says_which_zone(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["telegram", "sources", "add", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--from DATE keep posts from this day on" in text
    assert "time zone Settings chooses for Telegram dates, else in this computer's" in text
    assert "{date} is in the same time zone" in text
