"""Sensitivity analysis: SALib wiring on a known function, file errors, and a tiny real run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sahel_sim.config import ConfigError
from sahel_sim.experiments import LocalExecutor, execute_plan
from sahel_sim.experiments.sensitivity import (
    SensitivitySpec,
    analyse,
    analyse_sensitivity,
    load_sensitivity,
    sample_matrix,
)

ROOT = Path(__file__).resolve().parents[1]


def spec(method: str, samples: int) -> SensitivitySpec:
    return SensitivitySpec.model_validate({
        "name": "toy", "scenario": "x.yaml", "method": method, "samples": samples, "seed": 1,
        "parameters": {"a": {"low": 0, "high": 1}, "b": {"low": 0, "high": 1}, "c": {"low": 0, "high": 1}}})


@pytest.mark.parametrize(("method", "index"), [("sobol", "ST"), ("morris", "mu_star")])
def test_indices_rank_parameters_of_a_known_function(method, index):
    s = spec(method, 256 if method == "sobol" else 40)
    x = sample_matrix(s)
    y = (4 * x[:, 0] + 1 * x[:, 1] + 0 * x[:, 2])[:, None]  # a matters most, c not at all
    t = analyse(s, x, y, ["y"])
    v = t[t["index"] == index].set_index("parameter")["value"]
    assert v["a"] > v["b"] > v["c"] - 1e-9
    assert v["c"] == pytest.approx(0.0, abs=0.02)
    if method == "sobol":  # additive: S1 of a = 16/17 of the variance
        s1 = t[t["index"] == "S1"].set_index("parameter")["value"]
        assert s1["a"] == pytest.approx(16 / 17, abs=0.08)
        assert (t["conf"] >= 0).all()
    assert np.array_equal(x, sample_matrix(s))  # sampling is seeded


def test_sobol_samples_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        spec("sobol", 12)


TINY = """
name: tiny
scenario: {scenario}
set: {{end_date: 2012-07-30}}
method: morris
samples: 2
replicates: 2
seed: 3
parameters:
  mechanisms.combat.battle_rate_per_week: {{low: 0.1, high: 0.4}}
  mechanisms.civilians.coercion_rate_per_week: {{low: 0.2, high: 0.8}}
outcomes: [civilian_deaths_total, events_total]
"""


def test_tiny_morris_run_end_to_end(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(TINY.format(scenario=ROOT / "scenarios" / "historical.yaml"))
    problem, plan = load_sensitivity(path)
    assert len(plan.points) == 2 * 3 and len(plan.seeds) == 2
    execute_plan(plan, tmp_path / "out", executor=LocalExecutor(2))
    paths = analyse_sensitivity(problem, plan, tmp_path / "out", source=str(path))
    t = pd.read_csv(tmp_path / "out" / "indices.csv")
    assert set(t["outcome"]) == {"civilian_deaths_total", "events_total"}
    assert set(t["parameter"]) == set(problem.parameters)
    assert np.isfinite(t.loc[t["index"] == "mu_star", "value"]).all()
    assert all(p.stat().st_size > 0 for p in paths)


def test_bad_sensitivity_files(tmp_path):
    path = tmp_path / "s.yaml"
    text = TINY.format(scenario=ROOT / "scenarios" / "historical.yaml")
    path.write_text(text.replace("method: morris", "method: fast"))
    with pytest.raises(ConfigError, match=r"s\.yaml: method: Input should be 'sobol' or 'morris'"):
        load_sensitivity(path)
    path.write_text(text.replace("coercion_rate_per_week:", "coercion_rate:"))
    with pytest.raises(ConfigError, match=r"did you mean 'mechanisms.civilians.coercion_rate_per_week'"):
        load_sensitivity(path)
    path.write_text(text.replace("{low: 0.2, high: 0.8}", "{low: 0.2, high: 1.8}").replace(
        "civilians.coercion_rate_per_week", "peacekeeping.protection"))
    with pytest.raises(ConfigError, match=r"design point \d+ .*peacekeeping.protection: Input should be less than or equal to 1"):
        load_sensitivity(path)


def test_unknown_outcome_is_named_after_the_runs(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(TINY.format(scenario=ROOT / "scenarios" / "historical.yaml").replace(
        "events_total]", "events_totl]").replace("replicates: 2", "replicates: 1"))
    problem, plan = load_sensitivity(path)
    execute_plan(plan, tmp_path / "out", executor=LocalExecutor(0))
    with pytest.raises(ConfigError, match=r"outcomes\[1\]: 'events_totl' is not an outcome.*did you mean 'events_total'"):
        analyse_sensitivity(problem, plan, tmp_path / "out", source=str(path))


def test_bundled_sensitivity_example_validates():
    problem, plan = load_sensitivity(ROOT / "scenarios" / "sensitivity" / "core.yaml")
    assert plan.n_runs == problem.samples * (len(problem.parameters) + 2) * problem.replicates
