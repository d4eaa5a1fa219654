"""The ACLED-style event log.

Columns follow ACLED's export (codebook, 2023 edition) so the same analysis code runs on a
real ACLED export and on a simulated one; the simulation adds ``run_id``, ``seed``, ``gid``
(PRIO-GRID cell) and ``week``. ``inter1``/``inter2`` use ACLED's numeric actor-type codes and
``interaction`` their two-digit combination (smaller code first).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

EVENT_TYPES: tuple[str, ...] = (
    "Battles",
    "Violence against civilians",
    "Explosions/Remote violence",
    "Strategic developments",
)
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

CIVILIANS_ACTOR = "Civilians (Mali)"
CIVILIANS_INTER = 7

# ACLED writes these admin1 names in English (its Mali exports use Timbuktu and Taoudeni).
ACLED_ADMIN1: dict[str, str] = {"Tombouctou": "Timbuktu", "Taoudenit": "Taoudeni"}

EVENT_SCHEMA = pa.schema(
    [
        ("event_id_cnty", pa.string()),
        ("event_date", pa.date32()),
        ("year", pa.int16()),
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
        ("location", pa.string()),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
        ("geo_precision", pa.int8()),
        ("source", pa.string()),
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


class EventLog:
    """Accumulates events week by week as column lists; ``to_table`` builds the Arrow table."""

    def __init__(self, run_id: str, seed: int) -> None:
        self.run_id = run_id
        self.seed = seed
        self._cols: dict[str, list] = {name: [] for name in EVENT_COLUMNS}
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def add(
        self,
        *,
        date: dt.date,
        week: int,
        sub_event_type: str,
        actor1: str,
        assoc_actor_1: str,
        inter1: int,
        actor2: str,
        assoc_actor_2: str,
        inter2: int,
        admin1: str,
        location: str,
        latitude: float,
        longitude: float,
        geo_precision: int,
        fatalities: int,
        gid: int,
        actor1_id: str,
        actor2_id: str,
    ) -> None:
        self._n += 1
        c = self._cols
        c["event_id_cnty"].append(f"MLI{self._n}")
        c["event_date"].append(date)
        c["year"].append(date.year)
        c["event_type"].append(SUB_TO_TYPE[sub_event_type])
        c["sub_event_type"].append(sub_event_type)
        c["actor1"].append(actor1)
        c["assoc_actor_1"].append(assoc_actor_1)
        c["inter1"].append(inter1)
        c["actor2"].append(actor2)
        c["assoc_actor_2"].append(assoc_actor_2)
        c["inter2"].append(inter2)
        c["interaction"].append(interaction_code(inter1, inter2))
        c["civilian_targeting"].append("Civilian targeting" if inter2 == CIVILIANS_INTER else "")
        c["iso"].append(466)
        c["region"].append("Western Africa")
        c["country"].append("Mali")
        c["admin1"].append(ACLED_ADMIN1.get(admin1, admin1))
        c["location"].append(location)
        c["latitude"].append(round(float(latitude), 4))
        c["longitude"].append(round(float(longitude), 4))
        c["geo_precision"].append(geo_precision)
        c["source"].append("sahel-sim")
        c["fatalities"].append(int(fatalities))
        c["run_id"].append(self.run_id)
        c["seed"].append(self.seed)
        c["gid"].append(int(gid))
        c["week"].append(int(week))
        c["actor1_id"].append(actor1_id)
        c["actor2_id"].append(actor2_id)

    def to_table(self) -> pa.Table:
        return pa.table({k: pa.array(v, type=EVENT_SCHEMA.field(k).type) for k, v in self._cols.items()}, schema=EVENT_SCHEMA)


def empty_events() -> pa.Table:
    return EVENT_SCHEMA.empty_table()


def count_by(table: pa.Table, column: str) -> dict[str, int]:
    """Counts of each value of ``column`` (a small helper for summaries and tests)."""
    values, counts = np.unique(np.asarray(table.column(column).to_pylist(), dtype=object), return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}
