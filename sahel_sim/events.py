"""The ACLED-style event log.

Columns follow ACLED's export (codebook, 2023 edition), in its order, so the same analysis
code runs on a real ACLED export and on a simulated one; the simulation adds ``run_id``,
``seed``, ``gid`` (PRIO-GRID cell) and ``week``. ``inter1``/``inter2`` use ACLED's numeric
actor-type codes and ``interaction`` their two-digit combination (smaller code first).
As ACLED fills them:

- ``event_date`` is a date (Parquet DATE, Arrow date32), ``time_precision`` 1 (the day is
  known: the model dates each event to a day of its week);
- ``disorder_type`` from the event type, by ACLED's codebook: battles, explosions/remote
  violence and violence against civilians are "Political violence", protests and riots
  "Demonstrations", strategic developments "Strategic developments";
- ``admin2`` the cercle, from the cell (``sahel_sim/geography/data/mali_cercles.json``, built
  by ``scripts/build_cercles.py``: the nearest cercle chef-lieu within the cell's region, an
  approximation said in that file's ``source``);
- ``source`` is the simulation and ``source_scale`` "Other" (ACLED's scale for a source that is
  none of local, subnational, national, regional, international or new media);
- ``notes`` one generated sentence: date, place, who did what to whom, fatalities.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import numpy as np
import pyarrow as pa

EVENT_TYPES: tuple[str, ...] = (
    "Battles",
    "Violence against civilians",
    "Explosions/Remote violence",
    "Strategic developments",
)
VIOLENT_EVENT_TYPES: tuple[str, ...] = ("Battles", "Explosions/Remote violence", "Violence against civilians")
"""The political-violence types ACSS and the calibration count (no protests, riots or strategic developments)."""
SUB_EVENT_TYPES: tuple[str, ...] = (
    "Armed clash",                          # Battles
    "Government regains territory",         # Battles
    "Non-state actor overtakes territory",  # Battles
    "Attack",                               # Violence against civilians
    "Abduction/forced disappearance",       # Violence against civilians
    "Remote explosive/landmine/IED",        # Explosions/Remote violence
    "Air/drone strike",                     # Explosions/Remote violence
    "Shelling/artillery/missile attack",    # Explosions/Remote violence
    "Agreement",                            # Strategic developments
    "Change to group/activity",             # Strategic developments
    "Headquarters or base established",     # Strategic developments
    "Non-violent transfer of territory",    # Strategic developments
)
SUB_TO_TYPE: dict[str, str] = {
    **dict.fromkeys(SUB_EVENT_TYPES[0:3], "Battles"),
    **dict.fromkeys(SUB_EVENT_TYPES[3:5], "Violence against civilians"),
    **dict.fromkeys(SUB_EVENT_TYPES[5:8], "Explosions/Remote violence"),
    **dict.fromkeys(SUB_EVENT_TYPES[8:12], "Strategic developments"),
}
SUB_INDEX: dict[str, int] = {s: i for i, s in enumerate(SUB_EVENT_TYPES)}

# ACLED codebook (2023): the disorder type of each event type
DISORDER_TYPES: tuple[str, ...] = ("Political violence", "Demonstrations", "Strategic developments")
DISORDER_OF_TYPE: dict[str, str] = {
    "Battles": "Political violence",
    "Violence against civilians": "Political violence",
    "Explosions/Remote violence": "Political violence",
    "Protests": "Demonstrations",
    "Riots": "Demonstrations",
    "Strategic developments": "Strategic developments",
}
# ACLED's source scales (codebook 2023); combinations are written "National-International"
SOURCE_SCALES: tuple[str, ...] = ("Local partner", "Subnational", "National", "Regional", "International",
                                  "New media", "Other")
SIM_SOURCE = "sahel-sim"
SIM_SOURCE_SCALE = "Other"
TIME_PRECISION_DAY = 1  # ACLED: 1 = day, 2 = week, 3 = month

# what actor1 did, by sub-event type, for the notes
_NOTE_VERB: dict[str, str] = {
    "Armed clash": "clashed with",
    "Government regains territory": "regained territory from",
    "Non-state actor overtakes territory": "took over territory from",
    "Attack": "attacked",
    "Abduction/forced disappearance": "abducted members of",
    "Remote explosive/landmine/IED": "detonated an explosive device against",
    "Air/drone strike": "carried out an air/drone strike on",
    "Shelling/artillery/missile attack": "shelled",
    "Agreement": "reached an agreement with",
    "Change to group/activity": "changed its activity with regard to",
    "Headquarters or base established": "established a base facing",
    "Non-violent transfer of territory": "took over territory without fighting from",
}
_NOTE_VERB_ALONE: dict[str, str] = {
    "Change to group/activity": "changed its activity",
    "Headquarters or base established": "established a base",
    "Non-violent transfer of territory": "took over territory without fighting",
    "Agreement": "announced an agreement",
}

CIVILIANS_ACTOR = "Civilians (Mali)"
CIVILIANS_INTER = 7
# ACLED's name and actor-type code (3, political militia) for perpetrators its sources do not name
UNIDENTIFIED_ACTOR = "Unidentified Armed Group (Mali)"
UNIDENTIFIED_INTER = 3

# ACLED writes these admin1 names in English (its Mali exports use Timbuktu and Taoudeni).
ACLED_ADMIN1: dict[str, str] = {"Tombouctou": "Timbuktu", "Taoudenit": "Taoudeni"}

EVENT_SCHEMA = pa.schema(
    [
        ("event_id_cnty", pa.string()),
        ("event_date", pa.date32()),
        ("year", pa.int16()),
        ("time_precision", pa.int8()),
        ("disorder_type", pa.string()),
        ("event_type", pa.string()),
        ("sub_event_type", pa.string()),
        ("actor1", pa.string()),
        ("assoc_actor_1", pa.string()),
        ("inter1", pa.int8()),
        ("actor2", pa.string()),
        ("assoc_actor_2", pa.string()),
        ("inter2", pa.int8()),
        ("interaction", pa.int16()),
        ("civilian_targeting", pa.string()),
        ("iso", pa.int16()),
        ("region", pa.string()),
        ("country", pa.string()),
        ("admin1", pa.string()),
        ("admin2", pa.string()),
        ("location", pa.string()),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
        ("geo_precision", pa.int8()),
        ("source", pa.string()),
        ("source_scale", pa.string()),
        ("notes", pa.string()),
        ("fatalities", pa.int32()),
        # the simulation's own columns
        ("run_id", pa.string()),
        ("seed", pa.int64()),
        ("gid", pa.int32()),
        ("week", pa.int32()),
        ("actor1_id", pa.string()),
        ("actor2_id", pa.string()),
    ]
)
EVENT_COLUMNS: tuple[str, ...] = tuple(EVENT_SCHEMA.names)


def interaction_code(inter1: int, inter2: int) -> int:
    """ACLED's interaction code: the two inter codes, smaller first (e.g. 12, 17, 27)."""
    lo, hi = sorted((int(inter1), int(inter2)))
    return lo * 10 + hi if lo else hi


