"""``sahel-sim run SCENARIO``: one seeded run, written to a results folder."""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from sahel_sim.cli.common import add_scenario_args, progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run one scenario with one seed and write its results folder",
        description="Run a scenario from its start to its end date and write the ACLED-style event log "
        "(CSV and Parquet), weekly regional series, cell snapshots, manifest.json and summary.png.",
    )
    add_scenario_args(p)
    p.add_argument("--seed", type=int, default=None, help="random seed (default: drawn, printed and recorded)")
    p.add_argument("--out", type=Path, default=None, help="results folder (default: results/<scenario>-<seed>/)")
    p.add_argument("--no-plot", action="store_true", help="skip summary.png")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from sahel_sim.config import load_scenario
    from sahel_sim.io.results import write_run
    from sahel_sim.run import run

    scenario = load_scenario(args.scenario, args.set or ())
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    if args.seed is None:
        print(f"seed: {seed} (drawn; pass --seed {seed} to repeat this run)")
    if seed < 0:
        from sahel_sim.config import ConfigError

        raise ConfigError(f"--seed: expected a non-negative integer, got {seed}")
    out = args.out or Path("results") / f"{scenario.name}-{seed}"
    with progress_bar(f"{scenario.name} seed {seed}", enabled=not args.quiet) as progress:
        result = run(scenario, seed, progress=progress)
    write_run(result, out)
    if not args.no_plot:
        from sahel_sim.viz.figures import summary_figure

        summary_figure(result, out / "summary.png")
    n_events = result.events.num_rows
    print(f"{scenario.name} seed {seed}: {result.n_steps} weeks, {n_events} events, "
          f"{result.wall_time_s:.2f} s -> {out}", file=sys.stdout)
    return 0
