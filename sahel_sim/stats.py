"""Summary statistics of the conflict, computed the same way from a simulation and from ACLED.

One module computes every calibration statistic (``calibration/targets.yaml``) from an
:class:`Observed` bundle: an ACLED-style events table, plus, when available, the model's
weekly regional series, refugees by country and control snapshots. A simulated run and a real
ACLED export go through the same code: :func:`observed_from_run` and
:func:`observed_from_acled` only build the bundle.

Actors are recognised by name, as ACLED writes them. Each event's ``actor1``,
``assoc_actor_1``, ``actor2`` and ``assoc_actor_2`` (ACLED separates several associated
actors with ``;``) are mapped to scenario actor ids with an :class:`ActorMap` built from the
scenario's ``acled_names`` and, for real exports, ``calibration/acled_actor_map.yaml`` (exact
names and regular expressions). An event *involves* an actor when the actor is any of the
four. *Militant Islamist* (MI) events are those involving an actor of kind ``jihadist``: the
measure the Africa Center for Strategic Studies (ACSS) reports from ACLED.

The statistic kinds (the ``statistic:`` of a target):

- ``count``: events (or their fatalities) that pass a :class:`Query`;
- ``ratio``: one query over another, with an optional pseudo-count added to both (small
  counts such as events near Bamako are often zero);
- ``share``: the share of a query's events that also pass a sub-filter;
- ``stock``: people displaced (``idps``, ``refugees``, optionally one asylum country)
  at a date, from the model's series (not in ACLED). ``countries`` names the asylum countries
  a refugee source counted: the total, and the denominator of ``share_of_total``, are then
  sums over those countries only (UNHCR's update of 4 July 2012 counted Mauritania, Burkina
  Faso, Niger, Guinea and Togo, not Algeria, where it had no operation);
- ``control_area_ratio``: area held by a faction in some regions around one date over
  around another (from the control snapshots; not in ACLED).

- ``region_mix_distance``: total variation distance between the admin1 mix of violent events
  in a period and a reference mix (ACLED's counts by admin1);
- ``actor_mix_distance``: total variation distance between the shares of violent events in
  a period that involve each actor group (a group is a list of actor ids or kinds) and a
  reference (ACLED's events involving each group). An event involving two groups counts for
  both, as in ACLED's aggregates, and events involving none of the groups are left out, so
  events ACLED records with an unidentified perpetrator weigh only through their named side;
- ``event_type_mix_distance``: total variation distance between the mix of ACLED event types
  among the violent events of a period and a reference (ACLED's counts by event type);
- ``control_share``: share of the control snapshots in a window in which a faction holds the
  cell of a place; ``cells_held``: cells a faction holds in some regions at a date;
  ``max_region_share_held``: the largest share of a region any one armed group holds before a
  date (not in ACLED).

Statistics that need data a source does not have are ``nan`` (e.g. displacement for an
ACLED export), and reported as "not computable" rather than as a miss.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sahel_sim.config import ConfigError
from sahel_sim.events import EVENT_TYPES, VIOLENT_EVENT_TYPES
from sahel_sim.geography import NEIGHBOUR_COUNTRIES, REGIONS, haversine_km

if TYPE_CHECKING:
    from sahel_sim.config import Scenario
    from sahel_sim.run import CellSnapshots, RunResult

# The political-violence event types ACSS counts as militant Islamist "violent events".

# Named places for ``near:`` filters (town centres, GeoNames).
PLACES: dict[str, tuple[float, float]] = {"Bamako": (12.6392, -8.0029)}

# ACLED admin1 spellings (and the 2023 regions, which split the old ones) -> model regions.
# ACLED writes Timbuktu and Taoudeni; exports from 2023 on may use the new regions (law
# 2023-006), which are folded back into the regions they were carved from.
ADMIN1_TO_REGION: dict[str, str] = {
    **{r: r for r in REGIONS},
    "Timbuktu": "Tombouctou", "Taoudeni": "Taoudenit", "Taoudenni": "Taoudenit", "Ségou": "Segou",
    "Bandiagara": "Mopti", "Douentza": "Mopti", "San": "Segou", "Nioro": "Kayes", "Kita": "Kayes",
    "Dioila": "Koulikoro", "Nara": "Koulikoro", "Bougouni": "Sikasso", "Koutiala": "Sikasso",
}

# ACLED's admin1 regions in its 2012-2019 aggregates (Taoudenit inside Tombouctou)
ACLED_MIX_REGIONS: tuple[str, ...] = tuple(r for r in REGIONS if r != "Taoudenit")

TEXT_COLUMNS = ("event_type", "sub_event_type", "actor1", "assoc_actor_1", "actor2", "assoc_actor_2",
                "civilian_targeting", "country", "admin1", "location")
EVENT_COLUMNS_REQUIRED = ("event_date", "event_type", "actor1", "actor2", "civilian_targeting",
                          "admin1", "latitude", "longitude", "fatalities")


# --------------------------------------------------------------------------- actors
@dataclass(frozen=True)
class ActorMap:
    """ACLED actor names -> scenario actor ids: exact names first, then regular expressions.

    ``kinds`` gives each actor id's kind (``jihadist``, ``state`` ...), so that queries can
    name a kind (``militant_islamist`` is every ``jihadist`` actor).
    """

    names: Mapping[str, str]
    patterns: Sequence[tuple[re.Pattern[str], str]] = ()
    kinds: Mapping[str, str] = field(default_factory=dict)

    def lookup(self, name: str) -> str | None:
        name = name.strip()
        if not name:
            return None
        hit = self.names.get(name)
        if hit is not None:
            return hit
        for pattern, actor in self.patterns:
            if pattern.search(name):
                return actor
        return None

    def ids_of(self, group: str) -> frozenset[str]:
        """Actor ids a query names: ``militant_islamist``, a kind, or an actor id."""
        if group == "militant_islamist":
            group = "jihadist"
        by_kind = {a for a, k in self.kinds.items() if k == group}
        return frozenset(by_kind or {group})

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> ActorMap:
        names = {n.name: aid for aid, a in scenario.actors.items() for n in a.acled_names}
        kinds = {aid: a.kind for aid, a in scenario.actors.items()}
        return cls(names=names, kinds=kinds)

    def with_file(self, path: str | Path) -> ActorMap:
        """This map extended by a mapping file (exact ``names`` and ordered ``patterns``)."""
        from sahel_sim.config.loader import read_yaml

        path = Path(path)
        data = read_yaml(path)
        if not set(data) <= {"names", "patterns"} or not isinstance(data.get("names") or {}, dict) \
                or not isinstance(data.get("patterns") or [], list):
            raise ConfigError(f"{path}: expected a mapping with keys 'names' (a mapping) and 'patterns' (a list)")
        known = set(self.kinds)
        names = dict(self.names)
        for name, actor in (data.get("names") or {}).items():
            if known and actor not in known:
                raise ConfigError(f"{path}: names.{name}: unknown actor {actor!r}; known: {', '.join(sorted(known))}")
            names[str(name)] = str(actor)
        patterns = list(self.patterns)
        for i, item in enumerate(data.get("patterns") or []):
            if not isinstance(item, dict) or set(item) != {"pattern", "actor"}:
                raise ConfigError(f"{path}: patterns[{i}]: expected {{pattern: REGEX, actor: ID}}")
            if not isinstance(item["pattern"], str) or len(item["pattern"]) > 1000:
                raise ConfigError(f"{path}: patterns[{i}].pattern: expected a regular expression (text)")
            if known and item["actor"] not in known:
                raise ConfigError(f"{path}: patterns[{i}].actor: unknown actor {item['actor']!r}")
            try:
                patterns.append((re.compile(item["pattern"]), str(item["actor"])))
            except re.error as exc:
                raise ConfigError(f"{path}: patterns[{i}].pattern: not a regular expression ({exc})") from None
        return ActorMap(names=names, patterns=tuple(patterns), kinds=self.kinds)


# --------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Observed:
    """Everything statistics are computed from. Only ``events`` is required.

    ``events`` has ACLED's columns (:data:`EVENT_COLUMNS_REQUIRED`); ``weekly`` the model's
    (week x region) table; ``refugees`` (week x country); ``snapshots`` the control maps with
    ``cell_area_km2`` and ``cell_region`` (region names) aligned with ``snapshots.gid``.
    """

    events: pd.DataFrame
    actors: ActorMap
    weekly: pd.DataFrame | None = None
    refugees: pd.DataFrame | None = None
    snapshots: CellSnapshots | None = None
    cell_area_km2: np.ndarray | None = None
    cell_region: np.ndarray | None = None
    cell_lat: np.ndarray | None = None
    cell_lon: np.ndarray | None = None
    faction_kinds: Mapping[str, str] = field(default_factory=dict)
    label: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # -------------------------------------------------------------- derived columns (cached)
    def involvement(self, ids: frozenset[str]) -> np.ndarray:
        """Events in which any of ``ids`` is an actor or associated actor (bool array)."""
        key = "inv:" + ",".join(sorted(ids))
        if key not in self._cache:
            parts = self._participants()
            mask = np.zeros(len(self.events), dtype=bool)
            for col in parts.values():
                mask |= col.isin(ids).to_numpy()
            self._cache[key] = mask
        return self._cache[key]

    def _participants(self) -> dict[str, pd.Series]:
        """Actor ids in each actor slot (several assoc actors are split on ``;``)."""
        if "participants" not in self._cache:
            ev = self.events
            out: dict[str, pd.Series] = {}
            for col in ("actor1", "actor2", "assoc_actor_1", "assoc_actor_2"):
                if col not in ev.columns:
                    continue
                names = ev[col].fillna("").astype(str)
                if col.startswith("assoc"):
                    split = names.str.split(";", expand=True)
                    for j in range(split.shape[1]):
                        out[f"{col}_{j}"] = self._map_names(split[j].fillna(""))
                else:
                    out[col] = self._map_names(names)
            self._cache["participants"] = out
        return self._cache["participants"]

    def _map_names(self, names: pd.Series) -> pd.Series:
        uniq = pd.unique(names)
        table = {n: self.actors.lookup(n) for n in uniq}
        return names.map(table)

    def dates(self) -> np.ndarray:
        if "dates" not in self._cache:
            self._cache["dates"] = pd.to_datetime(self.events["event_date"]).to_numpy(dtype="datetime64[D]")
        return self._cache["dates"]

    def regions(self) -> np.ndarray:
        if "regions" not in self._cache:
            admin = self.events["admin1"].fillna("").astype(str)
            self._cache["regions"] = admin.map(lambda a: ADMIN1_TO_REGION.get(a.strip(), a.strip())).to_numpy(dtype=object)
        return self._cache["regions"]

    def civilian_targeting(self) -> np.ndarray:
        if "civ" not in self._cache:
            self._cache["civ"] = self.events["civilian_targeting"].fillna("").astype(str).str.strip().str.len().to_numpy() > 0
        return self._cache["civ"]

    def distance_to(self, place: str) -> np.ndarray:
        key = "dist:" + place
        if key not in self._cache:
            if place not in PLACES:
                raise ConfigError(f"near.place: unknown place {place!r}; known: {', '.join(PLACES)}")
            lat, lon = PLACES[place]
            ev = self.events
            self._cache[key] = haversine_km(lat, lon, ev["latitude"].to_numpy(float), ev["longitude"].to_numpy(float))
        return self._cache[key]


def observed_from_run(result: RunResult, *, grid=None) -> Observed:
    """The statistics bundle of one simulated run."""
    from sahel_sim.geography import load_grid

    grid = grid if grid is not None else load_grid(national_population=result.scenario.population.national_total)
    snaps = result.snapshots
    order = {int(g): i for i, g in enumerate(grid.gid)}
    idx = np.array([order[int(g)] for g in snaps.gid], dtype=np.int64)
    cols = [c for c in ("event_date", "event_type", "actor1", "assoc_actor_1", "actor2", "assoc_actor_2",
                        "civilian_targeting", "admin1", "latitude", "longitude", "fatalities")]
    return Observed(
        events=result.events.select(cols).to_pandas(),
        actors=ActorMap.from_scenario(result.scenario),
        weekly=result.weekly.select(["week_start", "region", "idps_hosted", "refugees_origin"]).to_pandas(),
        refugees=result.refugees.to_pandas(),
        snapshots=snaps,
        cell_area_km2=grid.area_km2[idx],
        cell_region=np.array(REGIONS, dtype=object)[grid.region[idx]],
        cell_lat=grid.lat[idx],
        cell_lon=grid.lon[idx],
        faction_kinds={f: result.scenario.actors[f].kind for f in snaps.factions},
        label=result.run_id,
    )


def read_acled_csv(path: str | Path) -> pd.DataFrame:
    """Read an ACLED export (CSV, by header name) and check the columns statistics need."""
    path = Path(path)
    try:
        ev = pd.read_csv(path, low_memory=False, dtype=dict.fromkeys(TEXT_COLUMNS, str))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder; expected an ACLED export (CSV)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable CSV ({exc.__class__.__name__})") from None
    missing = [c for c in EVENT_COLUMNS_REQUIRED if c not in ev.columns]
    if missing:
        raise ConfigError(f"{path}: missing ACLED column(s) {', '.join(missing)}; "
                          f"expected an ACLED export with at least {', '.join(EVENT_COLUMNS_REQUIRED)}")
    if "country" in ev.columns:
        ev = ev[ev["country"].fillna("Mali") == "Mali"]
    dates = pd.to_datetime(ev["event_date"], errors="coerce", format="mixed")
    if dates.isna().any():
        bad = ev.loc[dates.isna(), "event_date"].iloc[0]
        raise ConfigError(f"{path}: event_date {bad!r} is not a date")
    ev = ev.assign(event_date=dates.dt.date)
    ev["fatalities"] = pd.to_numeric(ev["fatalities"], errors="coerce").fillna(0)
    return ev.reset_index(drop=True)


def observed_from_acled(events: pd.DataFrame, actors: ActorMap, *, label: str = "ACLED") -> Observed:
    """The statistics bundle of a real ACLED export (events only)."""
    return Observed(events=events, actors=actors, label=label)


# --------------------------------------------------------------------------- queries
def _date(value: Any, where: str) -> np.datetime64:
    from sahel_sim.config.types import parse_date

    try:
        return np.datetime64(parse_date(value), "D")
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class Query:
    """A filter over the events, and what to measure (``events`` or ``fatalities``).

    ``start``/``end`` are inclusive dates; ``event_types`` ACLED event types, or ``violent``
    for the three political-violence types ACSS counts (:data:`VIOLENT_EVENT_TYPES`); ``involving`` actor ids, kinds or
    ``militant_islamist`` (any of them); ``civilian_targeting`` True/False; ``regions`` model
    region names (ACLED admin1 spellings are mapped); ``near`` a place and radius in km.
    """

    start: np.datetime64
    end: np.datetime64
    measure: str = "events"
    event_types: tuple[str, ...] = ()
    involving: tuple[str, ...] = ()
    civilian_targeting: bool | None = None
    regions: tuple[str, ...] = ()
    near: tuple[str, float] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> Query:
        allowed = {"from", "to", "measure", "event_types", "involving", "civilian_targeting", "regions", "near"}
        extra = set(data) - allowed
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(extra))}; expected: {', '.join(sorted(allowed))}")
        for key in ("from", "to"):
            if key not in data:
                raise ConfigError(f"{where}.{key}: required key is missing")
        measure = data.get("measure", "events")
        if measure not in ("events", "fatalities"):
            raise ConfigError(f"{where}.measure: expected 'events' or 'fatalities', got {measure!r}")
        regions = tuple(data.get("regions") or ())
        for r in regions:
            if r not in REGIONS:
                raise ConfigError(f"{where}.regions: {r!r} is not a region of Mali; expected one of: {', '.join(REGIONS)}")
        near = data.get("near")
        if near is not None:
            if not isinstance(near, Mapping) or set(near) != {"place", "km"}:
                raise ConfigError(f"{where}.near: expected {{place: NAME, km: NUMBER}}")
            near = (str(near["place"]), float(near["km"]))
        types = data.get("event_types") or ()
        types = VIOLENT_EVENT_TYPES if types == "violent" else ((types,) if isinstance(types, str) else tuple(types))
        for t in types:
            if t not in EVENT_TYPES:
                raise ConfigError(f"{where}.event_types: {t!r} is not an ACLED event type; expected 'violent' or "
                                  f"one of: {', '.join(EVENT_TYPES)}")
        involving = data.get("involving") or ()
        involving = (involving,) if isinstance(involving, str) else tuple(involving)
        return cls(start=_date(data["from"], f"{where}.from"), end=_date(data["to"], f"{where}.to"), measure=measure,
                   event_types=types,
                   involving=involving, civilian_targeting=data.get("civilian_targeting"), regions=regions, near=near)

    def mask(self, obs: Observed) -> np.ndarray:
        d = obs.dates()
        m = (d >= self.start) & (d <= self.end)
        if self.event_types:
            m &= obs.events["event_type"].isin(self.event_types).to_numpy()
        if self.involving:
            ids: frozenset[str] = frozenset().union(*(obs.actors.ids_of(g) for g in self.involving))
            m &= obs.involvement(ids)
        if self.civilian_targeting is not None:
            civ = obs.civilian_targeting()
            m &= civ if self.civilian_targeting else ~civ
        if self.regions:
            m &= np.isin(obs.regions(), list(self.regions))
        if self.near is not None:
            m &= obs.distance_to(self.near[0]) <= self.near[1]
        return m

    def value(self, obs: Observed, extra_mask: np.ndarray | None = None) -> float:
        m = self.mask(obs)
        if extra_mask is not None:
            m &= extra_mask
        if self.measure == "fatalities":
            return float(obs.events["fatalities"].to_numpy(dtype=np.float64)[m].sum())
        return float(m.sum())


# --------------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class Statistic:
    """One statistic as declared by a target's ``statistic:`` block (see module docstring)."""

    kind: str
    spec: Mapping[str, Any]
    where: str = "statistic"

    KINDS = ("count", "ratio", "share", "stock", "control_area_ratio", "region_mix_distance", "actor_mix_distance",
             "event_type_mix_distance", "control_share", "cells_held", "max_region_share_held")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ConfigError(f"{self.where}.kind: unknown statistic {self.kind!r}; expected one of: {', '.join(self.KINDS)}")
        # parse eagerly so that a bad targets file fails when it is read, not mid-calibration
        self._parse()

    def _parse(self) -> dict[str, Any]:
        s, w = self.spec, self.where
        if self.kind == "count":
            return {"query": Query.from_dict(s["query"] if "query" in s else _need(s, "query", w), f"{w}.query")}
        if self.kind == "ratio":
            return {"num": Query.from_dict(_need(s, "numerator", w), f"{w}.numerator"),
                    "den": Query.from_dict(_need(s, "denominator", w), f"{w}.denominator"),
                    "pseudo": float(s.get("pseudo_count", 0.0))}
        if self.kind == "share":
            whole = dict(_need(s, "of", w))
            part = {**whole, **dict(_need(s, "part", w))}
            return {"whole": Query.from_dict(whole, f"{w}.of"), "part": Query.from_dict(part, f"{w}.part")}
        if self.kind == "stock":
            series = _need(s, "series", w)
            if series not in ("idps", "refugees"):
                raise ConfigError(f"{w}.series: expected 'idps' or 'refugees', got {series!r}")
            country = s.get("country")
            if country is not None and country not in NEIGHBOUR_COUNTRIES:
                raise ConfigError(f"{w}.country: {country!r} is not a neighbouring country; expected one of: "
                                  f"{', '.join(NEIGHBOUR_COUNTRIES)}")
            countries = s.get("countries")
            if countries is not None:
                if series != "refugees":
                    raise ConfigError(f"{w}.countries: only a refugee stock is counted by asylum country")
                if isinstance(countries, str) or not isinstance(countries, Sequence) or not countries:
                    raise ConfigError(f"{w}.countries: expected a non-empty list of neighbouring countries")
                for c in countries:
                    if c not in NEIGHBOUR_COUNTRIES:
                        raise ConfigError(f"{w}.countries: {c!r} is not a neighbouring country; expected one of: "
                                          f"{', '.join(NEIGHBOUR_COUNTRIES)}")
                if country is not None and country not in countries:
                    raise ConfigError(f"{w}.country: {country!r} is not among {w}.countries")
                countries = tuple(countries)
            return {"series": series, "country": country, "at": _date(_need(s, "at", w), f"{w}.at"),
                    "share": bool(s.get("share_of_total", False)), "countries": countries}
        if self.kind == "region_mix_distance":
            ref = _need(s, "reference", w)
            if not isinstance(ref, Mapping) or not ref:
                raise ConfigError(f"{w}.reference: expected a mapping of region: events")
            for r in ref:
                if r not in ACLED_MIX_REGIONS:
                    raise ConfigError(f"{w}.reference: {r!r} is not one of {', '.join(ACLED_MIX_REGIONS)}")
            query = {"event_types": "violent", "from": _need(s, "from", w), "to": _need(s, "to", w)}
            return {"query": Query.from_dict(query, w), "reference": {k: float(v) for k, v in ref.items()}}
        if self.kind == "event_type_mix_distance":
            ref = _need(s, "reference", w)
            if not isinstance(ref, Mapping) or not ref or not set(ref) <= set(VIOLENT_EVENT_TYPES):
                raise ConfigError(f"{w}.reference: expected a mapping of event type: events, the types among "
                                  f"{', '.join(VIOLENT_EVENT_TYPES)}")
            query = {"event_types": "violent", "from": _need(s, "from", w), "to": _need(s, "to", w)}
            return {"query": Query.from_dict(query, w), "reference": {k: float(ref.get(k, 0.0)) for k in VIOLENT_EVENT_TYPES}}
        if self.kind == "actor_mix_distance":
            groups = _need(s, "groups", w)
            ref = _need(s, "reference", w)
            if not isinstance(groups, Mapping) or not groups or not all(
                    isinstance(v, (list, tuple)) and v and all(isinstance(x, str) for x in v) for v in groups.values()):
                raise ConfigError(f"{w}.groups: expected a mapping of group: [actor ids or kinds]")
            if not isinstance(ref, Mapping) or set(ref) != set(groups):
                raise ConfigError(f"{w}.reference: expected events for each group of {w}.groups "
                                  f"({', '.join(groups)}), got {', '.join(map(str, ref)) if isinstance(ref, Mapping) else ref!r}")
            if sum(float(v) for v in ref.values()) <= 0:
                raise ConfigError(f"{w}.reference: expected at least one event")
            query = {"event_types": "violent", "from": _need(s, "from", w), "to": _need(s, "to", w)}
            return {"query": Query.from_dict(query, w), "groups": {str(k): tuple(v) for k, v in groups.items()},
                    "reference": {str(k): float(v) for k, v in ref.items()}}
        if self.kind in ("control_share", "cells_held", "max_region_share_held"):
            out: dict[str, Any] = {}
            if self.kind != "max_region_share_held":
                out["faction"] = str(_need(s, "faction", w))
            if self.kind == "control_share":
                place = _need(s, "place", w)
                if not isinstance(place, Mapping) or not {"lat", "lon"} <= set(place):
                    raise ConfigError(f"{w}.place: expected {{name, lat, lon}}")
                out |= {"lat": float(place["lat"]), "lon": float(place["lon"]), "start": _date(_need(s, "from", w), f"{w}.from"),
                        "end": _date(_need(s, "to", w), f"{w}.to")}
            else:
                regions = tuple(_need(s, "regions", w))
                for r in regions:
                    if r not in REGIONS:
                        raise ConfigError(f"{w}.regions: {r!r} is not a region of Mali")
                out["regions"] = regions
            if self.kind == "cells_held":
                out["at"] = _date(_need(s, "at", w), f"{w}.at")
                out["min_lon"] = float(s["min_lon"]) if "min_lon" in s else None
            if self.kind == "max_region_share_held":
                out["before"] = _date(_need(s, "before", w), f"{w}.before")
            return out
        # control_area_ratio
        regions = tuple(_need(s, "regions", w))
        for r in regions:
            if r not in REGIONS:
                raise ConfigError(f"{w}.regions: {r!r} is not a region of Mali")
        return {"faction": str(_need(s, "faction", w)), "regions": regions,
                "num": _date(_need(s, "at", w), f"{w}.at"), "den": _date(_need(s, "versus", w), f"{w}.versus"),
                "window": int(s.get("window_weeks", 12)), "pseudo_cells": float(s.get("pseudo_cells", 0.0))}

    def compute(self, obs: Observed) -> float:
        p = self._parse()
        if self.kind == "count":
            return p["query"].value(obs)
        if self.kind == "ratio":
            den = p["den"].value(obs) + p["pseudo"]
            return (p["num"].value(obs) + p["pseudo"]) / den if den > 0 else float("nan")
        if self.kind == "share":
            whole = p["whole"].value(obs)
            return p["part"].value(obs) / whole if whole > 0 else float("nan")
        if self.kind == "stock":
            return _stock(obs, **p)
        if self.kind == "region_mix_distance":
            return _region_mix_distance(obs, **p)
        if self.kind == "actor_mix_distance":
            return _actor_mix_distance(obs, **p)
        if self.kind == "event_type_mix_distance":
            return _event_type_mix_distance(obs, **p)
        if self.kind == "control_share":
            return _control_share(obs, **p)
        if self.kind == "cells_held":
            return _cells_held(obs, **p)
        if self.kind == "max_region_share_held":
            return _max_region_share_held(obs, **p)
        return _control_area_ratio(obs, **p)


