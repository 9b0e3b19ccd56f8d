"""File names that every OS accepts, and templates that cannot escape the folder."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from audiofetch_app.core.naming import (
    TemplateError,
    render_template,
    safe_filename,
    safe_relpath,
    unique_path,
)


@pytest.mark.parametrize("raw, safe", [
    ("Chapter 3: Home again", "Chapter 3 - Home again"),
    ('a<b>c"d|e?f*g', "a_b_c_d_e_f_g"),
    ("  dots and spaces.  ", "dots and spaces"),
    ("CON", "_CON"),
    ("nul.mp3", "_nul.mp3"),
    ("", "audio"),
    ("///", "audio"),
    ("tab\there\nnewline", "tab here newline"),
])
def test_safe_filename(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe


def test_long_names_keep_their_extension_and_fit() -> None:
    name = safe_filename("ü" * 300 + ".flac")
    assert name.endswith(".flac") and len(name.encode()) <= 200


@pytest.mark.parametrize("raw", ["../../etc/passwd", "/abs/x.mp3", "C:\\win\\a.mp3",
                                 "a/../../b.mp3"])
def test_relative_paths_cannot_escape(raw: str) -> None:
    rel = safe_relpath(raw)
    assert not rel.startswith("/") and ".." not in Path(rel).parts and "\\" not in rel


def test_templates() -> None:
    when = datetime(2024, 5, 6)
    assert render_template("{host} - {title} ({date:%Y-%m-%d}).{ext}",
                           {"host": "Ada", "title": "A/B: talk", "date": when}, ext="m4a") == (
        "Ada - A_B - talk (2024-05-06).m4a")
    assert render_template("{channel}/{n:02d} {title}.{ext}",
                           {"channel": "News", "n": 3, "title": "x"}, ext="mp3") == (
        "News/03 x.mp3")
    with pytest.raises(TemplateError, match="nope"):
        render_template("{nope}.mp3", {})
    with pytest.raises(TemplateError):
        render_template("{title.__class__}", {"title": "x"})


def test_unique_path(tmp_path: Path) -> None:
    first = tmp_path / "song.mp3"
    assert unique_path(first) == first
    first.write_text("x")
    assert unique_path(first) == tmp_path / "song (2).mp3"


FAMILY_EMOJI = "Family \U0001F468\u200d\U0001F469\u200d\U0001F467"
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"


@pytest.mark.parametrize("text, expected", [
    ("3pm\u202eexe.mp3", "3pmexe.mp3"),  # RIGHT-TO-LEFT OVERRIDE: would show as "3pm3pm.exe"
    ("a\u2066b\u2069c\u200fd\u061ce\ufefff", "abcdef"),  # isolates, marks, BOM
    (FAMILY_EMOJI, FAMILY_EMOJI),  # zero-width joiners hold the emoji together
    (PERSIAN, PERSIAN),  # the zero-width non-joiner is part of the spelling
])
def test_invisible_format_characters_go_but_joiners_stay(text: str, expected: str) -> None:
    assert safe_filename(text) == expected


@pytest.mark.parametrize("template, fields, expected", [
    ("{host} - {title} ({date:%Y-%m-%d}).{ext}", {"host": "", "title": "Show"},
     "Show (2024-05-01).m4a"),
    ("{host} - {title} ({date:%Y-%m-%d}).{ext}", {"host": "Ann", "title": ""},
     "Ann (2024-05-01).m4a"),
    ("{host} - {title} - {id}.{ext}", {"host": "Ann", "title": "", "id": "1x"}, "Ann - 1x.m4a"),
    ("{host}_{title} [{id}].{ext}", {"host": None, "title": "Talk", "id": ""}, "Talk.m4a"),
    ("{host}/{title}.{ext}", {"host": "", "title": "Talk"}, "Talk.m4a"),
    ("{title} - (Live).{ext}", {"title": "Song"}, "Song - (Live).m4a"),  # not an empty field
])
def test_empty_fields_leave_no_dangling_separator(template: str, fields: dict,
                                                  expected: str) -> None:
    values = {"date": datetime(2024, 5, 1), **fields}
    assert render_template(template, values, ext="m4a") == expected
