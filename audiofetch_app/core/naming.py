"""Safe file names and output templates that work on Windows, macOS and Linux."""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_WINDOWS_RESERVED = {
    "CON", "PRN", "AUX", "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
# Invisible format characters (Unicode category Cf) are dropped, bidirectional controls such
# as U+202E above all: they make "3pm\u202eexe.mp3" read as an .exe ("Trojan Source",
# CVE-2021-42574). The zero-width joiner and non-joiner stay: emoji and Persian need them.
_KEPT_FORMAT = {"\u200c", "\u200d"}
MAX_NAME_BYTES = 200  # leaves room for ".part" and a "(2)" under the usual 255-byte limit


class TemplateError(ValueError):
    """A name template that cannot be used; the message names the bad field."""


def safe_filename(name: str, fallback: str = "audio", max_bytes: int = MAX_NAME_BYTES) -> str:
    """Turn any text into one path component that every common file system accepts."""
    name = unicodedata.normalize("NFC", str(name))
    name = "".join(ch for ch in name
                   if ch in _KEPT_FORMAT or unicodedata.category(ch) != "Cf")
    name = re.sub(r"\s+", " ", name)  # tabs and newlines from page titles become spaces
    name = re.sub(r"\s*:\s+", " - ", name)  # "Chapter 3: Home" reads better as "Chapter 3 - Home"
    name = _FORBIDDEN.sub("_", name).strip().strip(".").strip()
    if not name or set(name) <= {"_", " "}:
        name = fallback
    stem, dot, ext = name.rpartition(".")
    if stem.upper().split(".")[0] in _WINDOWS_RESERVED or name.upper() in _WINDOWS_RESERVED:
        name = "_" + name
    encoded = name.encode("utf-8")
    if len(encoded) > max_bytes:
        suffix = ("." + ext) if dot and 0 < len(ext) <= 8 else ""
        keep = max_bytes - len(suffix.encode("utf-8"))
        head = encoded[:keep].decode("utf-8", errors="ignore").rstrip(" .")
        name = head + suffix
    return name


def safe_relpath(path: str, fallback: str = "audio") -> str:
    """Make a relative path safe: each part sanitised, no absolute roots, no `..`."""
    parts = [p for p in re.split(r"[\\/]+", path) if p not in ("", ".", "..")]
    clean = [safe_filename(p, fallback=fallback) for p in parts]
    return str(PurePosixPath(*clean)) if clean else fallback


class _Fields(dict):
    def __missing__(self, key: str) -> Any:
        raise TemplateError(f"The name template uses {{{key}}}, which is not available here.")


def render_template(template: str, fields: Mapping[str, Any], ext: str | None = None) -> str:
    """Fill a `{field}`/`{date:%Y-%m-%d}` template and return a safe relative path.

    Each `/` in the template starts a folder; values cannot create folders or escape.
    """
    values: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, str):
            value = value.replace("/", "_").replace("\\", "_").replace(_EMPTY, "")
        values[key] = _EMPTY if value is None or value == "" else value
    if ext is not None:
        values.setdefault("ext", ext.lstrip("."))
    try:
        for _, field, _, _ in string.Formatter().parse(template):
            if field is not None and not field.isidentifier():
                raise TemplateError(f"The name template field {{{field}}} is not allowed.")
        rendered = template.format_map(_Fields(values))
    except (ValueError, TypeError) as exc:
        if isinstance(exc, TemplateError):
            raise
        raise TemplateError(f"The name template {template!r} is not valid: {exc}.") from exc
    return safe_relpath("/".join(_tidy(part) for part in rendered.split("/")))


# Empty fields render as this mark first, so that what they leave behind ("()", "[]", a
# separator with nothing on one side) can be taken out without touching the rest of a name.
_EMPTY = "\x00"
_SEP = r"[-\u2013\u2014_:,;\u00b7|]"
_IN_BRACKETS = re.compile(rf"\s*[(\[]\s*{_EMPTY}\s*[)\]]")
_AFTER_SEPARATOR = re.compile(rf"\s*{_SEP}\s*{_EMPTY}")
_BEFORE_SEPARATOR = re.compile(rf"^\s*{_EMPTY}\s*{_SEP}\s*")


def _tidy(component: str) -> str:
    """One rendered path component without the separators and brackets of empty fields
    ("{host} - {title}" with no host is "Title", not "- Title")."""
    if _EMPTY not in component:
        return component
    component = _IN_BRACKETS.sub("", component)
    component = _AFTER_SEPARATOR.sub("", component)
    component = _BEFORE_SEPARATOR.sub("", component)
    return re.sub(r"\s{2,}", " ", component.replace(_EMPTY, "")).strip()


def unique_path(path: Path) -> Path:
    """Return `path`, or `name (2).ext`, `name (3).ext`... if it exists already."""
    if not path.exists() and not path.with_name(path.name + ".part").exists():
        return path
    stem, suffix = path.stem, path.suffix
    for n in range(2, 10_000):
        candidate = path.with_name(f"{stem} ({n}){suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(f"Too many files named like {path.name}.")


def format_date(value: datetime | None, fmt: str = "%Y-%m-%d") -> str:
    return value.strftime(fmt) if value else ""
