"""Domain types declared once and reused by every schema (units live in field names)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Weeks = Annotated[int, Field(ge=1, le=2000)]
Date = dt.date

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
    """Closed, frozen model: an unknown or misspelled key is an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
