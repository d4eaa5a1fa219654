"""Sweep throughput: runs per minute with 1 and with all local workers, and on a Dask LocalCluster.

Each mode runs the same plan (one scenario, ``--runs`` seeds) through the real sweep engine
(:func:`sahel_sim.experiments.execute_plan`: run, summarise, write one file per run, consolidate)
into a fresh folder, ``--repeats`` times; the table shows medians. Parallel efficiency is
``rate(W workers) / (W x rate(1 worker))``, both measured in this invocation, so it is a ratio
against a reference taken on the same machine under the same load. Pool start-up is included
for local workers (it is part of every sweep); the Dask cluster is started once beforehand, as
a cluster would already be running.

    python benchmarks/bench_sweep.py --runs 24 --repeats 3
    python benchmarks/bench_sweep.py --scenario scenarios/classroom.yaml --runs 100
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sahel_sim.config import load_scenario  # noqa: E402
from sahel_sim.experiments import DaskExecutor, LocalExecutor, execute_plan  # noqa: E402
from sahel_sim.experiments.executors import default_workers  # noqa: E402
from sahel_sim.experiments.seeds import replicate_seeds  # noqa: E402
from sahel_sim.experiments.sweep import Plan, Point  # noqa: E402


def make_plan(scenario_path: Path, runs: int, seed: int) -> Plan:
    sc = load_scenario(scenario_path)
    return Plan(kind="sweep", name=f"bench-{sc.name}", points=(Point(0, "base", {}, sc),),
                seeds=tuple(replicate_seeds(seed, runs)), master_seed=seed, parameters=(), base=sc)


def time_plan(plan: Plan, executor) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        t0 = time.perf_counter()
        report = execute_plan(plan, Path(tmp) / "out", executor=executor)
        dt = time.perf_counter() - t0
    if report.failed:
        raise SystemExit(f"{report.failed} runs failed: {report.failures[0]['error']}")
    return dt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "historical.yaml")
    ap.add_argument("--runs", type=int, default=24, help="runs per measurement (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=3, help="measurements per mode (default: %(default)s)")
    ap.add_argument("--workers", type=int, default=default_workers(), help="'all' workers (default: cores)")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    plan = make_plan(args.scenario, args.runs, args.seed)
    w = args.workers
    modes: list[tuple[str, int, object]] = [("local, 1 worker", 1, LocalExecutor(1)),
                                           (f"local, {w} workers", w, LocalExecutor(w))]
    cluster = client = None
    if not args.no_dask:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=40)
        client = Client(cluster)
        modes.append((f"Dask LocalCluster, {w} workers", w, DaskExecutor(client=client)))

    print(f"scenario {args.scenario.name} ({plan.base.start_date} to {plan.base.end_date}), "
          f"{args.runs} runs x {args.repeats} repeats per mode, {default_workers()} cores", flush=True)
    results = {}
    try:
        for r in range(args.repeats):  # interleave modes so drifting load hits all of them alike
            for name, _, ex in modes:
                dt = time_plan(plan, ex)
                results.setdefault(name, []).append(dt)
                print(f"  repeat {r + 1}: {name:<32} {dt:7.1f} s", flush=True)
    finally:
        if client is not None:
            client.close()
            cluster.close()

    base_rate = args.runs / statistics.median(results[modes[0][0]]) * 60
    print()
    print("| mode | median wall (s) | runs/min | speed-up | parallel efficiency | 1,000 runs (min) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, n, _ in modes:
        med = statistics.median(results[name])
        rate = args.runs / med * 60
        print(f"| {name} | {med:.1f} | {rate:.1f} | {rate / base_rate:.2f} | {rate / (n * base_rate):.0%} | "
              f"{1000 / rate:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
