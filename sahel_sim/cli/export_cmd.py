"""``sahel-sim export flee RESULTS_DIR``: a run's network and violence as Flee input files."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a run's results for other models (Flee)",
                       description="Export a run's results folder for other models.")
    kinds = p.add_subparsers(dest="export_kind", metavar="FORMAT", required=True)
    f = kinds.add_parser("flee", help="Flee input files (locations, routes, conflicts, closures, sim_period)",
                         description="Write the displacement network (Mali's towns, crossings, camps abroad and routes), "
                         "the conflict intensity of each location per day from the run's violent events, the dated "
                         "border and camp closures and the simulation period, in Flee's documented CSV layout "
                         "(github.com/djgroen/flee, docs/Simulation_instance_construction.md).")
    f.add_argument("results_dir", type=Path, metavar="RESULTS_DIR", help="a run's results folder (sahel-sim run)")
    f.add_argument("--out", type=Path, default=None, help="output folder (default: RESULTS_DIR/flee/input_csv)")
    f.add_argument("--window-days", type=int, default=28,
                   help="a location is in conflict on a day with a violent event in its catchment within this many "
                   "preceding days (default: %(default)s)")
    f.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from sahel_sim.config import ConfigError
    from sahel_sim.export.flee import FILES, export_flee

    if args.window_days < 1:
        raise ConfigError(f"--window-days: expected a positive number of days, got {args.window_days}")
    out = export_flee(args.results_dir, args.out, window_days=args.window_days)
    print(f"Flee input ({', '.join(FILES)}) -> {out}")
    return 0
