"""Read object and array literals out of inline JavaScript without running it.

A tolerant tokenizer (strings, template literals, comments and regex literals respected)
feeds a small recursive-descent reader of JS-ish literals: single quotes, unquoted keys,
trailing commas, `true/false/null/undefined`, template literals without `${}`, and string
concatenation of literals and known string variables. Anything else inside a literal (a
function, a call, a ternary) becomes `UNRESOLVED` so the rest of the literal still reads."""

from __future__ import annotations

import json
from typing import Any

from audiofetch_app.sources.page.jstokens import UNRESOLVED, Token, tokenize

__all__ = ["UNRESOLVED", "OutOfBudget", "Reader", "Token", "assigned_name", "assignments", "calls",
           "parse_literal", "receiver", "string_vars", "tokenize"]

MAX_DEPTH = 64
WORK_FACTOR = 20


class OutOfBudget(Exception):
    """A script took more reading than its size warrants; stop with what was found."""


_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_ENDS = (",", ";", ")", "]", "}")
_KEYWORD_VALUES = {"true": True, "false": False, "null": None, "undefined": None}


class Reader:
    """Reads literal values from a token list; `env` maps variable names to known strings."""

    def __init__(self, tokens: list[Token], env: dict[str, str] | None = None) -> None:
        self.tokens = tokens
        self.env = env if env is not None else {}
        # Work allowed for all reads on this script: keeps nested literals from going quadratic.
        self.budget = WORK_FACTOR * len(tokens) + 10_000

    def _spend(self, steps: int = 1) -> None:
        self.budget -= steps
        if self.budget < 0:
            raise OutOfBudget

    def _at(self, i: int) -> Token | None:
        return self.tokens[i] if 0 <= i < len(self.tokens) else None

    def _is(self, i: int, value: str) -> bool:
        tok = self._at(i)
        return tok is not None and tok.kind == "punct" and tok.value == value

    def skip_value(self, i: int) -> int:
        """Index just after the expression at i: up to a `,`, `;` or closer at depth 0."""
        return self._scan(i, stop_at_separators=True)

    def _scan(self, i: int, *, stop_at_separators: bool) -> int:
        """Index of the first closer at bracket depth 0 (or `,`/`;` there, if asked)."""
        depth = 0
        while i < len(self.tokens):
            self._spend()
            tok = self.tokens[i]
            if tok.kind == "punct":
                if tok.value in _CLOSERS:
                    depth += 1
                elif tok.value in (")", "]", "}"):
                    if depth == 0:
                        return i
                    depth -= 1
                elif stop_at_separators and tok.value in (",", ";") and depth == 0:
                    return i
            i += 1
        return i

    def value(self, i: int, depth: int = 0) -> tuple[Any, int]:
        """(value, next index) for the expression starting at token i."""
        parts: list[Any] = []
        j = i
        while True:
            part, j = self._primary(j, depth)
            parts.append(part)
            if self._is(j, "+"):
                j += 1
                continue
            break
        tok = self._at(j)
        # A following name or literal can only start a new statement (no semicolons).
        if tok is not None and tok.kind == "punct" and tok.value not in _ENDS:
            return UNRESOLVED, self.skip_value(j)
        if len(parts) == 1:
            return parts[0], j
        plain = all(isinstance(p, str | int | float) and not isinstance(p, bool) for p in parts)
        if plain and any(isinstance(p, str) for p in parts):
            return "".join(str(p) for p in parts), j
        return UNRESOLVED, j

    def _primary(self, i: int, depth: int) -> tuple[Any, int]:
        tok = self._at(i)
        if tok is None:
            return UNRESOLVED, i
        self._spend()
        if depth > MAX_DEPTH:
            return UNRESOLVED, self.skip_value(i)
        if tok.kind in ("str", "num"):
            return tok.value, i + 1
        if tok.kind == "punct":
            if tok.value == "{":
                return self._object(i + 1, depth + 1)
            if tok.value == "[":
                return self._array(i + 1, depth + 1)
            if tok.value == "-" and (nxt := self._at(i + 1)) is not None and nxt.kind == "num":
                return -nxt.value, i + 2
            return UNRESOLVED, self.skip_value(i)
        if tok.kind == "name":
            if tok.value in _KEYWORD_VALUES:
                return _KEYWORD_VALUES[tok.value], i + 1
            name, j = tok.value, i + 1
            while self._is(j, ".") and (part := self._at(j + 1)) is not None and (
                    part.kind == "name"):
                name, j = f"{name}.{part.value}", j + 2
            if self._is(j, "(") or self._is(j, "[") or self._is(j, "=>"):
                return UNRESOLVED, self.skip_value(j)
            return self.env.get(name, UNRESOLVED), j
        return UNRESOLVED, self.skip_value(i + 1)

    def _array(self, i: int, depth: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        while i < len(self.tokens):
            if self._is(i, "]"):
                return items, i + 1
            if self._is(i, ","):
                i += 1
                continue
            if self._is(i, "..."):
                i = self.skip_value(i + 1)
                continue
            start = i
            item, i = self.value(i, depth)
            items.append(item)
            if self._is(i, ":") or i == start:
                i = self.skip_value(i + 1)
            if not (self._is(i, ",") or self._is(i, "]")):
                return items, self._close(i, "]")
        return items, i

    def _object(self, i: int, depth: int) -> tuple[dict[str, Any], int]:
        obj: dict[str, Any] = {}
        while i < len(self.tokens):
            tok = self.tokens[i]
            if tok.kind == "punct" and tok.value == "}":
                return obj, i + 1
            if tok.kind == "punct" and tok.value == ",":
                i += 1
                continue
            key: str | None = None
            if tok.kind in ("str", "name") and isinstance(tok.value, str):
                key = tok.value
            elif tok.kind == "num":
                key = str(tok.value)
            if key is not None and self._is(i + 1, ":"):
                obj[key], i = self.value(i + 2, depth)
            elif key is not None and tok.kind == "name" and (self._is(i + 1, ",")
                                                            or self._is(i + 1, "}")):
                obj[key] = self.env.get(key, UNRESOLVED)  # shorthand {src, title}
                i += 1
            else:
                i = self.skip_value(i)
            if not (self._is(i, ",") or self._is(i, "}")):
                return obj, self._close(i, "}")
        return obj, i

    def _close(self, i: int, closer: str) -> int:
        """After a surprise inside a literal: resume after the literal's own closer."""
        i = self._scan(i, stop_at_separators=False)
        tok = self._at(i)
        return i + 1 if tok is not None and tok.value == closer else i


def parse_literal(text: str, env: dict[str, str] | None = None) -> Any | None:
    """A Python value for a JSON or JS-ish literal (an attribute, a script body), else None."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        pass
    try:
        tokens = tokenize(text.strip().rstrip(";"))
        if not tokens:
            return None
        value, end = Reader(tokens, env).value(0)
        if value is UNRESOLVED or end < len(tokens):
            return None
        return value
    except (RecursionError, ValueError, IndexError, OutOfBudget):
        return None


_STRING_ASSIGN = ("var", "let", "const")


def string_vars(tokens: list[Token], env: dict[str, str] | None = None) -> dict[str, str]:
    """`NAME = <string expression>` assignments whose value can be worked out, in order."""
    known = dict(env or {})
    reader = Reader(tokens, known)
    for i, tok in enumerate(tokens):
        if tok.kind != "name" or tok.value in _STRING_ASSIGN or not reader._is(i + 1, "="):
            continue
        name = tok.value
        if reader._is(i - 1, ".") and (owner := reader._at(i - 2)) and owner.kind == "name":
            name = f"{owner.value}.{name}"
        nxt = reader._at(i + 2)
        if nxt is None or nxt.kind not in ("str", "name", "num"):
            continue
        try:
            value, _ = reader.value(i + 2)
        except RecursionError:
            continue
        except OutOfBudget:
            break
        if isinstance(value, str):
            known[name] = value
    return known


def calls(tokens: list[Token], names: set[str], env: dict[str, str] | None = None,
          limit: int = 500) -> list[tuple[int, list[Any]]]:
    """Every call `name(...)` (also `new name(`, `x.name(`): (index of the name, arguments)."""
    reader = Reader(tokens, env)
    found: list[tuple[int, list[Any]]] = []
    for i, tok in enumerate(tokens):
        if tok.kind == "name" and tok.value in names and reader._is(i + 1, "("):
            args: list[Any] = []
            j = i + 2
            try:
                while j < len(tokens) and not reader._is(j, ")") and len(args) < 16:
                    start = j
                    arg, j = reader.value(j, 1)
                    args.append(arg)
                    if reader._is(j, ","):
                        j += 1
                    elif j == start or not reader._is(j, ")"):
                        break
            except OutOfBudget:
                break
            found.append((i, args))
            if len(found) >= limit:
                break
    return found


def receiver(tokens: list[Token], index: int) -> Any:
    """For `f('x').name(` at the name's index: the literal first argument of f, else None."""
    if index >= 4 and tokens[index - 1].value == "." and tokens[index - 2].value == ")":
        arg = tokens[index - 3]
        if arg.kind == "str" and tokens[index - 4].value == "(":
            return arg.value
    return None


def assigned_name(tokens: list[Token], index: int) -> str | None:
    """For `name = new X(` / `name: new X(` / `name = X(` at X's index: the name."""
    j = index - 1
    if j >= 0 and tokens[j].kind == "name" and tokens[j].value == "new":
        j -= 1
    if j >= 1 and tokens[j].kind == "punct" and tokens[j].value in ("=", ":"):
        name = tokens[j - 1]
        if name.kind in ("name", "str") and isinstance(name.value, str):
            return name.value
    return None


def assignments(tokens: list[Token], env: dict[str, str] | None = None,
                limit: int = 500) -> list[tuple[str, int, Any]]:
    """`name = {...}` / `name = [...]` (also `a.b = ...`, `name: [...]`): (name, index, value)."""
    reader = Reader(tokens, env)
    found: list[tuple[str, int, Any]] = []
    for i, tok in enumerate(tokens):
        if tok.kind not in ("name", "str") or not isinstance(tok.value, str):
            continue
        if not (reader._is(i + 1, "=") or reader._is(i + 1, ":")):
            continue
        if not (reader._is(i + 2, "[") or reader._is(i + 2, "{")):
            continue
        try:
            value, _ = reader.value(i + 2, 1)
        except OutOfBudget:
            break
        found.append((tok.value, i, value))
        if len(found) >= limit:
            break
    return found
