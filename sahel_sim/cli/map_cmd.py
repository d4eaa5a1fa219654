"""``sahel-sim map``: the Mali grid as a slide-ready PNG."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("map", help="draw the Mali grid (regions, towns, bases, borders) to a PNG",
                       description="Draw Mali's PRIO-GRID cells coloured by region, with towns, MINUSMA camps, "
                       "FAMa garrisons and neighbouring countries labelled.")
    p.add_argument("--out", type=Path, default=Path("results/mali_grid.png"), help="PNG path (default: %(default)s)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from sahel_sim.geography import load_grid
    from sahel_sim.viz.mapplot import plot_map

    grid = load_grid()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot_map(grid, args.out)
    print(f"map of {grid.n_cells} cells -> {args.out}")
    return 0
