"""Attribute lists (RFC 8216 §4.2) and variable substitution (EXT-X-DEFINE, RFC 8216bis §4.3
and §4.4.2.3): `{$name}` in a playlist becomes the value a DEFINE gave it, whether written in
the playlist (NAME/VALUE), taken from the playlist URL's query (QUERYPARAM, often a token) or
imported from the master playlist (IMPORT)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from audiofetch_app.core.hls_model import HlsError, short_url

# RFC 8216 §4.2: NAME=value, where a quoted-string may hold commas.
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"\r\n]*"|[^",]*)')
_REFERENCE = re.compile(r"\{\$([A-Za-z0-9_-]+)\}")
_DEFINE = "#EXT-X-DEFINE:"


def attributes(text: str) -> dict[str, str]:
    """An attribute list (RFC 8216 §4.2) as a dict; quoted-strings lose their quotes."""
    found = {}
    for name, value in _ATTRIBUTE.findall(text):
        found[name] = value[1:-1] if value.startswith('"') else value.strip()
    return found


def substitute(text: str, url: str, imported: dict[str, str] | None = None
               ) -> tuple[str, dict[str, str]]:
    """`text` with every `{$name}` replaced (RFC 8216bis §4.3), and the variables it defines;
    a reference to a variable it does not define is a sentence, as the draft says it must
    fail to parse."""
    if _DEFINE not in text:
        return text, {}
    variables: dict[str, str] = {}
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(_DEFINE):
            name, value = _define(attributes(line[len(_DEFINE):]), query, imported or {})
            if value is None:
                raise HlsError(f"The HLS playlist at {short_url(url)} cannot be read: line "
                               f"{number} defines {name or 'a variable'} from a value it does "
                               "not have.")
            variables[name] = value
        elif "{$" in line:
            line = _REFERENCE.sub(
                lambda match, at=number: _value(match, variables, url, at), line)
        lines.append(line)
    return "\n".join(lines), variables


def _define(found: dict[str, str], query: dict[str, str], imported: dict[str, str]
            ) -> tuple[str, str | None]:
    if "NAME" in found:
        return found["NAME"], found.get("VALUE")
    if "QUERYPARAM" in found:
        return found["QUERYPARAM"], query.get(found["QUERYPARAM"])
    if "IMPORT" in found:
        return found["IMPORT"], imported.get(found["IMPORT"])
    return "", None


def _value(match: re.Match[str], variables: dict[str, str], url: str, number: int) -> str:
    name = match.group(1)
    if name not in variables:
        raise HlsError(f"The HLS playlist at {short_url(url)} cannot be read: line {number} "
                       f"uses the variable {name}, which it does not define.")
    return variables[name]
