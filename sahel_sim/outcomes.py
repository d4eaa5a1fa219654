"""Per-run outcomes: the one-row summary every sweep, comparison and sensitivity analysis uses.

The functions here take **pandas DataFrames** with ACLED's column names (the events log) and
the weekly regional table, so the same code summarises a simulated run and a real ACLED
export. :func:`summarise` wires them to a :class:`~sahel_sim.run.RunResult`.

Column names are snake_case and end with the calendar year (or ``_total`` /
``_per_year`` / ``_peak`` for whole-run figures):

- ``events_<type>_<year>`` with ``<type>`` one of ``battles``, ``violence_against_civilians``,
  ``explosions_remote_violence``, ``strategic_developments``; ``events_<year>`` all types;
- ``mi_events_<year>``: events involving a militant Islamist group (either side), the measure
  the Africa Center for Strategic Studies reports from ACLED;
- ``actor_events_<ACTOR>_<year>``: events an organisation took part in (either side), with
  associated units counted for their parent (``part_of``), each event counted once;
- ``fatalities_<year>`` (all reported) and ``civilian_targeting_fatalities_<year>`` (events
  ACLED flags "Civilian targeting"): comparable to an ACLED export;
- ``civilian_deaths_<year>``, ``combatant_deaths_<year>``: the model's own split (weekly table);
- ``idps_<year>``, ``refugees_<year>``, ``displaced_<year>``: people displaced at the last week
  of the year;
- ``control_share_<FACTION>_<year>`` and ``control_share_uncontrolled_<year>``: share of grid
  cells held at the last week of the year;
- ``strength_<ACTOR>_<year>``: fighters (troops) at year end; ``grievance_<year>``:
  population-weighted mean grievance at year end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sahel_sim.events import EVENT_TYPES

if TYPE_CHECKING:
    from sahel_sim.run import RunResult

WEEKS_PER_YEAR = 52.1775  # 365.2425 / 7


def slug(text: str) -> str:
    """``"Explosions/Remote violence"`` -> ``"explosions_remote_violence"``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


EVENT_TYPE_SLUGS: dict[str, str] = {t: slug(t) for t in EVENT_TYPES}

# Names of militant Islamist groups in ACLED's Mali exports, for exports without the
# simulation's actor-id columns (ACLED actor names, 2012-2024 codebook).
MILITANT_ISLAMIST_PATTERN = re.compile(
    r"JNIM|Jama'?at Nus?rat|Islamic State|ISGS|IS Sahel|Ansar Dine|AQIM|Al Qaeda|MUJAO|"
    r"Katiba Macina|Macina Liberation|Al Mourabitoun|Ansaroul Islam",
    re.IGNORECASE,
)

# Whether a larger value of an outcome is worse (+1), better (-1) or neither (0), for
# "probability that B is worse than A". Matched on the outcome name's prefix, first hit wins.
OUTCOME_DIRECTIONS: tuple[tuple[str, int], ...] = (
    ("civilian_deaths", +1), ("combatant_deaths", +1), ("fatalities", +1),
    ("civilian_targeting_fatalities", +1), ("events_strategic_developments", 0), ("events", +1),
    ("mi_events", +1), ("idps", +1), ("refugees", +1), ("displaced", +1), ("grievance", +1),
    ("control_share_uncontrolled", +1),
)


def outcome_direction(name: str, *, state_factions: Iterable[str] = ("FAMa",),
                      armed_factions: Iterable[str] = ("JNIM", "ISGS")) -> int:
    """+1 if more of ``name`` is worse for civilians and the state, -1 if better, 0 if neither.

    Territory held by the state is better, by jihadist groups worse; everything else about
    actors (strength, involvement in events, separatist territory) is reported without a
    judgement.
    """
    for faction in state_factions:
        if name.startswith(f"control_share_{faction}_"):
            return -1
    for faction in armed_factions:
        if name.startswith(f"control_share_{faction}_"):
            return +1
    for prefix, direction in OUTCOME_DIRECTIONS:
        if name == prefix or name.startswith(prefix + "_"):
            return direction
    return 0


