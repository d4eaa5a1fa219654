"""Sweep files: schema errors, design points, replicate seeds (no model runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sahel_sim.config import ConfigError
from sahel_sim.experiments.design import ParameterSpec, SweepSpec, design_points, grid_levels
from sahel_sim.experiments.seeds import replicate_seed, replicate_seeds
from sahel_sim.experiments.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[1]
HISTORICAL = ROOT / "scenarios" / "historical.yaml"


def write(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text.replace("SCENARIO", str(HISTORICAL)), encoding="utf-8")
    return p


GOOD = """
name: t
scenario: SCENARIO
set: {end_date: 2013-01-14}
parameters:
  actors.MINUSMA.strength: {values: [1000, 2000]}
  mechanisms.combat.battle_rate_per_week: {low: 0.1, high: 0.3, num: 3}
replicates: 3
seed: 42
"""


# --------------------------------------------------------------------------- seeds
def test_replicate_seeds_are_reproducible_distinct_and_prefix_stable():
    a = replicate_seeds(7, 50)
    assert a == replicate_seeds(7, 50)
    assert len(set(a)) == 50
    assert replicate_seeds(7, 10) == a[:10]  # adding replicates keeps the old ones
    assert replicate_seeds(8, 10) != a[:10]
    assert all(0 <= s < 2**63 for s in a)
    assert replicate_seed(7, 3) == a[3]


def test_replicate_seeds_reject_bad_master_seed():
    with pytest.raises(ValueError):
        replicate_seeds(-1, 3)


# --------------------------------------------------------------------------- designs
def test_grid_is_full_factorial_last_parameter_fastest(tmp_path):
    plan = load_sweep(write(tmp_path, GOOD))
    assert len(plan.points) == 6 and plan.n_runs == 18
    vals = [tuple(p.values.values()) for p in plan.points]
    assert vals[:3] == [(1000, 0.1), (1000, 0.2), (1000, 0.30000000000000004)] or vals[0] == (1000, 0.1)
    assert [v[0] for v in vals] == [1000] * 3 + [2000] * 3
    # every point is a validated scenario with the value applied
    assert plan.points[4].scenario.actors["MINUSMA"].strength == 2000
    assert plan.points[4].scenario.mechanisms.combat.battle_rate_per_week == pytest.approx(0.2)
    # common random numbers: the same seeds at every point
    tasks = list(plan.tasks())
    by_rep = {}
    for t in tasks:
        by_rep.setdefault(t.replicate, set()).add(t.seed)
    assert all(len(s) == 1 for s in by_rep.values())
    assert [by_rep[r].pop() for r in range(3)] == replicate_seeds(42, 3)
    assert len({t.key for t in tasks}) == 18


def test_lhs_and_sobol_designs_are_seeded_stratified_and_in_range():
    base = {"name": "t", "scenario": "x.yaml", "replicates": 1, "seed": 3,
            "parameters": {"a.b": {"low": 0.0, "high": 10.0}, "c.d": {"values": ["x", "y"]},
                           "e.f": {"low": 1.0, "high": 100.0, "log": True, "integer": True}}}
    lhs = SweepSpec.model_validate({**base, "design": {"method": "lhs", "samples": 20}})
    pts = design_points(lhs)
    assert pts == design_points(lhs)  # reproducible
    a = np.array([p["a.b"] for p in pts])
    assert a.min() >= 0 and a.max() <= 10
    # Latin hypercube: exactly one draw in each of the 20 strata
    assert sorted(np.floor(a / 0.5).astype(int).tolist()) == list(range(20))
    assert {p["c.d"] for p in pts} == {"x", "y"}
    assert all(isinstance(p["e.f"], int) and 1 <= p["e.f"] <= 100 for p in pts)
    other = SweepSpec.model_validate({**base, "seed": 4, "design": {"method": "lhs", "samples": 20}})
    assert design_points(other) != pts  # the sampler seed follows the master seed
    sob = SweepSpec.model_validate({**base, "design": {"method": "sobol", "samples": 16}})
    s = np.array([p["a.b"] for p in design_points(sob)])
    assert len(s) == 16 and s.min() >= 0 and s.max() <= 10


def test_grid_levels_linear_log_integer():
    assert grid_levels(ParameterSpec(low=0, high=1, num=3)) == [0.0, 0.5, 1.0]
    assert grid_levels(ParameterSpec(low=1, high=100, num=3, log=True)) == pytest.approx([1.0, 10.0, 100.0])
    assert grid_levels(ParameterSpec(low=1, high=2, num=5, integer=True)) == [1, 2]


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("replicates: 3", "replicate: 3"), "replicate: unknown key; did you mean 'replicates'?"),
    (GOOD.replace("seed: 42", "seed: -1"), "seed: Input should be greater than or equal to 0"),
    (GOOD.replace("{values: [1000, 2000]}", "{low: 5, high: 1, num: 2}"),
     "parameters['actors.MINUSMA.strength']: Value error, high must be greater than low".replace("Value error, ", "")),
    (GOOD.replace("{values: [1000, 2000]}", "{low: 5}"), "expected values: [...] or both low and high"),
    (GOOD.replace("actors.MINUSMA.strength", "actors.MINUSMA.strenght"),
     "parameters['actors.MINUSMA.strenght']: 'strenght' is not a key of actors.MINUSMA; "
     "did you mean 'actors.MINUSMA.strength'?"),
    (GOOD.replace("actors.MINUSMA.strength", "actors.MINUSMA"), "names a whole block"),
    (GOOD.replace("{values: [1000, 2000]}", "{values: [1000, -5]}"),
     "design point 3 (strength=-5, battle_rate_per_week=0.1): actors.MINUSMA.strength: "
     "Input should be greater than or equal to 0"),
    (GOOD.replace("replicates: 3", "replicates: 3\ndesign: {method: sobol, samples: 10}"),
     "use 8 or 16"),
    (GOOD.replace("replicates: 3", "replicates: 3\ndesign: {method: lhs}"), "a lhs design needs samples"),
    (GOOD.replace("SCENARIO", "missing.yaml"), "scenario: missing.yaml not found"),
    ("name: t\nscenario: [\n", "not valid YAML"),
    (GOOD.replace("set: {end_date: 2013-01-14}", "set: {end_date: 2011-01-01}"), "end_date: 2011-01-01 must be after start_date"),
])
def test_bad_sweep_files_give_one_clear_message(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    msg = str(info.value)
    assert msg.startswith(str(path)), msg
    assert expected in msg, msg
    assert "Traceback" not in msg


def test_cli_bad_sweep_file_exits_2_without_traceback_and_keeps_existing_results(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    path = write(tmp_path, GOOD.replace("replicates: 3", "replicates: three"))
    proc = subprocess.run([sys.executable, "-m", "sahel_sim", "sweep", str(path), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{path}: replicates:" in proc.stderr and "valid integer" in proc.stderr
    assert (out / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]


def test_bundled_example_sweep_validates():
    plan = load_sweep(ROOT / "scenarios" / "sweeps" / "minusma_strength.yaml")
    assert plan.n_runs == len(plan.points) * len(plan.seeds) > 0
