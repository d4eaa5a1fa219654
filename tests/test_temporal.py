"""The temporal out-of-sample check's scores (sahel_sim/experiments/temporal.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sahel_sim.experiments import temporal


def brute_crps(x: np.ndarray, y: float) -> float:
    return float(np.abs(x - y).mean() - 0.5 * np.abs(x[:, None] - x[None, :]).mean())


def test_crps_matches_its_definition_and_the_normal_closed_form() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(10, 4, size=(60, 5))
    y = np.array([3.0, 10.0, 12.5, 30.0, -2.0])
    got = temporal.crps_ensemble(x, y)
    assert np.allclose(got, [brute_crps(x[:, t], y[t]) for t in range(5)])
    assert temporal.crps_ensemble(np.array([[7.0]]), np.array([2.0]))[0] == pytest.approx(5.0)  # one member: |x - y|
    big = rng.normal(0.0, 1.0, size=(20000, 1))
    z = 0.7
    closed = z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi)  # Gneiting & Raftery
    assert temporal.crps_ensemble(big, np.array([z]))[0] == pytest.approx(closed, rel=0.02)


def test_a_sharper_well_centred_forecast_scores_better_and_covers_as_stated() -> None:
    rng = np.random.default_rng(5)
    truth = rng.poisson(100, size=240).astype(float)
    good = rng.poisson(100, size=(400, 240)).astype(float)
    biased = rng.poisson(160, size=(400, 240)).astype(float)
    assert temporal.crps_ensemble(good, truth).mean() < 0.5 * temporal.crps_ensemble(biased, truth).mean()
    assert 0.40 < temporal.coverage(good, truth, 0.5) < 0.62
    assert 0.84 < temporal.coverage(good, truth, 0.9) < 0.97
    assert temporal.coverage(biased, truth, 0.9) < 0.05


def test_monthly_counts_and_the_baseline_come_from_the_right_months() -> None:
    ev = pd.DataFrame({"event_date": pd.to_datetime(["2020-01-03", "2020-01-30", "2020-03-01", "2019-12-31", "2020-02-02"]),
                       "event_type": ["Battles", "Violence against civilians", "Explosions/Remote violence", "Battles",
                                      "Strategic developments"]})
    counts = temporal.monthly_counts(ev, 2020, 2020)
    assert counts.tolist()[:4] == [2.0, 0.0, 1.0, 0.0] and counts.size == 12
    acled_2019 = temporal.acled_monthly(2019, 2019).to_numpy()
    base = temporal.baseline_samples(2019, 24, members=4000, seed=1)
    assert base.shape == (4000, 24)
    assert base.mean() == pytest.approx(acled_2019.mean(), rel=0.05)
    assert base.var() == pytest.approx(acled_2019.var(ddof=1), rel=0.25)


def test_check_scores_runs_against_acled_and_writes_a_report(tmp_path) -> None:
    obs = temporal.acled_monthly(2020, 2021)
    rng = np.random.default_rng(0)
    tables = []
    for _ in range(20):  # synthetic runs: ACLED's own months plus noise
        dates = np.repeat(obs.index.to_numpy(), rng.poisson(obs.to_numpy()).astype(int))
        tables.append(pd.DataFrame({"event_date": dates, "event_type": "Battles"}))
    res = temporal.check(tables, cutoff_year=2019, last_year=2021)
    s = res.scores()
    assert s.loc["model", "CRPS (events/month)"] < s.loc["baseline", "CRPS (events/month)"]
    md = res.to_markdown()
    assert "| model |" in md and "| 2021 |" in md
    res.figure(tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 10_000
