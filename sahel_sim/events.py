"""The ACLED-style event log.

Columns follow ACLED's export (codebook, 2023 edition) so the same analysis code runs on a
real ACLED export and on a simulated one; the simulation adds ``run_id``, ``seed``, ``gid``
(PRIO-GRID cell) and ``week``. ``inter1``/``inter2`` use ACLED's numeric actor-type codes and
``interaction`` their two-digit combination (smaller code first).
"""

from __future__ import annotations

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
        self._chunks: list[dict[str, np.ndarray]] = []
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

    def add(self, **cols) -> None:
        """Append one event given as scalars (``event_date`` a ``datetime.date``)."""
        cols = dict(cols)
        cols["event_date"] = np.datetime64(cols["event_date"], "D")
        self.add_batch(**{k: np.asarray([v]) for k, v in cols.items()})

    def to_table(self) -> pa.Table:
        if not self._chunks:
            return empty_events()
        col = {name: np.concatenate([c[name] for c in self._chunks]) for name in _INPUT_COLUMNS}
        n = self._n
        dates = col["event_date"].astype("datetime64[D]")
        sub = col["sub_event_type"].astype(object)
        inter1 = col["inter1"].astype(np.int64)
        inter2 = col["inter2"].astype(np.int64)
        lo, hi = np.minimum(inter1, inter2), np.maximum(inter1, inter2)
        admin1 = col["admin1"].astype(object)
        data = {
            "event_id_cnty": np.char.add("MLI", np.arange(1, n + 1).astype(str)).astype(object),
            "event_date": dates,
            "year": dates.astype("datetime64[Y]").astype(np.int64) + 1970,
            "event_type": np.array([SUB_TO_TYPE[x] for x in sub], dtype=object),
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
            "admin1": np.array([ACLED_ADMIN1.get(a, a) for a in admin1], dtype=object),
            "location": col["location"].astype(object),
            "latitude": np.round(col["latitude"].astype(np.float64), 4),
            "longitude": np.round(col["longitude"].astype(np.float64), 4),
            "geo_precision": col["geo_precision"].astype(np.int64),
            "source": np.full(n, "sahel-sim", dtype=object),
            "fatalities": col["fatalities"].astype(np.int64),
            "run_id": np.full(n, self.run_id, dtype=object),
            "seed": np.full(n, self.seed, dtype=np.int64),
            "gid": col["gid"].astype(np.int64),
            "week": col["week"].astype(np.int64),
            "actor1_id": col["actor1_id"].astype(object),
            "actor2_id": col["actor2_id"].astype(object),
        }
        return pa.table({k: pa.array(v, type=EVENT_SCHEMA.field(k).type) for k, v in data.items()}, schema=EVENT_SCHEMA)


def empty_events() -> pa.Table:
    return EVENT_SCHEMA.empty_table()


def count_by(table: pa.Table, column: str) -> dict[str, int]:
    """Counts of each value of ``column`` (a small helper for summaries and tests)."""
    values, counts = np.unique(np.asarray(table.column(column).to_pylist(), dtype=object), return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}