# columns the model supplies; the others are derived in EventLog.to_table
_INPUT_COLUMNS = ("event_date", "week", "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2",
                  "assoc_actor_2", "inter2", "admin1", "location", "latitude", "longitude", "geo_precision",
                  "fatalities", "gid", "actor1_id", "actor2_id")


class EventLog:
    """Accumulates events in weekly batches of arrays; ``to_table`` derives ACLED's other
    columns (ids, year, event type, interaction, civilian targeting) in one vectorised pass."""

    def __init__(self, run_id: str, seed: int) -> None:
        self.run_id = run_id
        self.seed = seed
        self._chunks: list = []  # dicts of columns, or (k, values, lookups) (add_lookup_batch)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def add_batch(self, **cols) -> None:
        """Append k events: every column of ``_INPUT_COLUMNS`` as an array of length k (or a
        scalar, broadcast). ``event_date`` is an array of numpy datetime64[D]."""
        missing = set(_INPUT_COLUMNS) - set(cols)
        if missing:
            raise TypeError(f"EventLog.add_batch: missing columns {sorted(missing)}")
        k = len(cols["fatalities"]) if np.ndim(cols["fatalities"]) else 1
        chunk = {}
        for name in _INPUT_COLUMNS:
            value = np.asarray(cols[name])
            chunk[name] = value if value.shape == (k,) else np.broadcast_to(value, (k,))
        self._chunks.append(chunk)
        self._n += k

    def add_lookup_batch(self, k: int, *, values: dict, lookups: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Append k events given partly as lookups: ``lookups[name] = (table, index)`` is the
        column ``table[index]``, looked up when the table is built (the model logs a dozen
        events a week; its names and places are a few small tables), ``values`` the other
        columns as in :meth:`add_batch`."""
        missing = set(_INPUT_COLUMNS) - set(values) - set(lookups)
        if missing:
            raise TypeError(f"EventLog.add_lookup_batch: missing columns {sorted(missing)}")
        self._chunks.append((k, values, lookups))
        self._n += k

    @staticmethod
    def _column(chunk, name: str) -> np.ndarray:
        if isinstance(chunk, dict):
            return chunk[name]
        k, values, lookups = chunk
        if name in lookups:
            table, index = lookups[name]
            return table[index]
        value = np.asarray(values[name])
        return value if value.shape == (k,) else np.broadcast_to(value, (k,))

    def _gather(self, name: str) -> np.ndarray:
        """Column ``name`` over every chunk, in order. Consecutive lookup chunks that share a
        table (a week's names and places stay the same for years) are looked up in one take."""
        parts: list[np.ndarray] = []
        table, indices = None, []
        for chunk in self._chunks:
            lookup = chunk[2].get(name) if isinstance(chunk, tuple) else None
            if lookup is not None and lookup[0] is table:
                indices.append(lookup[1])
                continue
            if indices:
                parts.append(table[np.concatenate(indices)])
                table, indices = None, []
            if lookup is not None:
                table, indices = lookup[0], [lookup[1]]
            else:
                parts.append(self._column(chunk, name))
        if indices:
            parts.append(table[np.concatenate(indices)])
        return np.concatenate(parts)

    def add(self, **cols) -> None:
        """Append one event given as scalars (``event_date`` a ``datetime.date``)."""
        cols = dict(cols)
        cols["event_date"] = np.datetime64(cols["event_date"], "D")
        self.add_batch(**{k: np.asarray([v]) for k, v in cols.items()})

    def to_table(self, *, notes: bool = True) -> pa.Table:
        """The log as an ACLED-schema table. ``notes=False`` leaves the ``notes`` column null
        (its sentences are a third of the cost of the table, and many-run work that measures a
        run without keeping its log never reads them)."""
        if not self._chunks:
            return empty_events()
        col = {name: self._gather(name) for name in _INPUT_COLUMNS}
        n = self._n
        dates = col["event_date"].astype("datetime64[D]")
        sub = col["sub_event_type"].astype(object)
        inter1 = col["inter1"].astype(np.int64)
        inter2 = col["inter2"].astype(np.int64)
        lo, hi = np.minimum(inter1, inter2), np.maximum(inter1, inter2)
        admin1 = np.array([ACLED_ADMIN1.get(a, a) for a in col["admin1"].astype(object)], dtype=object)
        event_type = np.array([SUB_TO_TYPE[x] for x in sub], dtype=object)
        lat = np.round(col["latitude"].astype(np.float64), 4)
        lon = np.round(col["longitude"].astype(np.float64), 4)
        gid = col["gid"].astype(np.int64)
        admin2 = admin2_of(gid, col["admin1"].astype(object), lat, lon)
        fatalities = col["fatalities"].astype(np.int64)
        data = {
            "event_id_cnty": np.char.add("MLI", np.arange(1, n + 1).astype(str)).astype(object),
            "event_date": dates,
            "year": dates.astype("datetime64[Y]").astype(np.int64) + 1970,
            "time_precision": np.full(n, TIME_PRECISION_DAY),
            "disorder_type": np.array([DISORDER_OF_TYPE[t] for t in event_type], dtype=object),
            "event_type": event_type,
            "sub_event_type": sub,
            "actor1": col["actor1"].astype(object),
            "assoc_actor_1": col["assoc_actor_1"].astype(object),
            "inter1": inter1,
            "actor2": col["actor2"].astype(object),
            "assoc_actor_2": col["assoc_actor_2"].astype(object),
            "inter2": inter2,
            "interaction": np.where(lo > 0, lo * 10 + hi, hi),
            "civilian_targeting": np.where(inter2 == CIVILIANS_INTER, "Civilian targeting", "").astype(object),
            "iso": np.full(n, 466),
            "region": np.full(n, "Western Africa", dtype=object),
            "country": np.full(n, "Mali", dtype=object),
            "admin1": admin1,
            "admin2": admin2,
            "location": col["location"].astype(object),
            "latitude": lat,
            "longitude": lon,
            "geo_precision": col["geo_precision"].astype(np.int64),
            "source": np.full(n, SIM_SOURCE, dtype=object),
            "source_scale": np.full(n, SIM_SOURCE_SCALE, dtype=object),
            "notes": event_notes(dates, sub, col["actor1"].astype(object), col["actor2"].astype(object),
                                 col["location"].astype(object), admin2, admin1, fatalities)
            if notes else pa.nulls(n, type=pa.string()),
            "fatalities": fatalities,
            "run_id": np.full(n, self.run_id, dtype=object),
            "seed": np.full(n, self.seed, dtype=np.int64),
            "gid": gid,
            "week": col["week"].astype(np.int64),
            "actor1_id": col["actor1_id"].astype(object),
            "actor2_id": col["actor2_id"].astype(object),
        }
        return pa.table({k: v if isinstance(v, pa.Array) else pa.array(v, type=EVENT_SCHEMA.field(k).type)
                         for k, v in data.items()}, schema=EVENT_SCHEMA)


@functools.cache
def _cercles() -> tuple[dict[int, str], tuple[tuple[str, str, float, float], ...]]:
    """gid -> cercle, and every cercle as (name, region, chef-lieu lat, lon), from the data file."""
    text = resources.files("sahel_sim.geography").joinpath("data/mali_cercles.json").read_text(encoding="utf-8")
    data = json.loads(text)
    names = [c["name"] for c in data["cercles"]]
    by_gid = {int(g): names[i] for g, i in zip(data["gid"], data["cell_cercle"], strict=True)}
    seats = tuple((c["name"], c["region"], float(c["lat"]), float(c["lon"])) for c in data["cercles"])
    return by_gid, seats


def admin2_of(gid: np.ndarray, region: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """The cercle of each event: its cell's cercle; for a cell outside the Mali grid (a toy
    world), the same rule the data file was built with, from the event's own coordinates: the
    nearest cercle chef-lieu within its region (within all of Mali when the region has none)."""
    by_gid, seats = _cercles()
    out = np.empty(len(gid), dtype=object)
    unknown = []
    for i, g in enumerate(gid.tolist()):
        name = by_gid.get(g)
        if name is None:
            unknown.append(i)
        out[i] = name
    if unknown:
        s_lat = np.radians([s[2] for s in seats])
        s_lon = np.radians([s[3] for s in seats])
        s_reg = np.array([s[1] for s in seats], dtype=object)
        for i in unknown:
            p, q = np.radians(lat[i]), np.radians(lon[i])
            d = np.sin((s_lat - p) / 2) ** 2 + np.cos(p) * np.cos(s_lat) * np.sin((s_lon - q) / 2) ** 2
            d = np.where(s_reg == region[i], d, d + 10.0) if (s_reg == region[i]).any() else d
            out[i] = seats[int(np.argmin(d))][0]
    return out


def _toll(f: int) -> str:
    return "no fatalities" if f == 0 else ("1 fatality" if f == 1 else f"{f} fatalities")


def event_notes(dates: np.ndarray, sub: np.ndarray, actor1: np.ndarray, actor2: np.ndarray, location: np.ndarray,
                admin2: np.ndarray, admin1: np.ndarray, fatalities: np.ndarray) -> pa.Array:
    """One sentence per event in the manner of ACLED's notes, e.g. "On 12 March 2019, in
    Tenenkou cercle (Mopti), JNIM clashed with Military Forces of Mali near Dioura; 25 fatalities
    (simulated event)." Dates and place names are formatted once per distinct value."""
    days: dict = {}
    places: dict = {}
    out = []
    for d, s, a1, a2, loc, c, r, f in zip(dates.astype("datetime64[D]").tolist(), sub.tolist(), actor1.tolist(),
                                          actor2.tolist(), location.tolist(), admin2.tolist(), admin1.tolist(),
                                          fatalities.tolist(), strict=True):
        day = days.get(d)
        if day is None:
            day = days[d] = f"On {d.day} {d:%B %Y}"
        place = places.get(loc)
        if place is None:
            place = places[loc] = loc.split(" (PRIO-GRID", 1)[0]
        did = f"{_NOTE_VERB[s]} {a2}" if a2 else _NOTE_VERB_ALONE.get(s, _NOTE_VERB[s].rsplit(" ", 1)[0])
        out.append(f"{day}, in {c} cercle ({r}), {a1} {did} near {place}; {_toll(int(f))} (simulated event).")
    return pa.array(out, type=pa.string())


def empty_events() -> pa.Table:
    return EVENT_SCHEMA.empty_table()


def count_by(table: pa.Table, column: str) -> dict[str, int]:
    """Counts of each value of ``column`` (a small helper for summaries and tests)."""
    values, counts = np.unique(np.asarray(table.column(column).to_pylist(), dtype=object), return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}
