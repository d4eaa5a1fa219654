"""The comparison report for decision makers, comparable arms, posterior draws, and the small
fixes of issue 13 (plot on a comparison folder, sensitivity warnings, validate --help)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from sahel_sim.config import ConfigError, load_scenario
from sahel_sim.experiments.compare import compare_arms, plan_compare, write_compare_report
from sahel_sim.experiments.report import (
    MIN_PAIRS,
    fmt_diff,
    fmt_percent,
    fmt_probability,
    read_known_misses,
)
from sahel_sim.experiments.seeds import posterior_rows
from sahel_sim.experiments.sensitivity import (
    MIN_SOBOL_SAMPLES,
    SensitivitySpec,
    reliability_warnings,
)
from sahel_sim.outcomes import outcome_label

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"
KEY = "mechanisms.combat.battle_rate_per_week"


def _posterior(tmp_path) -> Path:
    """A small posterior in the layout `sahel-sim calibrate` writes (particles, weights,
    parameter columns by key path, stat: columns)."""
    post = pd.DataFrame({"particle": [f"g1c{i}" for i in range(4)], "weight": [0.4, 0.3, 0.2, 0.1],
                         "distance": [1.0, 1.1, 1.2, 1.3], KEY: [0.06, 0.08, 0.1, 0.12],
                         "actors.JNIM.aggression": [0.8, 1.0, 1.1, 1.3], "stat:mi_events_2023": [900.0] * 4})
    path = tmp_path / "posterior.parquet"
    post.to_parquet(path)
    return path


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sahel_sim", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def short_arms(tmp: Path) -> tuple[Path, Path]:
    """Classroom cut to 2019, and the same with a dated change in mid-2019 (MINUSMA stood down)."""
    a = tmp / "a.yaml"
    b = tmp / "b.yaml"
    a.write_text(f"extends: {SCEN / 'classroom.yaml'}\nname: short\nend_date: 2019-12-30\n")
    b.write_text(f"extends: {a}\nname: short_no_pk\ninterventions:\n  pk_down:\n    type: set_strength\n"
                 "    actor: MINUSMA\n    date: 2019-06-03\n    strength: 0\n    source: test counterfactual\n")
    return a, b


# --------------------------------------------------------------------------- comparable arms
def test_arms_with_different_windows_are_refused_with_exit_2(tmp_path):
    with pytest.raises(ConfigError, match=r"different windows.*start_date: 2019-01-07 in A, 2012-"):
        plan_compare(SCEN / "classroom.yaml", SCEN / "no_wagner.yaml", replicates=2, seed=1)
    proc = cli("compare", "scenarios/classroom.yaml", "scenarios/no_wagner.yaml", "--replicates", "2",
               "--seed", "1", "--out", str(tmp_path / "x"), "--workers", "0", "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert "cover different windows" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x" / "runs").exists()  # refused before any run


def test_arms_with_different_start_states_are_refused():
    a = load_scenario(SCEN / "classroom.yaml")
    b = load_scenario(SCEN / "no_wagner.yaml", ["start_date=2019-01-07"])  # same window, 2012 strengths
    with pytest.raises(ConfigError, match=r"start from different states \(actors\.\w+\.strength"):
        compare_arms(a, b, names=("classroom.yaml", "no_wagner.yaml"))


def test_divergence_date_comes_from_the_scenarios():
    hist = load_scenario(SCEN / "historical.yaml")
    stays = load_scenario(SCEN / "minusma_stays.yaml")
    d = compare_arms(hist, stays)
    removed = [k for k in hist.interventions if k not in stays.interventions]
    assert removed and d.date == min(hist.interventions[k].date for k in removed)
    assert d.reasons[0].startswith("intervention `") and "only in A" in d.reasons[0]
    # a parameter without a date acts from the start
    b = load_scenario(SCEN / "historical.yaml", ["mechanisms.peacekeeping.protection=0.1"])
    assert compare_arms(hist, b).date == hist.start_date


# --------------------------------------------------------------------------- numbers
def test_formatting_never_shows_minus_zero_or_certainty_from_few_pairs():
    count = outcome_label("civilian_deaths_2024")
    assert fmt_percent(-0.001, 5000.0, count) == "0%"
    assert fmt_percent(0.4, 3.0, count) == "–"  # tiny base: no percent
    assert fmt_percent(-0.25, 5000.0, count) == "-25%"
    assert fmt_percent(0.1, 0.5, outcome_label("control_share_FAMa_2024")) == "–"  # shares: points
    assert fmt_diff(-0.0001, outcome_label("control_share_FAMa_2024")) == "0 pts"
    assert fmt_diff(-0.01, count) == "0"
    assert fmt_probability(0.0, 3) == "< 1/3" and fmt_probability(1.0, 3) == "> 2/3"
    assert fmt_probability(0.5, 3) == "0.50"


def test_outcome_labels_are_words_with_units():
    lab = outcome_label("civilian_deaths_total", window="2019-2024")
    assert lab.text == "civilians killed over 2019-2024" and lab.unit == "deaths"
    assert outcome_label("control_share_JNIM_2024").text == "territory held by JNIM at the end of 2024"
    assert outcome_label("displaced_2024").unit == "people"


def test_known_misses_are_read_from_the_validation_report(tmp_path):
    path = ROOT / "calibration" / "validation.md"
    misses = read_known_misses(path)
    # the rows the report marks as misses, read independently of the parser under test
    marked = [line.split("|")[1].strip() for line in path.read_text(encoding="utf-8").splitlines()
              if line.startswith("| ") and line.rstrip().endswith("| MISS |")]
    assert misses and [m.target for m in misses] == marked
    assert read_known_misses(tmp_path / "missing.md") is None


# --------------------------------------------------------------------------- the report end to end
@pytest.fixture(scope="module")
def comparison(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("cmp")
    a, b = short_arms(tmp)
    out = tmp / "out"
    proc = cli("compare", str(a), str(b), "--replicates", "3", "--seed", "11", "--out", str(out), "--workers", "1",
               "--quiet", "--bootstrap", "300")
    assert proc.returncode == 0, proc.stderr
    return out


def test_report_opens_with_a_headline_and_says_what_it_covers(comparison):
    md = (comparison / "report.md").read_text()
    first = md.splitlines()[2]
    assert first.startswith("> **Headline.** In the model,") and "paired runs" in first
    assert "**Window**: 2019-01-07 to 2019-12-30" in md
    assert "**The arms diverge on** **2019-06-03**" in md and "`pk_down`" in md
    assert "**Paired runs**: 3" in md
    assert "simulation noise only" in md and "--posterior" in md
    assert f"fewer than {MIN_PAIRS} pairs are unreliable" in md
    assert "civilians killed" in md and not re.search(r"\b(civilian_deaths|displaced|control_share_\w+)_(\d{4}|total)\b", md)
    assert "within noise" in md and "**Within noise**: a difference is marked" in md
    assert "-0%" not in md and not re.search(r"\| (0\.00|1\.00) \|", md)
    assert "## The model's known misses next to these outcomes" in md
    # the shipped validation report's misses that touch a reported outcome are listed with it
    from sahel_sim.experiments.report import misses_touching, read_known_misses

    misses = read_known_misses(Path(__file__).resolve().parents[1] / "calibration" / "validation.md")
    outcomes = pd.read_csv(comparison / "differences.csv").iloc[:, 0]
    touched = {m.target for o in outcomes for m in misses_touching(str(o), misses)}
    assert all(t in md for t in touched)


def test_a_displacement_miss_sits_next_to_the_displaced_outcome(comparison, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(comparison, out)
    shipped = (Path(__file__).resolve().parents[1] / "calibration" / "validation.md").read_text(encoding="utf-8")
    # the shipped report with IDPs of May 2021 marked as a miss (as they were before issue 10's last change)
    lines = [re.sub(r"\| [+-]?[0-9.]+ \| hit \|$", "| -1.06 | MISS |", ln) if ln.startswith("| idps_2021 |") else ln
             for ln in shipped.splitlines()]
    assert any(ln.startswith("| idps_2021 |") and ln.endswith("| MISS |") for ln in lines)
    validation = tmp_path / "validation.md"
    validation.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_compare_report(out, n_boot=200, validation=validation)
    md = (out / "report.md").read_text()
    section = md.split("## The model's known misses next to these outcomes", 1)[1].split("## Figures", 1)[0]
    assert "idps_2021" in section and "displaced" in section.lower()


def test_html_report_is_self_contained(comparison):
    page = (comparison / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') >= 2
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "Headline." in page


def test_report_without_validation_file_says_so_and_has_no_nan_warnings(comparison, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(comparison, out)
    victim = sorted((out / "runs").glob("p00001-*.parquet"))[-1]  # one B run unfinished: an unpaired A run
    victim.unlink()
    (out / "outcomes.parquet").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        write_compare_report(out, n_boot=200, validation=tmp_path / "nope.md")
    md = (out / "report.md").read_text()
    assert "nope.md` was not found" in md and "**Paired runs**: 2" in md and "without a partner" in md


def test_plot_on_a_comparison_folder(comparison, tmp_path):
    proc = cli("plot", str(comparison), "--out", str(tmp_path / "figs"), "--format", "png")
    assert proc.returncode == 0, proc.stderr
    for name in ("trajectories.png", "differences.png", "map_difference.png"):
        assert (tmp_path / "figs" / name).stat().st_size > 1000


# --------------------------------------------------------------------------- posterior
def _seed_with_distinct_draws(posterior) -> int:
    w = pd.read_parquet(posterior, columns=["weight"])["weight"].to_numpy()
    return next(s for s in range(100) if len(set(posterior_rows(s, 2, w))) == 2)


def test_posterior_draws_parameters_shared_within_a_pair(tmp_path):
    a, b = short_arms(tmp_path)
    POSTERIOR = _posterior(tmp_path)
    seed = _seed_with_distinct_draws(POSTERIOR)
    out = tmp_path / "post"
    proc = cli("compare", str(a), str(b), "--replicates", "2", "--seed", str(seed), "--out", str(out),
               "--workers", "1", "--quiet", "--bootstrap", "200", "--posterior", str(POSTERIOR))
    assert proc.returncode == 0, proc.stderr
    df = pd.read_parquet(out / "outcomes.parquet")
    key = KEY
    assert key in df.columns and "posterior_row" in df.columns
    per_pair = df.groupby("seed")[key].nunique()
    assert (per_pair == 1).all()  # both arms of a pair share the draw
    assert df.groupby("seed")[key].first().nunique() == 2  # the two pairs drew different values
    post = pd.read_parquet(POSTERIOR)
    for _, r in df.iterrows():
        assert r[key] == post.loc[int(r["posterior_row"]), key]
    md = (out / "report.md").read_text()
    assert "parameter uncertainty and simulation noise" in md
    assert KEY not in json.dumps(
        pd.read_csv(out / "differences.csv")["outcome"].tolist())  # parameters are not outcomes


def test_posterior_column_that_no_longer_exists_is_named(tmp_path):
    post = pd.read_parquet(_posterior(tmp_path)).rename(columns={KEY: "mechanisms.combat.battle_rate_per_weak"})
    path = tmp_path / "old_posterior.parquet"
    post.to_parquet(path)
    with pytest.raises(ConfigError, match=r"battle_rate_per_weak.*did you mean.*battle_rate_per_week"):
        plan_compare(SCEN / "classroom.yaml", SCEN / "classroom.yaml", replicates=2, seed=1, posterior=path)


# --------------------------------------------------------------------------- small fixes
def _spec(samples: int, method: str = "sobol") -> SensitivitySpec:
    return SensitivitySpec.model_validate({
        "name": "toy", "scenario": "x.yaml", "method": method, "samples": samples, "seed": 1, "replicates": 2,
        "parameters": {"a.b": {"low": 0, "high": 1}, "a.c": {"low": 0, "high": 1}}})


def test_sensitivity_warns_when_the_sample_is_too_small():
    table = pd.DataFrame({"outcome": ["y"] * 2, "parameter": ["a.b", "a.c"], "index": ["S1", "S1"],
                          "value": [2.35, -0.88], "conf": [1.9, 1.2]})
    w = reliability_warnings(_spec(16), table)
    text = " ".join(w)
    assert f"samples: {MIN_SOBOL_SAMPLES}" in text and "runs" in text and "outside [0, 1]" in text
    ok = pd.DataFrame({"outcome": ["y"] * 2, "parameter": ["a.b", "a.c"], "index": ["S1", "S1"],
                       "value": [0.6, 0.3], "conf": [0.05, 0.04]})
    assert reliability_warnings(_spec(1024), ok) == []
    assert reliability_warnings(_spec(4, "morris"), ok)


def test_validate_help_has_no_double_percent():
    proc = cli("validate", "--help", timeout=60)
    assert proc.returncode == 0 and "90% interval" in proc.stdout and "%%" not in proc.stdout


def test_readme_names_where_its_compare_example_comes_from():
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- compare-example:start -->")[1].split("<!-- compare-example:end -->")[0]
    assert "scripts/readme_figures.py" in block and "commit" in block and "CPU" in block
    assert "docs/img/compare_report.png" in text and (ROOT / "docs" / "img" / "compare_report.png").exists()
    assert re.search(r"on \d{4}-\d{2}-\d{2}", block)
