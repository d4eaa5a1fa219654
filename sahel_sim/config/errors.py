"""The error every bad input becomes, and how its values are shown.

A :class:`ConfigError` is what users see: ``str(err)`` is at most :data:`MAX_LINES` lines of
at most :data:`MAX_LINE_CHARS` characters, whatever the input (a 50 MB value or ten thousand
problems still print a few short lines). :func:`show` renders a value for a message as the
user wrote it (``2011-01-01``, not ``datetime.date(2011, 1, 1)``), shortened.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

MAX_LINE_CHARS = 300
"""Longest line of an error message (longer lines end in ``...``)."""
MAX_LINES = 4
"""Most problem lines one error shows; the rest are counted on a last line."""
MAX_VALUE_CHARS = 60
"""Longest rendering of one offending value inside a message."""


def show(value: Any, *, limit: int = MAX_VALUE_CHARS) -> str:
    """A value as the user would have written it in YAML, cut to ``limit`` characters."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, (dt.date, dt.datetime)):
        text = value.isoformat()
    elif isinstance(value, str):
        text = repr(value) if len(value) <= limit else repr(value[:limit]) + f"... ({len(value):,} characters)"
        return text
    elif isinstance(value, (int, float)):
        text = repr(value)
        if len(text) > limit:
            text = f"{value:.6g}" if isinstance(value, float) else f"an integer of {len(text):,} digits"
    elif isinstance(value, dict):
        text = f"a mapping of {len(value)} keys"
    elif isinstance(value, (list, tuple)):
        text = f"a list of {len(value)} items"
    elif isinstance(value, bytes):
        text = f"{len(value)} bytes"
    else:
        text = type(value).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def cap_message(message: str, *, max_lines: int = MAX_LINES, max_chars: int = MAX_LINE_CHARS) -> str:
    """At most ``max_lines`` lines of at most ``max_chars`` characters (plus a count line)."""
    lines = [ln for ln in str(message).splitlines() if ln.strip()] or ["(no details)"]
    shown = [ln if len(ln) <= max_chars else ln[: max_chars - 3] + "..." for ln in lines[:max_lines]]
    if len(lines) > max_lines:
        shown.append(f"... and {len(lines) - max_lines} more problem(s)")
    return "\n".join(shown)


class ConfigError(ValueError):
    """A bad input file or override. ``str(err)`` is the short message users see (capped)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(cap_message(message))
