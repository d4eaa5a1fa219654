"""Paired comparison: bootstrap statistics on synthetic data, and the CLI report end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sahel_sim.experiments.compare import paired_bootstrap, paired_table, share_worse

ROOT = Path(__file__).resolve().parents[1]


def test_bootstrap_constant_difference_has_zero_width():
    rng = np.random.default_rng(0)
    mean, lo, hi, boot = paired_bootstrap(np.full((10, 1), 3.0), rng=rng, n_boot=500)
    assert mean[0] == lo[0] == hi[0] == 3.0 and boot.shape == (500, 1)


def test_bootstrap_interval_covers_the_true_mean_at_about_the_nominal_rate():
    rng = np.random.default_rng(1)
    data = rng.normal(2.0, 1.0, size=(40, 300))  # 300 independent experiments of 40 pairs
    mean, lo, hi, _ = paired_bootstrap(data, rng=np.random.default_rng(2), n_boot=1000)
    coverage = np.mean((lo <= 2.0) & (2.0 <= hi))
    assert 0.88 <= coverage <= 0.99
    assert np.allclose(mean, data.mean(axis=0))
    # reproducible from the seed
    again = paired_bootstrap(data, rng=np.random.default_rng(2), n_boot=1000)
    assert np.array_equal(lo, again[1]) and np.array_equal(hi, again[2])


def test_share_worse_counts_ties_half_and_respects_direction():
    d = np.array([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0], [0.0, 0.0, 0.0], [2.0, 2.0, 2.0]])
    p = share_worse(d, np.array([1, -1, 0]))
    assert p[0] == pytest.approx((2 + 0.5) / 4)
    assert p[1] == pytest.approx((1 + 0.5) / 4)
    assert np.isnan(p[2])


def test_pairing_on_seed_removes_shared_noise():
    rng = np.random.default_rng(3)
    seeds = np.arange(30)
    noise = rng.normal(0, 100, size=30)  # large run-to-run variation shared by both arms
    a = pd.DataFrame({"seed": seeds, "civilian_deaths_total": 500 + noise,
                      "control_share_FAMa_2024": 0.5 + noise / 1000})
    b = pd.DataFrame({"seed": seeds, "civilian_deaths_total": 510 + noise + rng.normal(0, 1, 30),
                      "control_share_FAMa_2024": 0.6 + noise / 1000})
    b = b.sample(frac=1.0, random_state=0)  # row order must not matter: pairs are matched on seed
    t = paired_table(a, b, outcomes=["civilian_deaths_total", "control_share_FAMa_2024", "missing"],
                     rng=np.random.default_rng(4), n_boot=1000).set_index("outcome")
    assert list(t.index) == ["civilian_deaths_total", "control_share_FAMa_2024"]
    row = t.loc["civilian_deaths_total"]
    assert row["diff_low"] > 9 and row["diff_high"] < 11  # an unpaired CI would be about +-50
    assert row["p_b_worse"] == 1.0 and row["p_mean_worse"] == 1.0 and row["n_pairs"] == 30
    assert t.loc["control_share_FAMa_2024", "p_b_worse"] == 0.0  # more state territory is better


def test_compare_cli_writes_a_report_and_resumes(tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    classroom = ROOT / "scenarios" / "classroom.yaml"
    a.write_text(f"extends: {classroom}\nname: short\nend_date: 2019-12-30\n")
    b.write_text(f"extends: {a}\nname: short_no_pk_protection\nmechanisms:\n  peacekeeping:\n    protection: 0.0\n")
    out = tmp_path / "cmp"
    cmd = [sys.executable, "-m", "sahel_sim", "compare", str(a), str(b), "--replicates", "3", "--seed", "5",
           "--out", str(out), "--workers", "2", "--quiet", "--bootstrap", "500"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in ("report.md", "report.html", "trajectories.png", "differences.png", "map_difference.png",
                 "differences.csv", "outcomes.parquet", "manifest.json"):
        assert (out / name).stat().st_size > 0, name
    report = (out / "report.md").read_text()
    assert "| civilians killed in 2019 | deaths |" in report and "B worse in" in report and "![" in report
    table = pd.read_csv(out / "differences.csv")
    assert (table["n_pairs"] == 3).all()
    df = pd.read_parquet(out / "outcomes.parquet")
    assert sorted(df.groupby("arm")["seed"].apply(sorted).tolist()[0]) == sorted(df[df.arm == "B"]["seed"])

    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "0 runs done, 6 already done" in again.stdout
    pd.testing.assert_frame_equal(pd.read_csv(out / "differences.csv"), table)


def test_compare_cli_bad_input_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sahel_sim", "compare", "nope.yaml", "scenarios/historical.yaml",
                           "--replicates", "2", "--out", str(tmp_path / "x")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "nope.yaml: file not found" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()
