"""Scale-out of the experiment engine: parallel efficiency against the machine's own ceiling.

    python benchmarks/bench_sweep.py                                 # 1, 2, 4, 8, 16 workers (up to the cores)
    python benchmarks/bench_sweep.py --workers 1 2 --runs-per-worker 20 --extrapolate 100
    python benchmarks/bench_sweep.py --scenario scenarios/classroom.yaml --no-dask

In one invocation it measures, in ``--repeats`` rounds (every configuration once a round, in
the same order, so that a change of the machine's load reaches all of them alike; every ratio
is taken within a round, and the figures are medians over the rounds):

1. **The machine's ceiling.** For each worker count W, W independent processes each run the
   model ``--ceiling-runs`` times with no engine at all (no pool, no store, no pickling), and
   one process does the same alone (each process makes one untimed run first, as a sweep worker
   loads numba and its kernels once). ``slowdown(W)`` = median per-run time concurrent / median
   per-run time alone (shared caches, memory bandwidth, turbo); the best parallel efficiency
   any engine could reach is ``ceiling(W) = 1 / slowdown(W)``.
2. **The engine's efficiency.** The same plan (one scenario, W x ``--runs-per-worker`` seeds;
   at the largest W, ``--extrapolate`` runs when that is more) through
   :func:`sahel_sim.experiments.execute_plan` (run, measure, write one checksummed file per
   run, consolidate) on W local worker processes and on a Dask LocalCluster of W
   single-threaded workers started with :data:`sahel_sim.experiments.DASK_SETTINGS`
   (``--dask-config default``: Dask's own defaults; ``both``: the two side by side).
   ``efficiency(W) = rate(W) / (W x rate(1 local worker))``; ``of ceiling = efficiency /
   ceiling``. Pool start-up is included for local workers (every sweep pays it); the Dask
   cluster is started before timing, as a cluster would already run.
3. **1,000 runs on this machine.** The plan of the largest W (at least 100 runs) on all W
   local workers; the time for 1,000 is its median wall time x 1000 / runs.

Every rate is taken in this invocation, so the ratios hold on a loaded machine only as far as
the load stays even: run it on a quiet machine, and read the load average it prints.
``--json PATH`` also writes every measurement; ``--report PATH`` prints the summary of such a
file again without measuring anything.
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
from sahel_sim.experiments.executors import DASK_SETTINGS, default_workers  # noqa: E402
from sahel_sim.experiments.seeds import replicate_seeds  # noqa: E402
from sahel_sim.io.manifest import git_commit  # noqa: E402

_ALONE = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, {root!r})
    from sahel_sim.config import load_scenario
    from sahel_sim.run import run
    sc = load_scenario({path!r})
    run(sc, {warm!r})  # a first run loads numba and its kernels: a sweep worker pays that once, not per run
    go = {go!r}
    late = time.time() - go  # > 0: the imports and the first run took longer than the wait
    while time.time() < go:  # every process starts its runs at the same moment
        time.sleep(0.002)
    times = []
    for seed in {seeds!r}:
        t0 = time.perf_counter()
        run(sc, seed)
        times.append(time.perf_counter() - t0)
    print(json.dumps({{"times": times, "late_s": late}}))
    """
)


def ceiling_times(scenario: Path, n_procs: int, runs: int, seed0: int) -> list[float]:
    """Per-run model times of ``n_procs`` independent processes started together (no engine)."""
    go = time.time() + 12.0 + 0.5 * n_procs  # time for every process to import and make its first run
    procs = [subprocess.Popen([sys.executable, "-c", _ALONE.format(
        root=str(ROOT), path=str(scenario), go=go, warm=seed0 + 999_999,
        seeds=[seed0 + 1000 * i + r for r in range(runs)])],
        stdout=subprocess.PIPE, text=True, cwd=ROOT) for i in range(n_procs)]
    times: list[float] = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a ceiling process failed (exit {p.returncode})")
        rec = json.loads(out.strip().splitlines()[-1])
        if rec["late_s"] > 0:
            print(f"  warning: a ceiling process started {rec['late_s']:.1f} s late (its imports and first run "
                  "outlasted the wait): its runs overlapped the others' only in part", flush=True)
        times += rec["times"]
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


