"""Domain types declared once and reused by every schema (units live in field names).

Every number a scenario holds is finite and bounded, every text is bounded, and every date
lies in a bounded window, so that whatever passes the schema gives a run that ends and fits in
memory. The limits are documented for users in docs/validation_limits.md.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sahel_sim.config.errors import show

# --------------------------------------------------------------------------- limits
MAX_NUMBER = 1e9
"""Largest value of any non-negative or positive quantity (rates, counts, distances, people)."""
MAX_TEXT_CHARS = 10_000
"""Longest text value (descriptions, sources, notes) in any scenario, sweep or config file."""
MAX_NAME_CHARS = 80
"""Longest name of a scenario, sweep, analysis or calibration (it becomes a folder name)."""
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)
"""Dates lie in this window (the model's calendar is weekly from the start date)."""

Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, le=MAX_NUMBER, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, le=MAX_NUMBER, allow_inf_nan=False)]
Weeks = Annotated[int, Field(ge=1, le=2000)]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: Any) -> dt.date:
    """A calendar date written ``YYYY-MM-DD`` (a string, or a date) within the date window.

    Numbers are refused: pydantic would read ``86400`` as a Unix time (1970-01-02), which
    nobody writes on purpose.
    """
    if isinstance(value, dt.datetime):
        raise ValueError(f"{value.isoformat()} is a date and time; expected a date YYYY-MM-DD")
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"{value.strip()} is not a date ({exc}); expected YYYY-MM-DD") from None
    else:
        raise ValueError(f"expected a date YYYY-MM-DD, got {show(value)}")
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(f"{day.isoformat()} is outside the supported dates {MIN_DATE}..{MAX_DATE}")
    return day


Date = Annotated[dt.date, BeforeValidator(parse_date)]

FileName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", min_length=1, max_length=MAX_NAME_CHARS)]
"""A name that becomes a file or folder name: letters, digits, ``_ . -``, not starting with a
dot (so never ``.`` or ``..``), at most :data:`MAX_NAME_CHARS` characters."""

ActorId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=40)]

ActorKind = Literal["state", "foreign", "mercenary", "peacekeeper", "jihadist", "separatist", "militia"]
"""What an actor is, which fixes its behaviour in the model:

- ``state``: national forces (FAMa) holding garrisons and sending mobile columns;
- ``foreign``: foreign counter-terrorism forces (Serval/Barkhane) striking armed groups;
- ``mercenary``: forces embedded with a state's columns (Wagner);
- ``peacekeeper``: UN contingents at camps (MINUSMA);
- ``jihadist``: insurgent groups that recruit, tax, coerce and expand (JNIM, IS Sahel);
- ``separatist``: the CMA, bound by a ceasefire while the accord stands;
- ``militia``: community self-defence militias.
"""

ARMED_GROUP_KINDS: frozenset[str] = frozenset({"jihadist", "separatist", "militia"})
GOVERNMENT_SIDE_KINDS: frozenset[str] = frozenset({"state", "foreign", "mercenary"})


class Strict(BaseModel):
    """Closed, frozen model: an unknown or misspelled key is an error, never ignored.

    Every float field of every block refuses ``inf`` and ``nan``, and every text field is at
    most :data:`MAX_TEXT_CHARS` long, including fields added later.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False,
                              str_max_length=MAX_TEXT_CHARS)