def _need(spec: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in spec:
        raise ConfigError(f"{where}.{key}: required key is missing")
    return spec[key]


def _stock(obs: Observed, *, series: str, country: str | None, at: np.datetime64, share: bool,
           countries: tuple[str, ...] | None) -> float:
    """People displaced at the last recorded week starting on or before ``at`` (refugees:
    in ``country``, or in all of ``countries``, or everywhere; as a share of ``countries``'
    total, or of everyone's, with ``share``)."""
    if series == "idps" or (country is None and not share and countries is None):
        table = obs.weekly
        col = "idps_hosted" if series == "idps" else "refugees_origin"
        if table is None:
            return float("nan")
        national = table.groupby("week_start", sort=True)[col].sum()
    else:
        if obs.refugees is None:
            return float("nan")
        wide = obs.refugees.pivot_table(index="week_start", columns="country", values="refugees", aggfunc="sum").sort_index()
        counted = wide if countries is None else wide.reindex(columns=list(countries), fill_value=0.0)
        total = counted.sum(axis=1)
        if country is None:
            national = total
        else:
            national = wide[country] / total.clip(lower=1e-9) if share else wide[country]
    dates = pd.to_datetime(pd.Series(national.index)).to_numpy(dtype="datetime64[D]")
    k = int(np.searchsorted(dates, at, side="right")) - 1
    return float(national.iloc[k]) if k >= 0 else float("nan")


def _control_area_ratio(obs: Observed, *, faction: str, regions: tuple[str, ...], num: np.datetime64,
                        den: np.datetime64, window: int, pseudo_cells: float) -> float:
    """Area a faction controls in ``regions``, averaged over the snapshots within
    ``window`` weeks of ``num``, over the same around ``den``; ``pseudo_cells`` mean cells of
    area are added to both (a group holding nothing at either date gives 1, not 0/0)."""
    s = obs.snapshots
    if s is None or obs.cell_area_km2 is None or faction not in s.factions:
        return float("nan")
    f = s.factions.index(faction)
    in_regions = np.isin(obs.cell_region, list(regions))
    area = np.where(in_regions, obs.cell_area_km2, 0.0)
    held = (s.control == f) @ area  # (t,)
    dates = np.array(s.dates, dtype="datetime64[D]")
    half = np.timedelta64(7 * window // 2, "D")
    pseudo = pseudo_cells * float(area[in_regions].mean()) if in_regions.any() else 0.0

    def around(t: np.datetime64) -> float:
        sel = (dates >= t - half) & (dates <= t + half)
        return float(held[sel].mean()) if sel.any() else float("nan")

    a, b = around(num) + pseudo, around(den) + pseudo
    return a / b if b > 0 else float("nan")


def _total_variation(counts: np.ndarray, reference: np.ndarray) -> float:
    """Total variation distance between two count vectors, each normalised to shares; nan
    when either has no count."""
    if counts.sum() <= 0 or reference.sum() <= 0:
        return float("nan")
    return 0.5 * float(np.abs(counts / counts.sum() - reference / reference.sum()).sum())


def _region_mix_distance(obs: Observed, *, query: Query, reference: Mapping[str, float]) -> float:
    """Total variation distance between the admin1 mix of the events ``query`` selects and a
    reference mix (ACLED's counts by admin1), Taoudenit counted in Tombouctou as ACLED's
    2012-2019 aggregates do; nan when no event is selected."""
    m = query.mask(obs)
    if not m.any():
        return float("nan")
    regions = pd.Series(obs.regions()[m]).replace({"Taoudenit": "Tombouctou"})
    model = regions.value_counts().reindex(list(ACLED_MIX_REGIONS), fill_value=0).to_numpy(float)
    ref = np.array([reference.get(r, 0.0) for r in ACLED_MIX_REGIONS])
    return _total_variation(model, ref)


def _event_type_mix_distance(obs: Observed, *, query: Query, reference: Mapping[str, float]) -> float:
    """Total variation distance between the event-type mix of the events ``query`` selects and
    the reference counts by type; nan when no event is selected."""
    m = query.mask(obs)
    if not m.any():
        return float("nan")
    types = list(reference)
    model = obs.events["event_type"][m].value_counts().reindex(types, fill_value=0).to_numpy(float)
    ref = np.array([reference[t] for t in types])
    return _total_variation(model, ref)


def _actor_mix_distance(obs: Observed, *, query: Query, groups: Mapping[str, tuple[str, ...]],
                        reference: Mapping[str, float]) -> float:
    """Total variation distance between the shares of the events ``query`` selects that
    involve each group (actor ids or kinds, as in :meth:`ActorMap.ids_of`) and the reference
    counts; nan when no selected event involves any group."""
    m = query.mask(obs)
    model = np.array([float((m & obs.involvement(frozenset().union(*(obs.actors.ids_of(x) for x in ids)))).sum())
                      for ids in groups.values()])
    if model.sum() <= 0:
        return float("nan")
    ref = np.array([reference[g] for g in groups])
    return _total_variation(model, ref)


def _snapshot_window(obs: Observed, start: np.datetime64, end: np.datetime64) -> np.ndarray:
    dates = np.array(obs.snapshots.dates, dtype="datetime64[D]")
    return (dates >= start) & (dates <= end)


def _control_share(obs: Observed, *, faction: str, lat: float, lon: float, start: np.datetime64,
                   end: np.datetime64) -> float:
    """Share of the control snapshots in [start, end] in which ``faction`` holds the cell whose
    centre is nearest (lat, lon)."""
    s = obs.snapshots
    if s is None or obs.cell_lat is None or faction not in s.factions:
        return float("nan")
    col = int(np.argmin(haversine_km(lat, lon, obs.cell_lat, obs.cell_lon)))
    sel = _snapshot_window(obs, start, end)
    return float((s.control[sel, col] == s.factions.index(faction)).mean()) if sel.any() else float("nan")


def _cells_held(obs: Observed, *, faction: str, regions: tuple[str, ...], at: np.datetime64,
                min_lon: float | None) -> float:
    """Cells ``faction`` holds in ``regions`` (east of ``min_lon``) at the snapshot nearest ``at``."""
    s = obs.snapshots
    if s is None or obs.cell_region is None or faction not in s.factions:
        return float("nan")
    dates = np.array(s.dates, dtype="datetime64[D]")
    i = int(np.argmin(np.abs(dates - at)))
    mask = (s.control[i] == s.factions.index(faction)) & np.isin(obs.cell_region, list(regions))
    if min_lon is not None:
        mask &= obs.cell_lon >= min_lon
    return float(mask.sum())


def _max_region_share_held(obs: Observed, *, regions: tuple[str, ...], before: np.datetime64) -> float:
    """Largest share of any one of ``regions``' cells held by one armed group (jihadist,
    separatist or militia faction) in any snapshot before ``before``."""
    s = obs.snapshots
    if s is None or obs.cell_region is None:
        return float("nan")
    armed = [k for k, f in enumerate(s.factions) if obs.faction_kinds.get(f) in ("jihadist", "separatist", "militia")]
    dates = np.array(s.dates, dtype="datetime64[D]")
    early = s.control[dates < before]
    best = 0.0
    for r in regions:
        cells = obs.cell_region == r
        if not cells.any() or early.size == 0:
            continue
        for k in armed:
            best = max(best, float((early[:, cells] == k).mean(axis=1).max()))
    return best


def compute_statistics(statistics: Mapping[str, Statistic], obs: Observed) -> dict[str, float]:
    """Every statistic of ``statistics`` (id -> Statistic) on one bundle."""
    return {key: stat.compute(obs) for key, stat in statistics.items()}


def run_statistics(result: RunResult, statistics: Mapping[str, Statistic], *, grid=None) -> dict[str, float]:
    """Statistics of one simulated run (the function calibration workers call)."""
    return compute_statistics(statistics, observed_from_run(result, grid=grid))
