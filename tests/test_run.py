"""The run(scenario, seed) boundary, the results folder and the `sahel-sim run` command."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from sahel_sim.config import load_scenario
from sahel_sim.events import EVENT_COLUMNS, EVENT_TYPES
from sahel_sim.io.results import read_run, write_run
from sahel_sim.run import run
from tests.conftest import BUNDLED, SCENARIOS

ACLED_REQUIRED = ("event_id_cnty", "event_date", "year", "event_type", "sub_event_type", "actor1", "inter1",
                  "actor2", "inter2", "interaction", "civilian_targeting", "admin1", "location", "latitude",
                  "longitude", "fatalities")


@pytest.fixture(scope="module")
def short_result(short_scenario):
    return run(short_scenario, 7)


def _digest(result) -> str:
    h = hashlib.sha256()
    for table in (result.events, result.weekly, result.refugees):
        for col in table.columns:
            h.update(str(col.to_pylist()).encode())
    for arr in (result.snapshots.control, result.snapshots.influence, result.snapshots.displaced):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def test_same_seed_bit_identical_and_seeds_differ(short_scenario, short_result) -> None:
    again = run(short_scenario, 7)
    assert _digest(again) == _digest(short_result)
    other = run(short_scenario, 8)
    assert _digest(other) != _digest(short_result)


def test_a_run_without_event_notes_differs_only_in_the_notes(short_scenario, short_result) -> None:
    """What many-run work gets when it does not keep the log (engine.execute_task): the same
    run, every table and snapshot the same, the notes column null, and the same measures."""
    from sahel_sim.outcomes import summarise

    bare = run(short_scenario, 7, event_notes=False)
    assert bare.events.column("notes").null_count == bare.events.num_rows > 0
    assert short_result.events.column("notes").null_count == 0
    assert bare.events.drop_columns(["notes"]).equals(short_result.events.drop_columns(["notes"]))
    assert bare.weekly.equals(short_result.weekly) and bare.refugees.equals(short_result.refugees)
    assert np.array_equal(bare.snapshots.control, short_result.snapshots.control)
    assert summarise(bare) == summarise(short_result)


def test_event_log_has_acled_columns_and_valid_values(short_result) -> None:
    ev = short_result.events.to_pandas()
    assert set(ACLED_REQUIRED) <= set(ev.columns)
    assert tuple(short_result.events.column_names) == EVENT_COLUMNS
    assert len(ev) > 50
    assert set(ev.event_type) <= set(EVENT_TYPES)
    assert (ev.fatalities >= 0).all()
    assert ev.event_id_cnty.is_unique
    assert ((ev.latitude > 10) & (ev.latitude < 25.5) & (ev.longitude > -12.5) & (ev.longitude < 4.5)).all()
    vac = ev.event_type == "Violence against civilians"
    assert (ev.loc[vac, "inter2"] == 7).all() and (ev.loc[vac, "civilian_targeting"] == "Civilian targeting").all()
    # interaction code is the two inter codes, smaller first
    lo = np.minimum(ev.inter1, ev.inter2)
    hi = np.maximum(ev.inter1, ev.inter2)
    assert (ev.interaction == np.where(lo > 0, lo * 10 + hi, hi)).all()
    sc = short_result.scenario
    assert ev.event_date.min() >= sc.start_date and ev.event_date.max() <= sc.end_date


def test_weekly_series_consistent_with_event_log(short_result) -> None:
    ev = short_result.events.to_pandas()
    wk = short_result.weekly.to_pandas()
    violent = ev[ev.event_type != "Strategic developments"]
    assert wk.events_battles.sum() == (ev.event_type == "Battles").sum()
    assert wk.events_violence_against_civilians.sum() == (ev.event_type == "Violence against civilians").sum()
    assert wk.events_strategic_developments.sum() == (ev.event_type == "Strategic developments").sum()
    assert wk.fatalities_combatant.sum() + wk.fatalities_civilian.sum() == violent.fatalities.sum()
    n_weeks = short_result.n_steps
    assert len(wk) == n_weeks * 11
    strength_cols = [c for c in wk.columns if c.startswith("strength_")]
    assert {c.removeprefix("strength_") for c in strength_cols} == set(short_result.scenario.actors)
    assert (wk[strength_cols] >= 0).all().all()


def test_population_accounting(short_result) -> None:
    wk = short_result.weekly.to_pandas()
    ref = short_result.refugees.to_pandas()
    g = short_result.scenario.population.growth_per_year
    first, last = wk.week.min(), wk.week.max()
    total = (wk.groupby("week").population.sum() + ref.groupby("week").refugees.sum())
    expected_growth = (1 + g) ** ((last - first) / 52.1775)
    assert total[last] / total[first] == pytest.approx(expected_growth, rel=1e-6)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_every_bundled_scenario_runs(path: Path) -> None:
    # each bundled scenario runs (first year, to keep the suite fast); the full classroom run below
    sc = load_scenario(path)
    sc = load_scenario(path, [f"end_date={sc.start_date.replace(year=sc.start_date.year + 1).isoformat()}"])
    res = run(sc, 3)
    assert res.n_steps >= 52
    assert res.weekly.num_rows == res.n_steps * 11


def test_write_and_read_run(tmp_path: Path, short_result) -> None:
    out = write_run(short_result, tmp_path / "r")
    for name in ("events.csv", "events.parquet", "weekly.parquet", "refugees.parquet", "snapshots.npz", "manifest.json"):
        assert (out / name).stat().st_size > 0
    loaded = read_run(out)
    assert len(loaded.events) == short_result.events.num_rows
    assert loaded.manifest["seed"] == 7
    assert loaded.manifest["scenario"]["name"] == short_result.scenario.name
    assert loaded.manifest["versions"]["mesa"].startswith("3.")
    assert "git_commit" in loaded.manifest
    np.testing.assert_array_equal(loaded.snapshots.control, short_result.snapshots.control)
    header = (out / "events.csv").read_text().splitlines()[0]
    assert header.startswith('"event_id_cnty","event_date"')


def test_staged_write_matches_atomic_write(tmp_path: Path, short_result) -> None:
    """Written once into a staged folder (what `sahel-sim run` does) or file by file
    atomically: the same files, byte for byte (the manifest up to its creation time)."""
    from sahel_sim.io.atomic import staged_folder

    atomic = write_run(short_result, tmp_path / "atomic")
    with staged_folder(tmp_path / "staged") as tmp:
        write_run(short_result, tmp, staged=True)
    staged = tmp_path / "staged"
    assert sorted(p.name for p in staged.iterdir()) == sorted(p.name for p in atomic.iterdir())
    for p in atomic.iterdir():
        if p.name == "manifest.json":
            a, b = (json.loads((d / p.name).read_text()) for d in (atomic, staged))
            a.pop("created_utc"), b.pop("created_utc")
            assert a == b
        else:
            assert (staged / p.name).read_bytes() == p.read_bytes(), p.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic", "staged"]  # nothing temporary left


def test_cli_run_writes_results_folder(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "sahel_sim", "run", str(SCENARIOS / "historical.yaml"), "--seed", "11",
                           "--out", str(out), "--set", "end_date=2013-06-30", "--figure"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 11 and manifest["scenario"]["end_date"] == "2013-06-30"
    assert (out / "summary.png").stat().st_size > 10_000
    assert pq.read_table(out / "events.parquet").num_rows == manifest["n_events"]


_HOUSEKEEPING_PROBE = """
import atexit, gc, json, sys
from sahel_sim.cli import entry
atexit.register(lambda: print(json.dumps({"frozen": gc.get_freeze_count(), "gc_on": gc.isenabled(),
                                          "pool": sys.modules["pyarrow"].default_memory_pool().backend_name})))
sys.argv = ["sahel-sim", *sys.argv[1:]]
entry()
"""


def test_command_process_housekeeping(tmp_path: Path) -> None:
    """The command's own process (issue 14): Arrow's system allocator, the collector back on
    after the imports, and every object frozen before the interpreter's exit collections;
    ``main`` called inside another program (here pytest) touches neither."""
    import gc

    from sahel_sim.cli import main

    short = [str(SCENARIOS / "classroom.yaml"), "--set", "end_date=2019-02-25", "--quiet", "--seed", "1"]
    proc = subprocess.run([sys.executable, "-c", _HOUSEKEEPING_PROBE, "run", *short, "--out", str(tmp_path / "a")],
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["pool"] == "system" and seen["gc_on"] and seen["frozen"] > 100_000, seen
    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    assert main(["run", *short, "--out", str(tmp_path / "b")]) == 0
    assert (gc.get_freeze_count(), gc.isenabled()) == (frozen, enabled)


def test_cli_help_and_version() -> None:
    for args in (["--help"], ["run", "--help"], ["map", "--help"], ["--version"]):
        proc = subprocess.run([sys.executable, "-m", "sahel_sim", *args], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (args, proc.stderr)
        assert proc.stdout.strip()
