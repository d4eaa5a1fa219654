#!/usr/bin/env python3
"""Search the displacement parameters (issue 10) against the displacement targets of
calibration/targets.yaml: Latin-hypercube points around the shipped values, each run on a few
seeds, scored by the mean squared scaled miss of the simulated medians (0 at the documented
value, 1 at a tolerance edge; capped at 5), over the chosen targets.

    # 2012-2013 shock on short runs, then the whole period
    python3 scripts/venv_run.py python scripts/search_displacement.py --stage early --points 40 --seeds 4
    python3 scripts/venv_run.py python scripts/search_displacement.py --stage late --points 30 --seeds 4 \
        --set mechanisms.displacement.foreign_weight=0.5 ...

Only displacement parameters move; the rest of the model stays at calibration/parameters.yaml.
Prints the best points; ``--out`` writes every point as CSV.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

P = "mechanisms.displacement."
STAGES = {
    # the 2012-13 shock: who flees, where to
    "early": {
        "end_date": "2013-03-04",
        "targets": ["idps_2012", "idps_2013_peak", "refugees_2012", "refugees_2012_share_mauritania",
                    "refugees_2012_share_burkina_faso", "refugees_2012_share_niger"],
        "space": {
            P + "flee_share_on_collapse": (0.2, 1.0, "lin"),
            P + "armed_presence_half": (10.0, 200.0, "log"),
            P + "foreign_weight": (0.1, 3.0, "log"),
            P + "kin_weight": (1.0, 50.0, "log"),
            P + "town_population_power": (0.1, 0.8, "lin"),
            P + "distance_power": (0.5, 1.5, "lin"),
            P + "danger_events_per_week": (0.1, 3.0, "log"),
        },
    },
    # everything at once, around a point (use --range to centre the ranges)
    "all": {
        "end_date": None,
        "targets": ["idps_2012", "idps_2013_peak", "refugees_2012", "refugees_2012_share_mauritania",
                    "refugees_2012_share_burkina_faso", "refugees_2012_share_niger", "idps_2019", "idps_2020",
                    "idps_2021", "idps_2022", "idps_2024"],
        "space": {},
    },
    # the stock of IDPs 2014-2024: flight from violence against returns
    "late": {
        "end_date": None,
        "targets": ["idps_2012", "idps_2013_peak", "refugees_2012", "idps_2014", "idps_2019", "idps_2020",
                    "idps_2021", "idps_2022", "idps_2024"],
        "space": {
            P + "flee_per_event": (20.0, 300.0, "log"),
            P + "flee_per_death": (2.0, 50.0, "log"),
            P + "flee_share_per_threat": (1e-5, 2e-3, "log"),
            P + "collapse_memory_weeks": (26.0, 520.0, "log"),
            P + "return_rate_per_week": (0.005, 0.08, "log"),
            P + "calm_events_per_week": (0.03, 1.0, "log"),
        },
    },
}


def main(argv: list[str] | None = None) -> int:
    from sahel_sim.config.loader import load_scenario_data
    from sahel_sim.experiments.calibrate import scenario_statistics
    from sahel_sim.experiments.executors import LocalExecutor
    from sahel_sim.experiments.targets import load_targets

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=sorted(STAGES), required=True)
    ap.add_argument("--points", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1, help="seed of the Latin hypercube")
    ap.add_argument("--set", action="append", default=[], help="fixed dotted.key=value (repeatable)")
    ap.add_argument("--range", action="append", default=[], metavar="KEY=LO:HI",
                    help="search KEY (dotted, or a displacement key) between LO and HI instead of the stage's range")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--include-shipped", action="store_true", help="evaluate the shipped values first")
    args = ap.parse_args(argv)

    stage = STAGES[args.stage]
    data = load_scenario_data(ROOT / "scenarios" / "historical.yaml")
    if stage["end_date"]:
        data = {**data, "end_date": stage["end_date"]}
    targets = load_targets(ROOT / "calibration" / "targets.yaml").select(stage["targets"])
    fixed = {k: float(v) for k, v in (s.split("=", 1) for s in args.set)}
    space = dict(stage["space"])
    for text in args.range:
        key, bounds = text.split("=", 1)
        key = key if "." in key else P + key
        lo, hi = (float(x) for x in bounds.split(":"))
        space[key] = (lo, hi, "log" if lo > 0 and hi / lo > 5 else "lin")
    space = {k: v for k, v in space.items() if k not in fixed}
    names = list(space)
    u = qmc.LatinHypercube(d=len(names), seed=args.seed).random(args.points)
    points = []
    for row in u:
        p = {}
        for x, name in zip(row, names, strict=True):
            lo, hi, scale = space[name]
            p[name] = float(np.exp(np.log(lo) + x * (np.log(hi) - np.log(lo)))) if scale == "log" else lo + x * (hi - lo)
        points.append(p)
    if args.include_shipped:
        points.insert(0, {})
    seeds = [1000 + i for i in range(args.seeds)]
    rows = []
    for i, p in enumerate(points):
        values = {**fixed, **p}
        stats = pd.DataFrame(scenario_statistics(data, values, seeds, targets, executor=LocalExecutor(0)))
        med = stats.median()
        misses = {t.id: float(t.scaled_miss(float(med[t.id]))) for t in targets}
        score = float(np.mean([min(abs(m), 5.0) ** 2 if np.isfinite(m) else 25.0 for m in misses.values()]))
        rows.append({"point": i, "score": score, **values, **{f"med_{k}": float(med[k]) for k in misses}})
        print(f"[{i + 1}/{len(points)}] score {score:.3f} " + " ".join(f"{k.split('.')[-1]}={v:.4g}" for k, v in p.items())
              + " | " + " ".join(f"{k}={float(med[k]):.3g}" for k in misses), flush=True)
    frame = pd.DataFrame(rows).sort_values("score")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.out, index=False)
    print("\nbest points:")
    print(frame.head(5).T.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
