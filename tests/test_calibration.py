"""Calibration: the ABC sampler on a tiny budget (resume, determinism, outputs), the parameter
file rewrite, config errors, and the stylised-fact regression check of the shipped calibration.

The regression check runs the bundled historical scenario (which extends the shipped
calibration/parameters.yaml) with a few seeds and asserts that every documented trend keeps
its direction and rough size: the median over seeds within 2.5 times the target's tolerance
(|scaled miss| <= 2.5, room for the noise of 4 seeds; the shipped calibration's 30-seed medians are in
calibration/validation.md). A code change that breaks the calibration fails here.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sahel_sim.config import ConfigError, load_scenario_data, scenario_to_data, validate_scenario
from sahel_sim.experiments.calibrate import (
    Prior,
    Sampler,
    calibration_report,
    candidate_statistics,
    load_calibration,
    posterior_table,
    prior_positions,
    priors_markdown,
    scenario_statistics,
    target_tensions,
    update_parameter_file,
)
from sahel_sim.experiments.executors import LocalExecutor
from sahel_sim.experiments.seeds import replicate_seeds
from sahel_sim.experiments.targets import load_targets
from tests.conftest import ROOT, SCENARIOS

TARGETS = ROOT / "calibration" / "targets.yaml"

# ----------------------------------------------------------------------------- tiny sampler
TINY_TARGETS = ["idps_2012", "refugees_2012", "refugees_2012_share_niger"]


@pytest.fixture()
def tiny_config(tmp_path: Path) -> Path:
    scen = tmp_path / "short.yaml"
    scen.write_text(f"extends: {SCENARIOS / 'historical.yaml'}\nname: short\nend_date: 2012-08-27\n", encoding="utf-8")
    params = tmp_path / "parameters.yaml"
    params.write_text((ROOT / "calibration" / "parameters.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = {
        "name": "tiny", "scenario": "short.yaml", "targets": str(TARGETS), "use_targets": TINY_TARGETS,
        "parameters_file": "parameters.yaml", "out": "out",
        "priors": {"mechanisms.displacement.flee_per_event": {"distribution": "loguniform", "low": 60, "high": 600},
                   "mechanisms.displacement.foreign_weight": {"low": 0.1, "high": 0.9}},
        "replicates": 1, "population": 4, "alpha": 0.5, "min_acceptance": 0.0, "max_generations": 1, "seed": 7,
        "reevaluate_top": 2, "reevaluate_seeds": 1,
        "executor": {"kind": "local", "workers": 0},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def _calibrate(config: Path):
    cal = load_calibration(config)
    return cal, Sampler(cal, executor=LocalExecutor(0), out=cal.resolve(cal.config.out)).run()


def test_tiny_calibration_writes_a_weighted_posterior(tiny_config) -> None:
    cal, result = _calibrate(tiny_config)
    post = result.posterior
    assert len(post) == 2  # population x alpha
    assert post["weight"].sum() == pytest.approx(1.0)
    assert (post["weight"] > 0).all()
    assert [h["generation"] for h in result.history] == [0, 1]
    eps = [h["epsilon"] for h in result.history]
    assert eps[1] <= eps[0]  # the tolerance never grows (old particles are pooled)
    for key, prior in cal.config.priors.items():
        assert post[key].between(prior.low, prior.high).all()
    out = result.out
    for name in ("posterior.parquet", "history.json", "best.yaml", "calibration.json", "reevaluation.parquet"):
        assert (out / name).exists()
    assert len(list((out / "gen_000" / "runs").glob("*.parquet"))) == 4
    assert len(list((out / "gen_001" / "runs").glob("*.parquet"))) == 2
    assert post["reevaluated_distance"].notna().sum() == 2  # the top particles, rerun with fresh seeds
    report = calibration_report(cal, result)
    assert "| 0 |" in report and "| 1 |" in report  # one row per generation
    assert f"{int(posterior_table(cal.used, post)['hit'].sum())} of 3 targets within tolerance" in report
    assert "| mechanisms.displacement.flee_per_event | loguniform 60-600 |" in report
    assert "## Targets that pull against each other" in report
    cands = candidate_statistics(out, cal.used)
    assert len(cands) == 6 and list(cands["generation"]) == [0, 0, 0, 0, 1, 1]


def test_target_tensions_finds_targets_that_pull_apart() -> None:
    from sahel_sim.experiments.targets import parse_targets

    def target(tid: str) -> dict:
        return {"id": tid, "description": tid, "documented": "10", "value": 10, "tolerance": {"low": 5, "high": 20},
                "scale": "linear", "period": {"from": "2012-01-01", "to": "2012-12-31"},
                "statistic": {"kind": "stock", "series": "idps", "at": "2012-12-31"},
                "source": {"publisher": "P", "title": "T", "date": "2012"}}

    targets = parse_targets({"targets": [target("a"), target("b"), target("c")]})
    x = np.linspace(0.0, 1.0, 20)
    # a parameter x moves a toward its value and b away from it; c does not care
    cands = pd.DataFrame({"a": 20 - 10 * x, "b": 10 + 10 * x, "c": 10 + 5 * np.sin(7 * x)})
    tens = target_tensions(targets, cands)
    assert list(tens[["target_a", "target_b"]].iloc[0]) == ["a", "b"]
    assert tens["rho"].iloc[0] == pytest.approx(-1.0)
    assert target_tensions(targets, cands, max_rho=-1.5).empty


def test_calibration_resumes_after_interruption_with_the_same_draws(tiny_config) -> None:
    _, first = _calibrate(tiny_config)
    out = first.out
    # simulate a kill during generation 1: its particles and one finished run are gone
    (out / "gen_001" / "particles.parquet").unlink()
    next((out / "gen_001" / "runs").glob("*.parquet")).unlink()
    _, again = _calibrate(tiny_config)
    pd.testing.assert_frame_equal(first.posterior, again.posterior)
    # a finished calibration reruns without running anything
    stamp = {p: p.stat().st_mtime_ns for p in out.glob("gen_*/runs/*.parquet")}
    _calibrate(tiny_config)
    assert stamp == {p: p.stat().st_mtime_ns for p in out.glob("gen_*/runs/*.parquet")}


def test_a_changed_calibration_refuses_an_old_folder(tiny_config) -> None:
    _calibrate(tiny_config)
    cfg = yaml.safe_load(tiny_config.read_text(encoding="utf-8"))
    cfg["seed"] = 8
    tiny_config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    with pytest.raises(ConfigError, match="different calibration"):
        _calibrate(tiny_config)


def test_out_of_sample_mode_keeps_only_early_targets(tiny_config) -> None:
    import datetime as dt

    cal = load_calibration(ROOT / "calibration" / "config.yaml", holdout_after=dt.date(2021, 12, 31))
    assert all(t.period_to <= dt.date(2021, 12, 31) for t in cal.used)
    held = {t.id for t in cal.held_out}
    assert {"mi_events_growth_2020_2023", "civilian_deaths_after_wagner", "idps_2024"} <= held


def test_bad_prior_key_path_suggests_the_right_one(tiny_config) -> None:
    cfg = yaml.safe_load(tiny_config.read_text(encoding="utf-8"))
    cfg["priors"]["mechanisms.displacement.flee_per_evnt"] = {"low": 1, "high": 2}
    tiny_config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"did you mean 'mechanisms\.displacement\.flee_per_event'"):
        load_calibration(tiny_config)


def test_bad_prior_range_is_a_config_error(tiny_config) -> None:
    cfg = yaml.safe_load(tiny_config.read_text(encoding="utf-8"))
    cfg["priors"]["mechanisms.displacement.flee_per_event"] = {"distribution": "loguniform", "low": 0, "high": 2}
    tiny_config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    with pytest.raises(ConfigError, match="log-uniform prior needs low > 0"):
        load_calibration(tiny_config)


def test_validation_reports_only_the_seeds_asked_for_in_a_reused_folder(tmp_path) -> None:
    """A results folder resumed with fewer seeds than it holds reports those seeds only (it
    reported every stored run, so a 6-seed validation showed the 30-seed medians)."""
    scen = tmp_path / "short.yaml"
    scen.write_text(f"extends: {SCENARIOS / 'historical.yaml'}\nname: short\nend_date: 2012-08-27\n", encoding="utf-8")
    data = load_scenario_data(scen)
    targets = load_targets(TARGETS).select(TINY_TARGETS)
    seeds = replicate_seeds(11, 3)
    out = tmp_path / "runs"
    three = scenario_statistics(data, {}, seeds, targets, executor=LocalExecutor(0), out=out)
    two = scenario_statistics(data, {}, seeds[:2], targets, executor=LocalExecutor(0), out=out)
    assert len(three) == 3 and len(two) == 2
    assert two == three[:2]


def test_parameter_file_rewrite_keeps_comments_and_keys(tmp_path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("# header\n#\nactors:\n  JNIM:\n    aggression: 1.0  # why\n    reach_km: 50\n"
                 "mechanisms:\n  combat:\n    battle_rate_per_week: 0.25\n  grievance:\n    baseline: 0.3\n",
                 encoding="utf-8")
    text = update_parameter_file(f, {"actors.JNIM.aggression": 1.23456, "mechanisms.grievance.spillover": 0.4},
                                 note="test run")
    data = yaml.safe_load(text)
    assert data["actors"]["JNIM"] == {"aggression": 1.235, "reach_km": 50}
    assert data["mechanisms"]["grievance"] == {"baseline": 0.3, "spillover": 0.4}
    assert data["mechanisms"]["combat"]["battle_rate_per_week"] == 0.25
    assert text.startswith("# header\n#\n# Calibration: test run\n")
    assert "aggression: 1.235  # why" in text
    # keys whose blocks the file lacks: the blocks are added under the deepest one it has
    text = update_parameter_file(f, {"mechanisms.rivalry.battle_weight": 1.9152, "mechanisms.rivalry.other": 2,
                                     "observation.unattributed_share": 0.2, "actors.JNIM.lethality": 1.1})
    data = yaml.safe_load(text)
    assert data["mechanisms"]["rivalry"] == {"battle_weight": 1.915, "other": 2.0}
    assert data["observation"] == {"unattributed_share": 0.2}
    assert data["actors"]["JNIM"] == {"aggression": 1.0, "reach_km": 50, "lethality": 1.1}
    assert data["mechanisms"]["grievance"] == {"baseline": 0.3} and "# why" in text


def test_calibrate_and_validate_help_through_the_entry_point() -> None:
    for cmd in ("calibrate", "validate"):
        res = subprocess.run([sys.executable, "-m", "sahel_sim", cmd, "--help"], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
        assert res.returncode == 0 and "usage: sahel-sim " + cmd in res.stdout


# ----------------------------------------------------------------------------- regression check
# Targets the shipped calibration does not reach (calibration/validation.md and
# docs/calibration.md say why); for these only the direction of the trend is checked.
KNOWN_MISSES: dict[str, str] = {
    "mi_events_growth_2020_2023": "MI events grow at most ~1.9x 2020-2023 for any prior draw (docs/calibration.md 7.1)",
    "bamako_mi_events_growth": "5 and 16 events: too few for 4 seeds; the 30-seed median misses too (7.1)",
    "isgs_control_growth_menaka_gao": "IS Sahel holds cells in Menaka and Gao from 2022 but its area grows only "
                                      "~1.1-1.2x to 2023 (docs/geography.md, calibration/validation.md)",
}
N_SEEDS = 4


@pytest.fixture(scope="module")
def shipped_statistics():
    targets = load_targets(TARGETS)
    data = load_scenario_data(SCENARIOS / "historical.yaml")
    rows = scenario_statistics(data, {}, replicate_seeds(20240601, N_SEEDS), targets, executor=LocalExecutor(0))
    return targets, pd.DataFrame(rows)


def test_shipped_calibration_reproduces_each_trend_roughly(shipped_statistics) -> None:
    targets, frame = shipped_statistics
    problems = []
    for t in targets:
        if t.id in KNOWN_MISSES:
            continue
        med = float(np.nanmedian(frame[t.id]))
        d = t.scaled_miss(med)
        if not (np.isfinite(d) and abs(d) <= 2.5):
            problems.append(f"{t.id}: median {med:.4g} against {t.value:.4g} [{t.low:.4g}, {t.high:.4g}] (miss {d:+.2f})")
    assert not problems, "calibration broken:\n" + "\n".join(problems)


def test_shipped_calibration_keeps_the_direction_of_each_trend(shipped_statistics) -> None:
    _, frame = shipped_statistics
    med = frame.median()
    assert med["mi_events_growth_2020_2023"] > 1.2  # militant Islamist violence grows 2020 -> 2023
    assert med["civilian_deaths_wagner_step"] > 2.0  # civilian deaths step up after Wagner
    assert med["wagner_civilian_targeting_share"] > 0.5  # most Wagner events target civilians
    assert med["central_share_mi_clashes_2020_2021"] > 0.4  # concentrated in Mopti and Segou
    if "bamako_mi_events_h1_2023" not in KNOWN_MISSES:  # a documented miss since issue 9 (see KNOWN_MISSES)
        assert med["bamako_mi_events_h1_2023"] >= 5  # violence reaches the approaches to Bamako
    assert med["idps_2020"] > med["idps_2014"]  # displacement builds up from 2014 to 2020
    # and keeps growing after 2019 (DTM: 208k in Dec 2019, 378k in May 2022, 354k in Mar 2024); since
    # the army's growth from 2013 to 2020 replaced a step in 2020 the model's stock grows too (30 seeds:
    # 219k in 2019, 347k in 2022; calibration/validation.md)
    assert med["idps_2024"] > med["idps_2019"]
    assert med["idps_2022"] > med["idps_2019"]
    assert med["idps_2013_peak"] > 100_000 and med["refugees_2012"] > 80_000  # the 2012-13 shock (issue 10)
    assert med["refugees_2012_share_mauritania"] + med["refugees_2012_share_niger"] > 0.05
    assert not math.isnan(med["isgs_control_growth_menaka_gao"])


def test_prior_positions_flag_values_at_and_beyond_a_bound() -> None:
    """Position 0 at low, 1 at high (log scale for log-uniform); within 2% of the range is at
    the bound; the report names the flagged parameters that have no note (issue 11)."""
    data = load_scenario_data(SCENARIOS / "historical.yaml")
    data = {**data, "actors": {**data["actors"], "CMA": {**data["actors"]["CMA"], "aggression": 0.61}}}
    priors = {
        "actors.CMA.aggression": Prior(distribution="uniform", low=0.6, high=2.5),  # 0.61: 0.5% of the range
        "actors.JNIM.aggression": Prior(distribution="uniform", low=0.0, high=10.0),
        "mechanisms.displacement.kin_weight": Prior(distribution="loguniform", low=0.1, high=10.0,
                                                    bound_note="a hard fact, for the test"),
    }
    resolved = scenario_to_data(validate_scenario(data))
    pos = prior_positions(priors, resolved).set_index("parameter")
    assert pos.loc["actors.CMA.aggression", "status"] == "near the low bound"
    assert pos.loc["actors.CMA.aggression", "position"] == pytest.approx(0.01 / 1.9)
    jnim = float(pos.loc["actors.JNIM.aggression", "value"])
    assert pos.loc["actors.JNIM.aggression", "position"] == pytest.approx(jnim / 10.0)
    assert pos.loc["actors.JNIM.aggression", "status"] == "inside"
    kin = float(pos.loc["mechanisms.displacement.kin_weight", "value"])
    assert kin > 10 and pos.loc["mechanisms.displacement.kin_weight", "status"] == "above the prior"
    assert pos.loc["mechanisms.displacement.kin_weight", "position"] == pytest.approx(math.log(kin / 0.1) / math.log(100))
    text = priors_markdown(prior_positions(priors, resolved), source="test.yaml")
    assert "2 at or beyond a bound" in text and "1 of them without a note" in text
    assert "without a note saying why the bound is a hard fact: actors.CMA.aggression." in text
    assert "a hard fact, for the test" in text


def test_shipped_parameters_sit_inside_their_priors() -> None:
    """Issue 11: no calibrated parameter within 2% of a prior bound (or beyond it) without a note."""
    cal = load_calibration(ROOT / "calibration" / "config.yaml")
    pos = prior_positions(cal.config.priors, scenario_to_data(validate_scenario(cal.base_data)))
    bad = pos[(pos["status"] != "inside") & (pos["note"] == "")]
    assert bad.empty, bad[["parameter", "value", "low", "high", "status"]].to_string()


def test_a_calibration_that_cannot_beat_the_current_parameters_leaves_them(tiny_config, capsys) -> None:
    from sahel_sim.cli import main

    cfg = yaml.safe_load(tiny_config.read_text(encoding="utf-8"))
    # a prior far from the shipped 45 people a violent event: every particle displaces too few
    cfg["priors"]["mechanisms.displacement.flee_per_event"] = {"distribution": "loguniform", "low": 0.5, "high": 1.0}
    tiny_config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    before = (tiny_config.parent / "parameters.yaml").read_text(encoding="utf-8")
    copy = tiny_config.parent / "abc_report.md"
    code = main(["calibrate", str(tiny_config), "--workers", "0", "--quiet", "--report", str(copy)])
    assert code == 0
    out = tiny_config.parent / cfg["out"]
    best = yaml.safe_load((out / "best.yaml").read_text(encoding="utf-8"))
    incumbent = pd.read_parquet(out / "incumbent" / "runs" / next(p.name for p in (out / "incumbent" / "runs").iterdir()))
    assert len(incumbent) == 1 and math.isfinite(best["incumbent_distance"])
    post = pd.read_parquet(out / "posterior.parquet")
    printed = capsys.readouterr().out
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"The current parameter values on the same seeds: {best['incumbent_distance']:.3f}" in report
    after = (tiny_config.parent / "parameters.yaml").read_text(encoding="utf-8")
    assert best["incumbent_distance"] < post["reevaluated_distance"].min()
    assert after == before and "is left as it is" in printed and f"wrote {tiny_config.parent / 'parameters.yaml'}" not in printed
    assert "so the parameter file is left as it is" in report and copy.read_text(encoding="utf-8") == report


def test_a_calibration_that_beats_the_current_parameters_rewrites_them(tiny_config, capsys) -> None:
    from sahel_sim.cli import main

    cfg = yaml.safe_load(tiny_config.read_text(encoding="utf-8"))
    params = tiny_config.parent / "parameters.yaml"
    # the current parameters send almost nobody abroad; the priors are around the shipped values
    params.write_text(update_parameter_file(params, {"mechanisms.displacement.foreign_weight": 0.01}), encoding="utf-8")
    cfg["priors"]["mechanisms.displacement.flee_per_event"] = {"distribution": "loguniform", "low": 30, "high": 60}
    cfg["priors"]["mechanisms.displacement.foreign_weight"] = {"low": 1.5, "high": 2.2}
    tiny_config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    assert main(["calibrate", str(tiny_config), "--workers", "0", "--quiet"]) == 0
    best = yaml.safe_load((tiny_config.parent / cfg["out"] / "best.yaml").read_text(encoding="utf-8"))
    post = pd.read_parquet(tiny_config.parent / cfg["out"] / "posterior.parquet")
    assert post["reevaluated_distance"].min() < best["incumbent_distance"]
    written = yaml.safe_load(params.read_text(encoding="utf-8"))["mechanisms"]["displacement"]["foreign_weight"]
    assert 1.5 <= written <= 2.2 and "wrote" in capsys.readouterr().out


def test_the_docs_summary_of_the_abc_report_comes_from_the_report() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("abc_summary", ROOT / "scripts" / "abc_summary.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    report = (ROOT / "calibration" / "abc_report.md").read_text(encoding="utf-8")
    text = mod.summary(report)
    gens = [ln for ln in report.split("## Generations")[1].split("## ")[0].splitlines() if ln.startswith("| ")][1:]
    assert all(ln.split("|")[1:4] == row.split("|")[1:4] for ln, row in zip(gens, [r for r in text.splitlines()
               if r.startswith("| ")][1:], strict=True))
    # a parameter is listed as constrained when its 90% interval is under half its prior's range
    import re

    row = r"(\| mechanisms\.displacement\.flee_per_event \| loguniform 10-300 \| )[^|]*\|"
    assert "`mechanisms.displacement.flee_per_event`" not in text  # its interval spans most of the prior
    narrow = re.sub(row, r"\g<1>63 [60, 66] |", report)
    assert narrow != report and "`mechanisms.displacement.flee_per_event` 63 [60, 66]" in mod.summary(narrow)
    doc = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    assert text in doc, "docs/calibration.md: run scripts/abc_summary.py after regenerating the report"


def test_reloaded_particles_propose_the_same_candidates(tiny_config, tmp_path) -> None:
    """A resumed calibration draws the next generation from particles read back from disk:
    the draws must be bit-identical to those from the particles in memory (they were not when
    the read-back array came in Fortran order: np.cov then adds in another order)."""
    from sahel_sim.experiments.calibrate import Particles

    cal = load_calibration(tiny_config)
    sampler = Sampler(cal, executor=LocalExecutor(0), out=tmp_path / "out")
    rng = np.random.default_rng(3)
    n, k = 40, len(cal.keys)
    z = sampler.lo + rng.random((n, k)) * (sampler.hi - sampler.lo)
    parts = Particles([f"p{i}" for i in range(n)], z, rng.normal(size=n), rng.random(n),
                      [{t: float(rng.random()) for t in cal.targets.ids} for _ in range(n)])
    path = tmp_path / "particles.parquet"
    sampler._save_particles(path, parts, {"generation": 0})
    back, _ = sampler._load_particles(path)
    assert back.z.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(back.z, parts.z)
    assert np.array_equal(back.covariance(), parts.covariance())
    first, _ = sampler.propose(1, parts)
    again, _ = sampler.propose(1, back)
    assert np.array_equal(first, again)


def test_a_finished_calibration_resumes_for_more_generations(tiny_config) -> None:
    cal, first = _calibrate(tiny_config)
    out = first.out
    assert (out / "reevaluate_g001").is_dir()
    more = Sampler(cal, executor=LocalExecutor(0), out=out).run(max_generations=2)
    assert [h["generation"] for h in more.history] == [0, 1, 2]
    assert (out / "reevaluate_g002").is_dir() and (out / "reevaluate_g001").is_dir()
    assert more.posterior["reevaluated_distance"].notna().sum() == 2


def test_validation_report_gives_the_calibration_distance_of_its_medians() -> None:
    from sahel_sim.experiments.calibrate import validation_markdown

    targets = load_targets(TARGETS).select(TINY_TARGETS)
    values = {"idps_2012": 150_000.0, "refugees_2012": 90_000.0, "refugees_2012_share_niger": 0.5}
    post = pd.DataFrame({"weight": [1.0], **{f"stat:{k}": [v] for k, v in values.items()}})
    table = posterior_table(targets, post).assign(period="2012")
    text = validation_markdown(targets, table, title="test")
    expected = targets.distance(values)
    assert expected > 0 and f"family-weighted, docs/calibration.md section 3): {expected:.3f}." in text
