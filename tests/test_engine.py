"""The one experiment engine: bit-identical results on every executor, worker count and chunk
size; workers write their own runs; calibration's re-evaluation is an option; every seed
comes from seeds.py."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from sahel_sim.config import ConfigError, load_scenario
from sahel_sim.experiments import (
    DASK_SETTINGS,
    DaskExecutor,
    LocalExecutor,
    Plan,
    Point,
    dask_environment,
    execute_plan,
)
from sahel_sim.experiments.engine import auto_chunk_size, execute_task, read_measures
from sahel_sim.experiments.seeds import (
    calibration_rng,
    reevaluation_seeds,
    replicate_seeds,
)
from sahel_sim.experiments.store import RunStore
from sahel_sim.experiments.targets import load_targets
from tests.conftest import ROOT, SCENARIOS
from tests.test_calibration import tiny_config  # noqa: F401 - fixture

END = "2019-03-25"  # a few weeks of the classroom scenario: fast, yet events, deaths and moves


def _plan(*, targets=None, kind: str = "sweep") -> Plan:
    base = load_scenario(SCENARIOS / "classroom.yaml", [f"end_date={END}"])
    other = load_scenario(SCENARIOS / "classroom.yaml", [f"end_date={END}",
                                                         "mechanisms.combat.battle_rate_per_week=0.5"])
    points = (Point(0, "base", {"mechanisms.combat.battle_rate_per_week": base.mechanisms.combat.battle_rate_per_week},
                    base),
              Point(1, "more battles", {"mechanisms.combat.battle_rate_per_week": 0.5}, other))
    return Plan(kind=kind, name="engine-test", points=points, seeds=tuple(replicate_seeds(3, 3)), master_seed=3,
                parameters=("mechanisms.combat.battle_rate_per_week",), base=base, keep_events=targets is None,
                keep_cells=targets is None, targets=targets)


def _fingerprint(out: Path) -> dict[str, str]:
    """What must not depend on the executor: the outcomes table, every event log and per-cell file."""
    files = [out / "outcomes.parquet", *sorted((out / "events").glob("*.parquet")),
             *sorted((out / "cells").glob("*.npz"))]
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.exists()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("engine") / "ref"
    report = execute_plan(_plan(), out, executor=LocalExecutor(0), chunk_size=1)
    assert report.ok == 6 and report.failed == 0
    fp = _fingerprint(out)
    assert len(fp) == 1 + 6 + 6  # outcomes, 6 event logs, 6 cell files
    return fp


@pytest.mark.parametrize(("workers", "chunk"), [(1, 4), (2, 1), (2, 6)])
def test_local_executors_and_chunk_sizes_are_bit_identical(reference, tmp_path, workers, chunk) -> None:
    out = tmp_path / "out"
    report = execute_plan(_plan(), out, executor=LocalExecutor(workers), chunk_size=chunk)
    assert report.ok == 6
    assert _fingerprint(out) == reference
    manifest = RunStore(out).read_manifest()
    assert manifest["chunk_size"] == chunk and manifest["workers_write"] is True


def test_dask_local_cluster_is_bit_identical(reference, tmp_path) -> None:
    """Driver writing what workers send back (chunks of 1), and workers writing their own runs
    into a shared folder (chunks of 4); the cluster started with the recommended settings."""
    distributed = pytest.importorskip("distributed")
    import dask

    with dask.config.set(DASK_SETTINGS), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=40) as cluster, distributed.Client(cluster) as client:
        # the workers took the settings: no statistical profiler sampling the runs
        profiling = client.run(lambda: __import__("dask").config.get("distributed.worker.profile.enabled"))
        assert list(profiling.values()) == [False, False]
        periodic = client.run(lambda dask_worker: sorted(dask_worker.periodic_callbacks))
        assert all("profile" not in names for names in periodic.values())
        said: list[str] = []
        DaskExecutor(client=client, notify=said.append).advise(client)
        assert said == []  # nothing to advise
        for chunk, shared in ((1, False), (4, True)):
            out = tmp_path / f"out-{chunk}"
            report = execute_plan(_plan(), out, executor=DaskExecutor(client=client, shared_filesystem=shared),
                                  chunk_size=chunk)
            assert report.ok == 6
            assert _fingerprint(out) == reference
            assert RunStore(out).read_manifest()["workers_write"] is shared


def test_dask_executor_advises_once_when_workers_run_the_profiler() -> None:
    """A cluster started with Dask's defaults: the executor says once, before its first task,
    that the workers sample the running task every 10 ms, and names the remedy."""
    distributed = pytest.importorskip("distributed")
    said: list[str] = []
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        ex = DaskExecutor(client=client, notify=said.append)
        for _ in range(2):
            done = list(ex.map_unordered(abs, [-3]))
            assert [c.value for c in done] == [3]
    assert len(said) == 1
    assert "1 of 1 Dask workers" in said[0] and "dask_environment()" in said[0]


def test_dask_settings_are_dask_keys_and_survive_the_environment() -> None:
    """Every recommended setting is a key of distributed's own configuration (a key renamed
    upstream fails here), differs from Dask's default, and reads back unchanged from the
    environment variables given to `dask worker` or a batch job."""
    pytest.importorskip("distributed")
    import dask
    import distributed  # noqa: F401 - loads distributed's defaults into dask.config

    env = dask_environment()
    assert set(env) == {"DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL",
                        "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL",
                        "DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL"}
    from_env = dask.config.collect_env(env)
    for key, value in DASK_SETTINGS.items():
        default = dask.config.get(key, default=KeyError)
        assert default is not KeyError, key
        assert default != value, key
        assert dask.config.get(key, config=from_env) == value, key


def test_target_statistics_plans_are_bit_identical_across_executors(tmp_path) -> None:
    """Calibration and validation run through the same engine: their rows too."""
    targets = load_targets(ROOT / "calibration" / "targets.yaml")
    a, b = tmp_path / "a", tmp_path / "b"
    plan = _plan(targets=targets, kind="calibration")
    plan = dataclasses.replace(plan, seeds=plan.seeds[:2])
    execute_plan(plan, a, executor=LocalExecutor(0), chunk_size=1)
    execute_plan(plan, b, executor=LocalExecutor(2), chunk_size=3)
    assert (a / "outcomes.parquet").read_bytes() == (b / "outcomes.parquet").read_bytes()
    frame = read_measures(a)
    assert set(targets.ids) <= set(frame.columns) and len(frame) == 4
    assert RunStore(a).read_manifest()["targets"] == list(targets.ids)


def test_a_folder_of_other_targets_is_refused(tmp_path) -> None:
    targets = load_targets(ROOT / "calibration" / "targets.yaml")
    plan = _plan(targets=targets, kind="calibration")
    execute_plan(dataclasses.replace(plan, seeds=plan.seeds[:1]), tmp_path / "o", executor=LocalExecutor(0))
    fewer = targets.select(targets.ids[:3])
    with pytest.raises(ConfigError, match="measured other targets"):
        execute_plan(dataclasses.replace(plan, targets=fewer), tmp_path / "o", executor=LocalExecutor(0))
    # the same target ids measured another way (a statistic's definition changed): refused too,
    # so no report mixes statistics computed under the old definition with the new
    import yaml

    from sahel_sim.experiments.targets import parse_targets

    data = yaml.safe_load((ROOT / "calibration" / "targets.yaml").read_text(encoding="utf-8"))
    share = next(t for t in data["targets"] if t["id"] == "refugees_2012_share_mauritania")
    share["statistic"].pop("countries")
    changed = parse_targets(data)
    assert changed.ids == targets.ids and changed.statistics_digest() != targets.statistics_digest()
    with pytest.raises(ConfigError, match="under other definitions"):
        execute_plan(dataclasses.replace(plan, targets=changed), tmp_path / "o", executor=LocalExecutor(0))


def test_a_worker_stores_its_own_run(tmp_path) -> None:
    """Where it shares the store's file system, a worker writes the run's files and index line
    itself and sends back only that it did (no central writer)."""
    plan = _plan()
    store = RunStore(tmp_path / "s")
    store.open()
    task = next(iter(plan.tasks(store=str(store.root))))
    res = execute_task(task)
    assert res.ok and res.stored and res.outcomes is None and res.events is None and res.cells is None
    assert store.finished() == {task.key} and set(store.read_index()) == {task.key}
    assert sorted(store.read_index()[task.key]) == [f"cells/{task.key}.npz", f"events/{task.key}.parquet",
                                                     f"runs/{task.key}.parquet"]
    assert store.verify() == []


def test_chunk_size_is_checked_and_chosen(tmp_path) -> None:
    with pytest.raises(ConfigError, match="--chunk-size"):
        execute_plan(_plan(), tmp_path / "x", executor=LocalExecutor(0), chunk_size=0)
    assert not (tmp_path / "x").exists()
    assert auto_chunk_size(10, 16) == 1  # a small plan: one run per task, for balance at the end
    assert auto_chunk_size(10_000, 16) == 4
    assert auto_chunk_size(1000, 2) == 4 and auto_chunk_size(40, 2) == 2


def test_calibration_seeds_come_from_seeds_py() -> None:
    rep = replicate_seeds(20240601, 50)
    fresh = reevaluation_seeds(20240601, 50)
    assert len(set(fresh)) == 50 and not set(fresh) & set(rep)
    assert reevaluation_seeds(20240601, 60)[:50] == fresh  # more seeds keep the first ones
    x = calibration_rng(7, 1).random(4)
    np.testing.assert_array_equal(x, calibration_rng(7, 1).random(4))
    assert not np.array_equal(x, calibration_rng(7, 2).random(4))


def test_reevaluation_is_an_option(tiny_config, capsys) -> None:  # noqa: F811 - the fixture
    from sahel_sim.cli import main

    out = tiny_config.parent / "out-cli"
    code = main(["calibrate", str(tiny_config), "--out", str(out), "--workers", "0", "--quiet", "--no-write",
                 "--reevaluate-top", "0"])
    assert code == 0
    assert not list(out.glob("reevaluate*")) and not (out / "reevaluation.parquet").exists()
    import pandas as pd

    post = pd.read_parquet(out / "posterior.parquet")
    assert "reevaluated_distance" not in post.columns and len(post) == 2
    history = json.loads((out / "history.json").read_text())
    assert [h["generation"] for h in history] == [0, 1]
    for gen in ("gen_000", "gen_001"):  # each generation is a results folder of the engine
        m = RunStore(out / gen).read_manifest()
        assert m["kind"] == "calibration" and m["status"] == "complete"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
@pytest.mark.parametrize(("env", "tuned"), [({"MALLOC_TRIM_THRESHOLD_": "65536"}, True), ({}, False),
                                            ({"MALLOC_TRIM_THRESHOLD_": "65536", "MALLOC_MMAP_THRESHOLD_": "131072"},
                                             False)])
def test_a_worker_started_with_a_fixed_malloc_threshold_gets_the_dynamic_ceiling_back(env, tuned) -> None:
    # a Dask nanny starts its workers with MALLOC_TRIM_THRESHOLD_ set; only then is there anything to undo
    import subprocess

    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    code = ("from sahel_sim.experiments.engine import tune_allocator, execute_chunk; "
            "a = tune_allocator(); execute_chunk([]); print(a, tune_allocator())")
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(tuned), str(tuned)]
