"""Sweeps end to end: identical results on every executor, kill-and-resume, failures recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sahel_sim.config import ConfigError
from sahel_sim.experiments import (
    DaskExecutor,
    LocalExecutor,
    execute_plan,
    load_outcomes,
    load_sweep,
)
from sahel_sim.experiments.store import RunStore

ROOT = Path(__file__).resolve().parents[1]

SWEEP = """
name: tiny
scenario: {scenario}
set: {{end_date: 2012-10-29}}
parameters:
  mechanisms.combat.battle_rate_per_week: {{values: [0.15, 0.35]}}
replicates: {replicates}
seed: 11
"""


def sweep_file(tmp_path: Path, replicates: int = 3, name: str = "sweep.yaml") -> Path:
    p = tmp_path / name
    p.write_text(SWEEP.format(scenario=ROOT / "scenarios" / "historical.yaml", replicates=replicates))
    return p


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweep run serially in this process: the result every executor must reproduce."""
    tmp = tmp_path_factory.mktemp("ref")
    plan = load_sweep(sweep_file(tmp))
    report = execute_plan(plan, tmp / "out", executor=LocalExecutor(0))
    assert report.ok == plan.n_runs == 6 and report.failed == 0
    return tmp / "out"


def test_outcomes_table_is_tidy_and_carries_a_manifest(reference):
    df = load_outcomes(reference)
    assert len(df) == 6 and df["run_key"].is_unique
    assert {"point", "replicate", "seed", "mechanisms.combat.battle_rate_per_week",
            "civilian_deaths_2012", "mi_events_2012", "control_share_JNIM_2012", "idps_2012"} <= set(df.columns)
    # common random numbers: replicate r has the same seed at both design points
    seeds = df.pivot(index="replicate", columns="point", values="seed")
    assert (seeds[0] == seeds[1]).all() and seeds[0].is_unique
    m = RunStore(reference).read_manifest()
    assert m["status"] == "complete" and m["master_seed"] == 11 and m["seeds"] == seeds[0].tolist()
    assert m["versions"]["mesa"] and m["git_commit"] and m["scenario"]["end_date"] == "2012-10-29"
    assert pd.read_parquet(reference / "design.parquet").shape[0] == 2


def test_local_worker_processes_give_bit_identical_results(reference, tmp_path):
    plan = load_sweep(sweep_file(tmp_path))
    execute_plan(plan, tmp_path / "out", executor=LocalExecutor(2))
    assert (tmp_path / "out" / "outcomes.parquet").read_bytes() == (reference / "outcomes.parquet").read_bytes()


def test_dask_local_cluster_gives_identical_results(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        plan = load_sweep(sweep_file(tmp_path))
        report = execute_plan(plan, tmp_path / "out", executor=DaskExecutor(client=client))
        assert report.ok == 6
        hosts = client.run(os.getpid)
        assert len(hosts) == 2
    pd.testing.assert_frame_equal(load_outcomes(tmp_path / "out"), load_outcomes(reference))
    assert (tmp_path / "out" / "outcomes.parquet").read_bytes() == (reference / "outcomes.parquet").read_bytes()


def test_killed_sweep_resumes_with_every_run_exactly_once(tmp_path):
    path = sweep_file(tmp_path, replicates=8)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sahel_sim", "sweep", str(path), "--out", str(out), "--workers", "2", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    runs = out / "runs"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if runs.exists() and len(list(runs.glob("*.parquet"))) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"sweep ended before it could be killed: {proc.stderr.read().decode()}"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes, mid-run
        proc.wait(timeout=30)
    partial = RunStore(out).finished()
    assert 3 <= len(partial) < 16
    before = {k: (runs / f"{k}.parquet").read_bytes() for k in partial}

    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(partial)} already done" in rerun.stdout
    df = load_outcomes(out)
    plan = load_sweep(path)
    assert sorted(df["run_key"]) == sorted(t.key for t in plan.tasks())  # every run exactly once
    assert all((runs / f"{k}.parquet").read_bytes() == b for k, b in before.items())  # nothing redone or lost
    assert not list(out.rglob("*.tmp"))
    # and the resumed sweep equals an uninterrupted one
    ref = tmp_path / "ref"
    execute_plan(plan, ref, executor=LocalExecutor(0))
    assert (out / "outcomes.parquet").read_bytes() == (ref / "outcomes.parquet").read_bytes()


def test_failing_run_is_recorded_and_retried_on_rerun(tmp_path, monkeypatch):
    import sahel_sim.run as run_module

    plan = load_sweep(sweep_file(tmp_path, replicates=2))
    bad_seed = plan.seeds[1]
    real_run = run_module.run

    def flaky(scenario, seed, **kw):
        if seed == bad_seed and scenario.mechanisms.combat.battle_rate_per_week == 0.35:
            raise RuntimeError("boom")
        return real_run(scenario, seed, **kw)

    monkeypatch.setattr(run_module, "run", flaky)
    report = execute_plan(plan, tmp_path / "out", executor=LocalExecutor(0))
    assert (report.ok, report.failed) == (3, 1)
    store = RunStore(tmp_path / "out")
    assert store.failed() == {"p00001-r00001"}
    failures = pd.read_parquet(tmp_path / "out" / "failures.parquet")
    assert failures["error"].tolist() == ["RuntimeError: boom"]
    assert RunStore(tmp_path / "out").read_manifest()["status"] == "complete with failures"

    monkeypatch.setattr(run_module, "run", real_run)
    report = execute_plan(plan, tmp_path / "out", executor=LocalExecutor(0))
    assert (report.skipped, report.ok, report.failed) == (3, 1, 0)
    assert store.failed() == set() and not (tmp_path / "out" / "failures.parquet").exists()
    assert len(load_outcomes(tmp_path / "out")) == 4


def test_resume_refuses_a_different_sweep_in_the_same_folder(reference, tmp_path):
    path = sweep_file(tmp_path)
    path.write_text(path.read_text().replace("seed: 11", "seed: 12"))
    with pytest.raises(ConfigError, match=r"results of a different sweep .*master seed is 11, not 12"):
        execute_plan(load_sweep(path), reference, executor=LocalExecutor(0))


def test_keep_events_writes_full_event_logs(tmp_path):
    plan = load_sweep(sweep_file(tmp_path, replicates=1), keep_events=True)
    execute_plan(plan, tmp_path / "out", executor=LocalExecutor(0))
    logs = sorted((tmp_path / "out" / "events").glob("*.parquet"))
    assert [p.stem for p in logs] == ["p00000-r00000", "p00001-r00000"]
    ev = pd.read_parquet(logs[0])
    df = load_outcomes(tmp_path / "out")
    assert len(ev) == df.loc[df["run_key"] == "p00000-r00000", "events_total"].item()


def test_sweep_cli_help():
    proc = subprocess.run([sys.executable, "-m", "sahel_sim", "sweep", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0 and "--scheduler" in proc.stdout and "resume" in proc.stdout
