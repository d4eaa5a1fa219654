"""Scale-out of the experiment engine: parallel efficiency against the machine's own ceiling.

    python benchmarks/bench_sweep.py                                 # 1, 2, 4, 8, 16 workers (up to the cores)
    python benchmarks/bench_sweep.py --workers 1 2 --runs-per-worker 20 --extrapolate 100
    python benchmarks/bench_sweep.py --scenario scenarios/classroom.yaml --no-dask

In one invocation it measures:

1. **The machine's ceiling.** For each worker count W, W independent processes each run the
   model ``--ceiling-runs`` times with no engine at all (no pool, no store, no pickling), and
   one process does the same alone. ``slowdown(W)`` = median per-run time concurrent / median
   per-run time alone (shared caches, memory bandwidth, turbo); the best parallel efficiency
   any engine could reach is ``ceiling(W) = 1 / slowdown(W)``.
2. **The engine's efficiency.** The same plan (one scenario, W x ``--runs-per-worker`` seeds)
   through :func:`sahel_sim.experiments.execute_plan` (run, measure, write one checksummed file
   per run, consolidate) on W local worker processes and on a Dask LocalCluster of W
   single-threaded workers. ``efficiency(W) = rate(W) / (W x rate(1 local worker))``;
   ``of ceiling = efficiency / ceiling``. Pool start-up is included for local workers (every
   sweep pays it); the Dask cluster is started before timing, as a cluster would already run.
3. **1,000 runs on this machine.** A plan of ``--extrapolate`` runs (at least 100) on all W
   local workers; the time for 1,000 is its wall time x 1000 / runs.

Every rate is taken in this invocation, so the ratios hold on a loaded machine only as far as
the load stays even: run it on a quiet machine, and read the load average it prints.
``--json PATH`` also writes every measurement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sahel_sim.config import load_scenario  # noqa: E402
from sahel_sim.experiments import DaskExecutor, LocalExecutor, Plan, Point, execute_plan  # noqa: E402
from sahel_sim.experiments.executors import default_workers  # noqa: E402
from sahel_sim.experiments.seeds import replicate_seeds  # noqa: E402
from sahel_sim.io.manifest import git_commit  # noqa: E402

_ALONE = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, {root!r})
    from sahel_sim.config import load_scenario
    from sahel_sim.run import run
    sc = load_scenario({path!r})
    go = {go!r}
    while time.time() < go:  # every process starts its runs at the same moment
        time.sleep(0.002)
    times = []
    for seed in {seeds!r}:
        t0 = time.perf_counter()
        run(sc, seed)
        times.append(time.perf_counter() - t0)
    print(json.dumps(times))
    """
)


def ceiling_times(scenario: Path, n_procs: int, runs: int, seed0: int) -> list[float]:
    """Per-run model times of ``n_procs`` independent processes started together (no engine)."""
    go = time.time() + 8.0 + 0.5 * n_procs  # time for every process to import and load first
    procs = [subprocess.Popen([sys.executable, "-c", _ALONE.format(
        root=str(ROOT), path=str(scenario), go=go, seeds=[seed0 + 1000 * i + r for r in range(runs)])],
        stdout=subprocess.PIPE, text=True, cwd=ROOT) for i in range(n_procs)]
    times: list[float] = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a ceiling process failed (exit {p.returncode})")
        times += json.loads(out.strip().splitlines()[-1])
    return times


def make_plan(scenario_path: Path, runs: int, seed: int) -> Plan:
    sc = load_scenario(scenario_path)
    return Plan(kind="sweep", name=f"bench-{sc.name}", points=(Point(0, "base", {}, sc),),
                seeds=tuple(replicate_seeds(seed, runs)), master_seed=seed, parameters=(), base=sc)