# --------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class OutcomeLabel:
    """An outcome in words, for reports: ``text`` (with its time), ``unit``, and ``kind``.

    ``kind`` says how to show values: ``"count"`` (whole numbers, percent change allowed on a
    large enough base), ``"share"`` (a 0-1 share shown in percent, differences in percentage
    points), ``"index"`` (a 0-1 index, differences as they are) or ``"other"``.
    """

    text: str
    unit: str
    kind: str = "count"


# Actor ids in words (scenario ids elsewhere are kept as they are).
ACTOR_WORDS: dict[str, str] = {
    "FAMa": "the Malian army (FAMa)", "JNIM": "JNIM", "KatibaMacina": "the Katiba Macina",
    "ISGS": "IS Sahel", "CMA": "the CMA (northern separatists)", "Militia": "self-defence militias",
    "MINUSMA": "MINUSMA", "Wagner": "Wagner", "Barkhane": "Barkhane", "uncontrolled": "no one",
}

# The one table of outcome names in words: (name prefix, words, unit, kind); first hit wins, so
# longer prefixes come first. ``{actor}`` is filled from the name (``control_share_<ACTOR>_...``).
OUTCOME_WORDS: tuple[tuple[str, str, str, str], ...] = (
    ("civilian_targeting_fatalities", "people killed in events targeting civilians", "deaths", "count"),
    ("civilian_deaths", "civilians killed", "deaths", "count"),
    ("combatant_deaths", "combatants killed", "deaths", "count"),
    ("fatalities", "people killed (all reported fatalities)", "deaths", "count"),
    ("events_battles", "armed clashes", "events", "count"),
    ("events_violence_against_civilians", "attacks on civilians", "events", "count"),
    ("events_explosions_remote_violence", "explosions and remote violence", "events", "count"),
    ("events_strategic_developments", "strategic developments (non-violent)", "events", "count"),
    ("events", "conflict events (all types)", "events", "count"),
    ("mi_events", "events involving militant Islamist groups", "events", "count"),
    ("actor_events_{actor}", "events involving {actor}", "events", "count"),
    ("idps", "people displaced inside Mali", "people", "count"),
    ("refugees", "refugees from Mali abroad", "people", "count"),
    ("displaced", "people displaced (inside Mali and abroad)", "people", "count"),
    ("control_share_{actor}", "territory held by {actor}", "% of grid cells", "share"),
    ("strength_{actor}", "fighters (troops) of {actor}", "fighters", "count"),
    ("grievance", "mean grievance of the population", "index 0-1", "index"),
    ("n_weeks", "weeks simulated", "weeks", "other"),
)

_TIME = re.compile(r"^(?P<stem>.+?)_(?:(?P<year>\d{4})|(?P<whole>total|per_year|peak))$")


def _time_words(stem: str, year: str | None, whole: str | None, *, stock: bool, window: str | None) -> str:
    if year:
        return f"at the end of {year}" if stock else f"in {year}"
    if whole == "per_year":
        return "per year"
    if whole == "peak":
        return "at the peak"
    if whole == "total":
        return f"over {window}" if window else "over the whole run"
    return ""


def outcome_label(name: str, *, window: str | None = None) -> OutcomeLabel:
    """``civilian_deaths_2024`` -> "civilians killed in 2024" (deaths), from :data:`OUTCOME_WORDS`.

    ``window`` (e.g. ``"2019-2024"``) words the ``_total`` outcomes. An unknown name is
    returned as it is, so a new outcome never breaks a report.
    """
    m = _TIME.match(name)
    stem, year, whole = (m.group("stem"), m.group("year"), m.group("whole")) if m else (name, None, None)
    for prefix, words, unit, kind in OUTCOME_WORDS:
        actor = None
        if "{actor}" in prefix:
            head = prefix.replace("_{actor}", "_")
            if not stem.startswith(head) or stem == head:
                continue
            actor = stem.removeprefix(head)
        elif stem != prefix:
            continue
        text = words.format(actor=ACTOR_WORDS.get(actor, actor)) if actor is not None else words
        stock = kind in ("share", "index") or prefix.startswith(("idps", "refugees", "displaced", "strength"))
        when = _time_words(stem, year, whole, stock=stock, window=window)
        return OutcomeLabel(f"{text} {when}".strip(), unit, kind)
    return OutcomeLabel(name, "", "other")


