"""Paths follow AUDIOFETCH_HOME or platformdirs; settings persist, validate and notify."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiofetch_app import settings as settings_mod
from audiofetch_app.core.store import Store


def test_home_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIOFETCH_HOME", str(tmp_path / "home"))
    assert settings_mod.data_dir() == tmp_path / "home"
    assert settings_mod.data_dir().is_dir()
    assert settings_mod.db_path().parent == tmp_path / "home"
    assert settings_mod.default_download_dir() == tmp_path / "home" / "downloads"


def test_platform_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIOFETCH_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_MUSIC_DIR", str(tmp_path / "Music"))
    assert settings_mod.data_dir() == tmp_path / "data" / "AudioFetch"
    # No Music folder yet: Downloads/AudioFetch; once it exists, Music/AudioFetch.
    assert settings_mod.default_download_dir().name == "AudioFetch"
    (tmp_path / "Music").mkdir()
    assert settings_mod.default_download_dir() == tmp_path / "Music" / "AudioFetch"


def test_settings_defaults_persist_and_notify(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIOFETCH_HOME", str(tmp_path))
    store = Store(tmp_path / "db.json")
    service = settings_mod.SettingsService(store)
    current = service.get()
    assert current.workers == 8 and current.audio_format == "m4a"
    assert current.download_path() == tmp_path / "downloads"
    seen = []
    service.subscribe(seen.append)
    service.update(workers=4, audio_format="mp3", download_dir=str(tmp_path / "out"))
    assert seen and seen[-1].workers == 4
    store.close()
    reopened = settings_mod.SettingsService(Store(tmp_path / "db.json")).get()
    assert (reopened.workers, reopened.audio_format) == (4, "mp3")
    assert reopened.download_path() == tmp_path / "out"


@pytest.mark.parametrize("changes, message", [
    ({"workers": 0}, "between 1 and 64"),
    ({"audio_format": "wma"}, "m4a, mp3"),
    ({"nonsense": 1}, "Unknown setting"),
])
def test_settings_reject_bad_values(tmp_path: Path, changes: dict, message: str) -> None:
    service = settings_mod.SettingsService(Store(tmp_path / "db.json"))
    with pytest.raises(ValueError, match=message):
        service.update(**changes)
    assert service.get().workers == 8  # nothing half-applied
