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
        "(CSV and Parquet), weekly regional series, cell snapshots and manifest.json; with --figure also "
        "summary.png (or draw it later: sahel-sim plot OUT).",
    )
    add_scenario_args(p)
    p.add_argument("--seed", type=int, default=None, help="random seed (default: drawn, printed and recorded)")
    p.add_argument("--out", type=Path, default=None, help="results folder (default: results/<scenario>-<seed>/)")
    p.add_argument("--figure", action="store_true",
                   help="also draw summary.png (events by actor, civilian deaths, control map; adds ~2 s)")
    p.add_argument("--no-plot", action="store_true", help=argparse.SUPPRESS)  # the old default-on switch; no-op
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


MAX_SEED = 2**63 - 1


def main(args: argparse.Namespace) -> int:
    from sahel_sim.config.errors import ConfigError

    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:  # before any heavy import
        raise ConfigError(f"--seed: expected an integer from 0 to 2**63-1, got {args.seed}")
    from sahel_sim.cli import process

    with process.importing():
        # Mesa first, from this shallow stack: its import calls inspect.stack(), which reads
        # every frame's source and scans sys.modules for each importlib frame; from deep inside
        # the model's own imports that took 0.3 s instead of 0.15 s (python -X importtime)
        import mesa  # noqa: F401

        from sahel_sim.config import load_scenario
        from sahel_sim.io.atomic import staged_folder
        from sahel_sim.io.results import write_run
        from sahel_sim.run import run

    scenario = load_scenario(args.scenario, args.set or ())
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    out = args.out or Path("results") / f"{scenario.name}-{seed}"
    replace = check_out_folder(out, scenario, seed)
    if args.seed is None:
        print(f"seed: {seed} (drawn; pass --seed {seed} to repeat this run)")
    with progress_bar(f"{scenario.name} seed {seed}", enabled=not args.quiet) as progress:
        result = run(scenario, seed, progress=progress)
    process.collect_run()
    # the whole folder is written aside and renamed into place: a full disk or a kill
    # leaves the old folder as it was, never one run's files beside another's
    with staged_folder(out, replace=replace) as tmp:
        write_run(result, tmp, staged=True)
        if args.figure and not args.no_plot:
            from sahel_sim.viz.figures import summary_figure

            summary_figure(result, tmp / "summary.png")
    n_events = result.events.num_rows
    print(f"{scenario.name} seed {seed}: {result.n_steps} weeks, {n_events} events, "
          f"{result.wall_time_s:.2f} s -> {out}", file=sys.stdout)
    return 0


def check_out_folder(out: Path, scenario, seed: int) -> bool:
    """May ``out`` receive this run? False: it does not exist (or is empty); True: it holds this
    very run (same scenario and seed: identical results), which is replaced. Anything else
    (another seed's or scenario's results, or files that are not a run) is refused."""
    import json

    from sahel_sim.config import ConfigError, scenario_to_data

    if not out.exists():
        return False
    if not out.is_dir():
        raise ConfigError(f"--out {out}: is a file; expected a results folder")
    if not any(out.iterdir()):
        return True
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        same = (manifest.get("seed") == seed and json.dumps(manifest.get("scenario"), sort_keys=True)
                == json.dumps(scenario_to_data(scenario), sort_keys=True, default=str))
        held = f"seed {manifest.get('seed')} of scenario {manifest.get('scenario_name')}"
    except (OSError, ValueError, AttributeError):
        same, held = False, "files that are not a readable sahel-sim run"
    if not same:
        raise ConfigError(f"--out {out}: already holds other results ({held}); choose another --out")
    return True