# --------------------------------------------------------------------------- events
def _year_index(years_col: pd.Series, years: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    y = years_col.to_numpy(dtype=np.int64)
    idx = y - int(years[0])
    ok = (idx >= 0) & (idx < len(years))
    return idx, ok


def _by_year(idx: np.ndarray, ok: np.ndarray, n_years: int, weights: np.ndarray | None = None) -> np.ndarray:
    w = None if weights is None else weights[ok]
    return np.bincount(idx[ok], weights=w, minlength=n_years).astype(np.float64)


def militant_islamist_mask(events: pd.DataFrame, *, jihadist_ids: Iterable[str] | None = None) -> np.ndarray:
    """Events with a militant Islamist group on either side.

    With the simulation's ``actor1_id``/``actor2_id`` columns and ``jihadist_ids``, by id;
    otherwise (a real ACLED export) by the group names in ``actor1``, ``assoc_actor_1``,
    ``actor2`` and ``assoc_actor_2``.
    """
    if jihadist_ids is not None and {"actor1_id", "actor2_id"} <= set(events.columns):
        ids = list(jihadist_ids)
        return (events["actor1_id"].isin(ids) | events["actor2_id"].isin(ids)).to_numpy()
    cols = [c for c in ("actor1", "assoc_actor_1", "actor2", "assoc_actor_2") if c in events.columns]
    mask = np.zeros(len(events), dtype=bool)
    for c in cols:
        mask |= events[c].fillna("").astype(str).str.contains(MILITANT_ISLAMIST_PATTERN).to_numpy()
    return mask


def event_outcomes(
    events: pd.DataFrame,
    *,
    years: Sequence[int],
    parent_of: Mapping[str, str] | None = None,
    jihadist_ids: Iterable[str] | None = None,
) -> dict[str, float]:
    """Yearly counts from an ACLED-style events table (columns ``year``, ``event_type``,
    ``fatalities``, ``civilian_targeting``; ``actor1_id``/``actor2_id`` for actor counts).

    ``parent_of`` maps each actor id to the organisation it is counted for (itself, or its
    ``part_of``); without it no ``actor_events_*`` columns are produced. Years outside
    ``years`` are ignored; every year in ``years`` gets a column, zero when nothing happened.
    """
    years = list(years)
    n = len(years)
    idx, ok = _year_index(events["year"], years)
    out: dict[str, float] = {}

    def put(prefix: str, counts: np.ndarray) -> None:
        for y, v in zip(years, counts, strict=True):
            out[f"{prefix}_{y}"] = float(v)
        out[f"{prefix}_total"] = float(counts.sum())

    put("events", _by_year(idx, ok, n))
    etype = events["event_type"].to_numpy()
    for name, s in EVENT_TYPE_SLUGS.items():
        m = etype == name
        put(f"events_{s}", _by_year(idx, ok & m, n))
    mi = militant_islamist_mask(events, jihadist_ids=jihadist_ids)
    put("mi_events", _by_year(idx, ok & mi, n))
    fat = events["fatalities"].to_numpy(dtype=np.float64)
    put("fatalities", _by_year(idx, ok, n, fat))
    civ = events["civilian_targeting"].fillna("").astype(str).str.len().to_numpy() > 0
    put("civilian_targeting_fatalities", _by_year(idx, ok & civ, n, fat * civ))

    if parent_of is not None and {"actor1_id", "actor2_id"} <= set(events.columns):
        p1 = events["actor1_id"].map(parent_of).to_numpy(dtype=object)
        p2 = events["actor2_id"].map(parent_of).to_numpy(dtype=object)
        for parent in dict.fromkeys(parent_of.values()):
            m = (p1 == parent) | (p2 == parent)
            put(f"actor_events_{parent}", _by_year(idx, ok & m, n))
    return out


# --------------------------------------------------------------------------- weekly
def weekly_outcomes(weekly: pd.DataFrame, *, years: Sequence[int]) -> dict[str, float]:
    """Yearly flows (deaths) and year-end stocks (displacement, control, strength, grievance)
    from the weekly table: one row per (week, region) as written by the model's recorder."""
    years = list(years)
    num = weekly.drop(columns=[c for c in ("region", "week_start") if c in weekly.columns])
    num = num.select_dtypes("number")
    if "grievance_mean" in num.columns and "population" in num.columns:
        num = num.assign(_griev_pop=num["grievance_mean"] * num["population"])
    national = num.groupby("week", sort=True).sum()
    week_year = (weekly.groupby("week", sort=True)["week_start"].first()
                 .map(lambda d: pd.Timestamp(d).year).reindex(national.index).to_numpy())
    out: dict[str, float] = {}

    def flow(col: str, name: str) -> None:
        if col not in national.columns:
            return
        v = national[col].to_numpy(dtype=np.float64)
        for y in years:
            out[f"{name}_{y}"] = float(v[week_year == y].sum())
        out[f"{name}_total"] = float(v.sum())
        out[f"{name}_per_year"] = float(v.sum() / max(len(v) / WEEKS_PER_YEAR, 1e-9))

    flow("fatalities_civilian", "civilian_deaths")
    flow("fatalities_combatant", "combatant_deaths")

    # the last recorded week of each year
    last_row = {y: int(np.flatnonzero(week_year == y)[-1]) for y in years if (week_year == y).any()}
    cell_cols = [c for c in national.columns if c.startswith("cells_")]
    n_cells = national[cell_cols].sum(axis=1).to_numpy(dtype=np.float64) if cell_cols else None
    stocks: dict[str, np.ndarray] = {}
    if "idps_hosted" in national.columns:
        stocks["idps"] = national["idps_hosted"].to_numpy(dtype=np.float64)
    if "refugees_origin" in national.columns:
        stocks["refugees"] = national["refugees_origin"].to_numpy(dtype=np.float64)
    if "idps" in stocks and "refugees" in stocks:
        stocks["displaced"] = stocks["idps"] + stocks["refugees"]
    for c in cell_cols:
        stocks[f"control_share_{c.removeprefix('cells_')}"] = (
            national[c].to_numpy(dtype=np.float64) / np.maximum(n_cells, 1.0))
    for c in national.columns:
        if c.startswith("strength_"):
            stocks[c] = national[c].to_numpy(dtype=np.float64)
    if "_griev_pop" in national.columns:
        stocks["grievance"] = (national["_griev_pop"] / national["population"].clip(lower=1.0)).to_numpy()
    for name, v in stocks.items():
        for y in years:
            out[f"{name}_{y}"] = float(v[last_row[y]]) if y in last_row else float("nan")
    for name in ("idps", "refugees", "displaced"):
        if name in stocks and len(stocks[name]):
            out[f"{name}_peak"] = float(stocks[name].max())
    out["n_weeks"] = float(len(national))
    return out


# --------------------------------------------------------------------------- one run
EVENT_COLUMNS_USED = ("year", "event_type", "fatalities", "civilian_targeting", "actor1_id", "actor2_id")


def summarise(result: RunResult) -> dict[str, float]:
    """The outcome row of one run (see the module docstring for the columns)."""
    scenario = result.scenario
    years = list(range(scenario.start_date.year, scenario.end_date.year + 1))
    events = result.events.select(list(EVENT_COLUMNS_USED)).to_pandas()
    parent_of = {aid: (a.part_of or aid) for aid, a in scenario.actors.items()}
    jihadist = [aid for aid, a in scenario.actors.items() if a.kind == "jihadist"]
    out = event_outcomes(events, years=years, parent_of=parent_of, jihadist_ids=jihadist)
    out.update(weekly_outcomes(result.weekly.to_pandas(), years=years))
    n_years = max(out["n_weeks"] / WEEKS_PER_YEAR, 1e-9)
    for name in ("events", "mi_events", "fatalities"):
        out[f"{name}_per_year"] = out[f"{name}_total"] / n_years
    return out