def time_plan(plan: Plan, executor, chunk_size: int | None = None) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        t0 = time.perf_counter()
        report = execute_plan(plan, Path(tmp) / "out", executor=executor, chunk_size=chunk_size)
        elapsed = time.perf_counter() - t0
    if report.failed:
        raise SystemExit(f"{report.failed} runs failed: {report.failures[0]['error']}")
    return elapsed


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, {default_workers()} usable cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "historical.yaml")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8, 16],
                    help="worker counts (capped by the usable cores; default: %(default)s)")
    ap.add_argument("--runs-per-worker", type=int, default=20, help="engine runs per worker (default: %(default)s)")
    ap.add_argument("--ceiling-runs", type=int, default=3, help="model runs per ceiling process (default: %(default)s)")
    ap.add_argument("--extrapolate", type=int, default=100,
                    help="runs of the 1,000-run extrapolation (at least 100; 0 skips it; default: %(default)s)")
    ap.add_argument("--chunk-size", type=int, default=None, help="runs per task (default: the engine's choice)")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="also write every measurement here")
    args = ap.parse_args(argv)
    if args.runs_per_worker < 20:
        ap.error("--runs-per-worker: at least 20 (fewer runs measure pool start-up, not throughput)")
    if args.extrapolate and args.extrapolate < 100:
        ap.error("--extrapolate: at least 100 runs (or 0 to skip)")

    cores = default_workers()
    counts = sorted({w for w in args.workers if 1 <= w <= cores} | {1})
    sc = load_scenario(args.scenario)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# bench_sweep: {args.scenario.name} ({sc.start_date} to {sc.end_date}), workers {counts}, "
          f"{args.runs_per_worker} runs per worker")
    print(f"commit {git_commit()}, {stamp}, {machine()}, load average {os.getloadavg()[0]:.2f}", flush=True)
    data: dict = {"scenario": str(args.scenario), "commit": git_commit(), "date": stamp, "machine": machine(),
                  "load_before": os.getloadavg(), "ceiling": {}, "local": {}, "dask": {}}

    # 1. the ceiling: model runs with no engine, alone and W at once
    alone = ceiling_times(args.scenario, 1, args.ceiling_runs, args.seed)
    t_alone = statistics.median(alone)
    data["ceiling"]["1"] = alone
    print(f"model alone: median {t_alone:.2f} s per run ({len(alone)} runs)", flush=True)
    ceiling = {1: 1.0}
    for w in counts[1:]:
        times = ceiling_times(args.scenario, w, args.ceiling_runs, args.seed)
        data["ceiling"][str(w)] = times
        ceiling[w] = t_alone / statistics.median(times)
        print(f"model, {w} at once: median {statistics.median(times):.2f} s per run -> slowdown "
              f"{1 / ceiling[w]:.3f}, ceiling {ceiling[w]:.0%}", flush=True)

    # 2. the engine, local and Dask
    rates: dict[tuple[str, int], float] = {}
    for w in counts:
        n = w * args.runs_per_worker
        if w == counts[-1] and args.extrapolate:
            n = max(n, args.extrapolate)
        plan = make_plan(args.scenario, n, args.seed)
        wall = time_plan(plan, LocalExecutor(w), args.chunk_size)
        rates[("local", w)] = n / wall * 60
        data["local"][str(w)] = {"runs": n, "wall_s": wall}
        print(f"engine, {w} local workers: {n} runs in {wall:.1f} s ({rates[('local', w)]:.1f} runs/min)", flush=True)
    if not args.no_dask:
        from distributed import Client, LocalCluster

        for w in counts:
            n = w * args.runs_per_worker
            plan = make_plan(args.scenario, n, args.seed)
            with LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None,
                              silence_logs=40) as cluster, Client(cluster) as client:
                client.run(lambda: __import__("sahel_sim.experiments.engine", fromlist=["warm_up"]).warm_up())
                # the cluster's workers share this machine's file system: they write their runs themselves
                wall = time_plan(plan, DaskExecutor(client=client, shared_filesystem=True), args.chunk_size)
            rates[("dask", w)] = n / wall * 60
            data["dask"][str(w)] = {"runs": n, "wall_s": wall}
            print(f"engine, Dask LocalCluster {w} workers: {n} runs in {wall:.1f} s "
                  f"({rates[('dask', w)]:.1f} runs/min)", flush=True)
    data["load_after"] = os.getloadavg()

    base = rates[("local", 1)]
    print()
    print("| executor | workers | runs | runs/min | efficiency | machine ceiling (slowdown) | of ceiling |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for (kind, w), rate in sorted(rates.items(), key=lambda kv: (kv[0][0] != "local", kv[0][1])):
        eff = rate / (w * base)
        runs = data[kind][str(w)]["runs"]
        rows.append({"executor": kind, "workers": w, "runs": runs, "runs_per_min": rate, "efficiency": eff,
                     "ceiling": ceiling[w], "of_ceiling": eff / ceiling[w]})
        print(f"| {'local processes' if kind == 'local' else 'Dask LocalCluster'} | {w} | {runs} | {rate:.1f} | "
              f"{eff:.0%} | {ceiling[w]:.0%} ({1 / ceiling[w]:.2f}) | {eff / ceiling[w]:.0%} |")
    data["table"] = rows
    if args.extrapolate:
        w = counts[-1]
        rec = data["local"][str(w)]
        minutes = rec["wall_s"] * 1000 / rec["runs"] / 60
        data["extrapolation"] = {"workers": w, "runs": rec["runs"], "wall_s": rec["wall_s"],
                                 "minutes_per_1000": minutes}
        print(f"\n1,000 runs on this machine ({w} local workers, from {rec['runs']} runs in "
              f"{rec['wall_s']:.0f} s): {minutes:.1f} min")
    print(f"load average before {data['load_before'][0]:.2f}, after {data['load_after'][0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
