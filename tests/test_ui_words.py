"""Durations and facts as the Spaces tab and the Jobs view word them (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from audiofetch_app.sources.spaces.metadata import SpaceMetadata
from audiofetch_app.ui.spaces_tab import facts
from audiofetch_app.ui.words import allowed_range, human_duration


def _space(state: str, **times) -> SpaceMetadata:
    return SpaceMetadata(space_id="1Abc", media_key="28_1", title="Talk", state=state,
                         host_name="Host", host_screen_name="host", **times)


def test_durations_read_as_a_person_says_them() -> None:
    assert [human_duration(s) for s in (None, -1, 0, 45, 60, 180, 3599, 3600, 3900, 90061)] == [
        "", "", "0 s", "45 s", "1 min", "3 min", "59 min", "1 h 00 min", "1 h 05 min",
        "25 h 01 min"]
    assert allowed_range(1, 16) == "Allowed: 1 to 16."


def test_facts_fit_the_state_of_the_space() -> None:
    start = datetime(2024, 5, 2, 18, 0, tzinfo=UTC)
    ended = facts(_space("Ended", started_at=start, ended_at=start + timedelta(minutes=65),
                         replay_available=True))
    assert ended == ["Started 2024-05-02 18:00 UTC", "1 h 05 min", "replay available"]
    assert facts(_space("Ended", started_at=start, ended_at=start + timedelta(minutes=3)))[1:] \
        == ["3 min", "no replay"]
    later = facts(_space("NotStarted", scheduled_start=start))
    assert later == ["Scheduled for 2024-05-02 18:00 UTC"]  # nothing about a replay
    recent = datetime.now(UTC) - timedelta(minutes=3, seconds=5)
    live = facts(_space("Running", started_at=recent))
    assert live[1] == "for 3 min" and live[-1].startswith("recorded from its start")
    # A live Space whose start X reports two years back shows no "17876 h".
    old = facts(_space("Running", started_at=datetime.now(UTC) - timedelta(hours=17876)))
    assert not any(" h " in fact for fact in old), old