def time_dask(plan: Plan, workers: int, settings: dict, chunk_size: int | None = None) -> float:
    """Wall time of ``plan`` on a fresh Dask LocalCluster of ``workers`` single-threaded workers
    started with the Dask configuration ``settings`` (started and warmed up before the clock
    starts, as a cluster would already run)."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(settings), LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                 dashboard_address=None, silence_logs=40) as cluster, \
            Client(cluster) as client:
        client.run(lambda: __import__("sahel_sim.experiments.engine", fromlist=["warm_up"]).warm_up())
        # the cluster's workers share this machine's file system: they write their runs themselves
        return time_plan(plan, DaskExecutor(client=client, shared_filesystem=True), chunk_size)


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


def report(data: dict) -> list[dict]:
    """Print the summary of a benchmark's measurements (``data`` as ``--json`` writes it) and
    return its table rows. Every ratio is taken within a round (a round's rate at W workers
    against the same round's 1-worker rate and the same round's ceiling) and the median over
    the rounds is reported, so that a fast round is never set against a slow one."""
    counts = sorted(int(w) for w in data["ceiling"])
    kinds = [k for k in ("local", "dask_tuned", "dask_default") if k in data]
    n_rounds = len(data["ceiling"]["1"])

    def per_run(w: int, r: int) -> float:  # round r's median model time per run, W at once
        return statistics.median(data["ceiling"][str(w)][r])

    def rate(kind: str, w: int, r: int) -> float:
        m = data[kind][str(w)][r]
        return m["runs"] / m["wall_s"] * 60

    med = statistics.median
    ceiling = {w: [per_run(1, r) / per_run(w, r) for r in range(n_rounds)] for w in counts}
    print(f"\nmodel alone: median {med(per_run(1, r) for r in range(n_rounds)):.2f} s per run (median of "
          f"{n_rounds} rounds)")
    for w in counts[1:]:
        print(f"model, {w} at once: median {med(per_run(w, r) for r in range(n_rounds)):.2f} s per run -> "
              f"ceiling {med(ceiling[w]):.0%} (slowdown {1 / med(ceiling[w]):.3f}; rounds "
              f"{', '.join(f'{c:.0%}' for c in ceiling[w])})")
    label = {"local": "local processes", "dask_tuned": "Dask LocalCluster, DASK_SETTINGS",
             "dask_default": "Dask LocalCluster, Dask's defaults"}
    print()
    print(f"| executor | workers | runs | runs/min (median of {n_rounds}; range) | efficiency "
          "| machine ceiling (slowdown) | of ceiling |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for kind in kinds:
        for w in counts:
            rs = [rate(kind, w, r) for r in range(n_rounds)]
            eff = [rs[r] / (w * rate("local", 1, r)) for r in range(n_rounds)]
            of = [eff[r] / ceiling[w][r] for r in range(n_rounds)]
            row = {"executor": kind, "workers": w, "runs": data[kind][str(w)][0]["runs"], "runs_per_min": med(rs),
                   "runs_per_min_rounds": rs, "efficiency": med(eff), "efficiency_rounds": eff,
                   "ceiling": med(ceiling[w]), "ceiling_rounds": ceiling[w], "of_ceiling": med(of),
                   "of_ceiling_rounds": of}
            rows.append(row)
            print(f"| {label[kind]} | {w} | {row['runs']} | {med(rs):.1f} ({min(rs):.1f}-{max(rs):.1f}) | "
                  f"{med(eff):.0%} | {med(ceiling[w]):.0%} ({1 / med(ceiling[w]):.2f}) | {med(of):.0%} |")
    data["table"] = rows
    w = counts[-1]
    walls = [m["wall_s"] for m in data["local"][str(w)]]
    runs = data["local"][str(w)][0]["runs"]
    if runs >= 100:
        minutes = med(walls) * 1000 / runs / 60
        data["extrapolation"] = {"workers": w, "runs": runs, "wall_s": walls, "minutes_per_1000": minutes}
        print(f"\n1,000 runs on this machine ({w} local workers, from {runs} runs in a median "
              f"{med(walls):.0f} s over {len(walls)} rounds): {minutes:.1f} min")
    return rows


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
    ap.add_argument("--dask-config", choices=("tuned", "default", "both"), default="tuned",
                    help="the LocalCluster's Dask settings: sahel_sim.experiments.DASK_SETTINGS (tuned), "
                         "Dask's defaults, or both in the same rounds (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="rounds of every measurement; the figures are medians over them (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="also write every measurement here")
    ap.add_argument("--report", type=Path, default=None, metavar="JSON",
                    help="measure nothing: print the summary of the measurements a --json file holds")
    args = ap.parse_args(argv)
    if args.report is not None:
        data = json.loads(args.report.read_text())
        print(f"# bench_sweep measurements of {data['date']}, commit {data['commit']}, {data['machine']}")
        report(data)
        return 0
    if args.runs_per_worker < 20:
        ap.error("--runs-per-worker: at least 20 (fewer runs measure pool start-up, not throughput)")
    if args.repeats < 1:
        ap.error("--repeats: at least 1")
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
                  "load_before": os.getloadavg(), "ceiling": {}, "local": {}}

    # Every measurement is repeated in --repeats rounds; a round measures every configuration
    # once, in the same order, so that a change of the machine's load reaches all of them alike.
    # report() takes every ratio within a round and gives medians over the rounds.
    dask_modes = [] if args.no_dask else {"tuned": ["tuned"], "default": ["default"],
                                           "both": ["tuned", "default"]}[args.dask_config]
    runs_at = {w: max(w * args.runs_per_worker, args.extrapolate if w == counts[-1] else 0) for w in counts}
    plans = {w: make_plan(args.scenario, runs_at[w], args.seed) for w in counts}
    for kind in ("local", *(f"dask_{m}" for m in dask_modes)):
        data[kind] = {str(w): [] for w in counts}
    data["ceiling"] = {str(w): [] for w in counts}
    for r in range(args.repeats):
        print(f"round {r + 1} of {args.repeats} (load average {os.getloadavg()[0]:.2f})", flush=True)
        # 1. the ceiling: model runs with no engine, alone and W at once
        for w in counts:
            times = ceiling_times(args.scenario, w, args.ceiling_runs, args.seed)
            data["ceiling"][str(w)].append(times)
            print(f"  model, {w} at once: median {statistics.median(times):.2f} s per run", flush=True)
        # 2. the engine: local worker processes, then a Dask LocalCluster
        for w in counts:
            wall = time_plan(plans[w], LocalExecutor(w), args.chunk_size)
            data["local"][str(w)].append({"runs": runs_at[w], "wall_s": wall})
            print(f"  engine, {w} local workers: {runs_at[w]} runs in {wall:.1f} s "
                  f"({runs_at[w] / wall * 60:.1f} runs/min)", flush=True)
        for mode in dask_modes:
            for w in counts:
                wall = time_dask(plans[w], w, DASK_SETTINGS if mode == "tuned" else {}, args.chunk_size)
                data[f"dask_{mode}"][str(w)].append({"runs": runs_at[w], "wall_s": wall})
                print(f"  engine, Dask LocalCluster ({mode} settings), {w} workers: {runs_at[w]} runs in "
                      f"{wall:.1f} s ({runs_at[w] / wall * 60:.1f} runs/min)", flush=True)
    data["load_after"] = os.getloadavg()

    report(data)
    print(f"load average before {data['load_before'][0]:.2f}, after {data['load_after'][0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
