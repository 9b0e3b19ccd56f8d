"""A tolerant JavaScript tokenizer for reading literals out of inline scripts.

Strings, template literals, comments and regex literals are respected, so brackets and quotes
inside them never confuse the reader; anything unexpected becomes a one-character token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_TOKENS = 400_000


class _Unresolved:
    """Stands for a value that only running the script could tell."""

    _instance: _Unresolved | None = None

    def __new__(cls) -> _Unresolved:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNRESOLVED"

    def __bool__(self) -> bool:
        return False


UNRESOLVED = _Unresolved()


@dataclass(slots=True)
class Token:
    kind: str      # "str", "num", "name", "punct"
    value: Any
    start: int     # offset in the script text


_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z)|<!--|-->)
    |(?P<str>"(?:[^"\\\n]|\\.|\\\n)*"?|'(?:[^'\\\n]|\\.|\\\n)*'?)
    |(?P<tpl>`(?:[^`\\]|\\.)*`?)
    |(?P<num>(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
    |(?P<name>[A-Za-z_$\u00a0-\uffff][\w$\u00a0-\uffff]*)
    |(?P<punct>=>|\.\.\.|===|!==|==|!=|<=|>=|&&|\|\||\?\?|\?\.|[-+*/%=<>!&|^~?:;,.(){}\[\]])
    |(?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)
_REGEX_LITERAL = re.compile(r"/(?:[^/\\\[\n]|\\.|\[(?:[^\]\\\n]|\\.)*\])+/[a-z]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0",
            "\n": ""}
_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.DOTALL)


def _unescape(match: re.Match[str]) -> str:
    seq = match.group(1)
    if seq.startswith("u{"):
        code = int(seq[2:-1], 16)
        return chr(code) if code < 0x110000 else ""
    if seq[0] in "ux" and len(seq) > 1:
        return chr(int(seq[1:], 16))
    return _ESCAPES.get(seq, seq)


def js_string(body: str) -> str:
    """The value of a JS string literal's body (without its quotes)."""
    return _ESCAPE.sub(_unescape, body) if "\\" in body else body


def _regex_allowed(tokens: list[Token]) -> bool:
    if not tokens:
        return True
    last = tokens[-1]
    if last.kind in ("str", "num"):
        return False
    if last.kind == "name":
        return last.value in ("return", "typeof", "case", "in", "of", "delete", "void", "new")
    return last.value not in (")", "]", "}")


def tokenize(text: str) -> list[Token]:
    """Tokens of a script; never raises, stops after MAX_TOKENS."""
    tokens: list[Token] = []
    pos, end = 0, len(text)
    while pos < end and len(tokens) < MAX_TOKENS:
        if text[pos] == "/" and _regex_allowed(tokens) and text[pos:pos + 2] not in ("//", "/*"):
            regex = _REGEX_LITERAL.match(text, pos)
            if regex:
                tokens.append(Token("regex", regex.group(), pos))
                pos = regex.end()
                continue
        match = _TOKEN.match(text, pos)
        if match is None:  # pragma: no cover - the pattern matches any character
            break
        kind = match.lastgroup
        raw = match.group()
        if kind == "str":
            closed = len(raw) > 1 and raw[-1] == raw[0]
            tokens.append(Token("str", js_string(raw[1:-1] if closed else raw[1:]), pos))
        elif kind == "tpl":
            body = raw[1:-1] if len(raw) > 1 and raw.endswith("`") else raw[1:]
            value = UNRESOLVED if "${" in body else js_string(body)
            tokens.append(Token("str", value, pos))
        elif kind == "num":
            tokens.append(Token("num", _number(raw), pos))
        elif kind in ("name", "punct", "other"):
            tokens.append(Token("name" if kind == "name" else "punct", raw, pos))
        pos = match.end()
    return tokens


def _number(raw: str) -> int | float:
    try:
        return int(raw, 16) if raw[:2] in ("0x", "0X") else (
            float(raw) if any(c in raw for c in ".eE") else int(raw))
    except ValueError:
        return 0
