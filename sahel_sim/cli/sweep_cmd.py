"""``sahel-sim sweep``, ``compare`` and ``sensitivity``: many seeded runs.

Thin: parse arguments, build a plan with :mod:`sahel_sim.experiments`, run it on local
worker processes or a Dask cluster, print where the results are. Interrupting (Ctrl-C) keeps
every finished run; rerunning the same command resumes.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from sahel_sim.cli.common import add_executor_args, make_executor
from sahel_sim.cli.common import note as _note

EXECUTOR_HELP = ("Runs execute on local worker processes (--workers, default all cores) or on a Dask "
                 "distributed cluster (--scheduler tcp://host:8786); results are identical either way.")


def _add_executor_args(p: argparse.ArgumentParser) -> None:
    add_executor_args(p)
    p.add_argument("--out", type=Path, default=None, help="results folder (default: see above)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="run a parameter sweep (grid, Latin hypercube or Sobol') with replicates",
        description="Run every design point of a sweep file with the same replicate seeds (common random "
        "numbers) and write one tidy row per run to OUT/outcomes.parquet, with OUT/manifest.json. Each "
        "finished run is saved at once: after a crash, kill or Ctrl-C, rerun the same command to resume. "
        + EXECUTOR_HELP, epilog="Default OUT: results/sweeps/<sweep name>/. Example sweep file: "
        "scenarios/sweeps/minusma_strength.yaml")
    p.add_argument("sweep", type=Path, help="sweep YAML file")
    p.add_argument("--keep-events", action="store_true", default=None,
                   help="also keep every run's full event log (OUT/events/)")
    p.add_argument("--dry-run", action="store_true", help="validate the sweep and list its design points, run nothing")
    _add_executor_args(p)
    p.set_defaults(func=main_sweep)

    p = sub.add_parser(
        "compare", help="paired counterfactual comparison of two scenarios on the same seeds",
        description="Run scenarios A and B on the same N seeds and report paired differences B - A per "
        "outcome with bootstrap confidence intervals and the probability that B is worse than A, as "
        "OUT/report.md and a self-contained OUT/report.html (headline, window, divergence date, what the "
        "intervals cover, the model's known misses, figures) and OUT/differences.csv. Both arms must cover "
        "the same window from the same starting state (exit status 2 otherwise). Resumable like sweep. "
        + EXECUTOR_HELP,
        epilog="Default OUT: results/compare/<A name>-vs-<B name>/. Example: sahel-sim compare "
        "scenarios/historical.yaml scenarios/minusma_stays.yaml --replicates 30 --seed 1")
    p.add_argument("a", type=Path, help="scenario A (e.g. the historical withdrawal)")
    p.add_argument("b", type=Path, help="scenario B (the counterfactual)")
    p.add_argument("--replicates", type=int, default=30, help="paired runs per arm (default: %(default)s)")
    p.add_argument("--seed", type=int, default=None,
                   help="master seed (default: the folder's, when resuming; else drawn and printed)")
    p.add_argument("--set", action="append", metavar="KEY.PATH=VALUE",
                   help="override a value in both scenarios (repeatable), e.g. --set end_date=2024-06-24")
    p.add_argument("--outcome", action="append", metavar="NAME",
                   help="add an outcome column to the report's table (repeatable)")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (default: %(default)s)")
    p.add_argument("--posterior", type=Path, default=None, metavar="PARQUET",
                   help="draw each pair's parameters from a calibration posterior (e.g. "
                        "calibration/posterior.parquet), so the intervals cover parameter uncertainty too")
    p.add_argument("--validation", type=Path, default=Path("calibration/validation.md"), metavar="MD",
                   help="validation report whose misses the report lists (default: %(default)s)")
    _add_executor_args(p)
    p.set_defaults(func=main_compare)

    p = sub.add_parser(
        "sensitivity", help="global sensitivity analysis (Sobol' or Morris, with SALib)",
        description="Sample the parameter ranges of a sensitivity file with SALib, run each sample with "
        "replicates (averaged to remove noise), and write indices with confidence intervals "
        "(OUT/indices.csv and .parquet) and a bar plot (OUT/sensitivity.png). Resumable like sweep. "
        + EXECUTOR_HELP, epilog="Default OUT: results/sensitivity/<name>/. Example file: "
        "scenarios/sensitivity/core.yaml")
    p.add_argument("problem", type=Path, help="sensitivity YAML file (parameter ranges, method, outcomes)")
    p.add_argument("--dry-run", action="store_true", help="validate and print the number of runs, run nothing")
    _add_executor_args(p)
    p.set_defaults(func=main_sensitivity)


# --------------------------------------------------------------------------- helpers
def _command() -> str:
    return "sahel-sim " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _run(plan, out: Path, args: argparse.Namespace, label: str):
    """Execute a plan; on Ctrl-C say how to resume and exit 130."""
    from sahel_sim.cli.progress import RunProgress
    from sahel_sim.experiments.engine import execute_plan
    from sahel_sim.experiments.executors import NoWorkersError

    executor = make_executor(args)
    connect = getattr(executor, "connect", None)
    if connect is not None:
        connect()  # an unreachable scheduler fails here, before the output folder exists
    print(f"{label}: {len(plan.points)} points x {len(plan.seeds)} replicates = {plan.n_runs} runs "
          f"-> {out}", flush=True)
    try:
        with RunProgress(label, enabled=not args.quiet) as progress:
            report = execute_plan(plan, out, executor=executor, progress=progress, command=_command(), notify=_note,
                                  chunk_size=args.chunk_size, label=label)
    except NoWorkersError as exc:
        from sahel_sim.experiments.store import RunStore

        n = len(RunStore(out).finished())
        print(f"sahel-sim: error: {exc}\n{n} of {plan.n_runs} runs are saved in {out}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        from sahel_sim.experiments.store import RunStore

        n = len(RunStore(out).finished())
        print(f"\ninterrupted: {n} of {plan.n_runs} runs are saved in {out}; "
              "rerun the same command to finish the rest", file=sys.stderr)
        raise SystemExit(130) from None
    print(f"{report.ok} runs done, {report.skipped} already done, {report.failed} failed "
          f"in {report.wall_time_s:.1f} s")
    for f in report.failures[:5]:
        print(f"  failed {f['run_key']} (seed {f['seed']}): {f['error']}", file=sys.stderr)
    if report.failed:
        print(f"  details in {out}/failed/; rerun the same command to retry them", file=sys.stderr)
    return report


# --------------------------------------------------------------------------- commands
def main_sweep(args: argparse.Namespace) -> int:
    from sahel_sim.experiments.sweep import load_sweep

    plan = load_sweep(args.sweep, keep_events=args.keep_events)
    out = args.out or Path("results") / "sweeps" / plan.name
    if args.dry_run:
        print(f"{args.sweep}: valid; {len(plan.points)} design points x {len(plan.seeds)} replicates "
              f"= {plan.n_runs} runs (seeds {', '.join(map(str, plan.seeds[:3]))}{', ...' if len(plan.seeds) > 3 else ''})")
        for p in plan.points[:20]:
            print(f"  point {p.index}: {p.label}")
        if len(plan.points) > 20:
            print(f"  ... {len(plan.points) - 20} more")
        return 0
    report = _run(plan, out, args, f"sweep {plan.name}")
    print(f"outcomes: {out / 'outcomes.parquet'}")
    return 1 if report.failed else 0


def main_compare(args: argparse.Namespace) -> int:
    import secrets

    from sahel_sim.config import ConfigError
    from sahel_sim.experiments.compare import plan_compare, write_compare_report
    from sahel_sim.experiments.store import RunStore

    if args.replicates < 2:
        raise ConfigError(f"--replicates: expected at least 2 paired runs, got {args.replicates}")
    if args.seed is not None and args.seed < 0:
        raise ConfigError(f"--seed: expected a non-negative integer, got {args.seed}")
    plan = plan_compare(args.a, args.b, replicates=args.replicates, seed=0, overrides=args.set or (),
                        posterior=args.posterior)
    out = args.out or Path("results") / "compare" / f"{plan.points[0].scenario.name}-vs-{plan.points[1].scenario.name}"
    seed = args.seed
    if seed is None:
        old = RunStore(out).read_manifest() or {}
        seed = old.get("master_seed") if old.get("kind") == "compare" else None
        if seed is None:
            seed = secrets.randbelow(2**31)
            print(f"seed: {seed} (drawn; pass --seed {seed} to repeat this comparison)")
        else:
            print(f"seed: {seed} (from {out}/manifest.json)")
    if args.posterior is not None:
        plan = plan_compare(args.a, args.b, replicates=args.replicates, seed=seed, overrides=args.set or (),
                            posterior=args.posterior)
    else:
        plan = plan_compare(args.a, args.b, replicates=args.replicates, seed=seed, overrides=args.set or ())
    report = _run(plan, out, args, f"compare {plan.name}")
    if report.finished < 2:
        raise ConfigError(f"{out}: fewer than two paired runs finished; nothing to compare")
    path = write_compare_report(out, extra_outcomes=args.outcome or (), n_boot=args.bootstrap,
                                validation=args.validation)
    print(f"report: {path} and {path.with_suffix('.html')}")
    return 1 if report.failed else 0


def main_sensitivity(args: argparse.Namespace) -> int:
    from sahel_sim.experiments.sensitivity import analyse_sensitivity, load_sensitivity

    problem, plan = load_sensitivity(args.problem)
    out = args.out or Path("results") / "sensitivity" / plan.name
    if args.dry_run:
        print(f"{args.problem}: valid; {problem.method} with {len(plan.points)} samples x {len(plan.seeds)} "
              f"replicates = {plan.n_runs} runs")
        return 0
    report = _run(plan, out, args, f"sensitivity {plan.name}")
    paths = analyse_sensitivity(problem, plan, out, source=str(args.problem))
    for p in paths:
        print(p)
    warnings = out / "warnings.txt"
    if warnings.exists():
        for line in warnings.read_text(encoding="utf-8").splitlines():
            print(f"warning: {line}", file=sys.stderr)
    return 1 if report.failed else 0
