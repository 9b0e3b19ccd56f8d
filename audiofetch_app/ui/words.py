"""Small pieces every tab shares: numbers a person types within bounds, and durations in words."""

from __future__ import annotations

from nicegui import ui


def allowed_range(low: int, high: int) -> str:
    """The message shown beside a number field whose value is out of range."""
    return f"Allowed: {low} to {high}."


def bounded_number(label: str, low: int, high: int, value: int | None = None) -> ui.number:
    """A whole-number field that refuses, beside itself, a value outside `low`..`high`
    (ui.number's own min and max would change the value silently instead)."""

    def in_range(number: float | None) -> str | None:
        ok = number is not None and float(number).is_integer() and low <= number <= high
        return None if ok else allowed_range(low, high)

    return ui.number(label, value=value, precision=0, validation=in_range) \
        .props(f'hint="{low} to {high}"')


def human_duration(seconds: float | None) -> str:
    """'45 s', '3 min', '1 h 05 min' ('' when unknown)."""
    if seconds is None or seconds < 0:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
