#!/usr/bin/env python3
"""Temporal out-of-sample check (issue 11), in one command:

1. fit the model on data up to the end of ``--cutoff`` (2019) only: the geography search of
   ``scripts/search_geography.py`` with ``--until-year``, a round over the whole parameter space
   and a round around its best point (no information after the cut-off enters either);
2. run the fitted parameters ``--seeds`` times over 2012-2024;
3. score the monthly national counts of violent events after the cut-off against ACLED's with
   the CRPS and the coverage of the 50% and 90% intervals, beside the no-change baseline
   (sahel_sim/experiments/temporal.py);
4. write ``docs/temporal_check.md``, ``docs/img/temporal_check.png`` and the summary between the
   ``temporal-check`` markers of ``docs/calibration.md``, with the commit, date and machine.

    python3 scripts/venv_run.py python scripts/temporal_check.py                 # fit + check
    python3 scripts/venv_run.py python scripts/temporal_check.py --fit results/temporal/<commit>/fit2.csv   # reuse a fit
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

START, END = "<!-- temporal-check:start -->", "<!-- temporal-check:end -->"


def _events(args) -> pd.DataFrame:
    overrides, seed = args
    from sahel_sim.config import load_scenario
    from sahel_sim.run import run

    sc = load_scenario(ROOT / "scenarios" / "historical.yaml", [f"{k}={v}" for k, v in overrides.items()])
    return run(sc, seed).events.select(["event_date", "event_type"]).to_pandas()


def fit(out: Path, *, cutoff: int, points: int, refine: int, seeds: int, workers: int) -> Path:
    """Two search rounds on data up to ``cutoff``; returns the CSV of the second."""
    import search_geography as G

    out.mkdir(parents=True, exist_ok=True)
    first, second = out / "fit1.csv", out / "fit2.csv"
    common = ["--seeds", str(seeds), "--workers", str(workers), "--until-year", str(cutoff)]
    if not first.exists():
        G.main(["--points", str(points), "--seed", "2019", "--out", str(first), *common])
    if not second.exists():
        G.main(["--points", str(refine), "--seed", "2020", "--around", str(first), "--spread", "0.15",
                "--out", str(second), *common])
    return second


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cutoff", type=int, default=2019, help="last year of data used to fit (default 2019)")
    ap.add_argument("--last", type=int, default=2024, help="last year scored (default 2024)")
    ap.add_argument("--points", type=int, default=60, help="points of the first search round")
    ap.add_argument("--refine", type=int, default=40, help="points of the second round, around the first's best")
    ap.add_argument("--fit-seeds", type=int, default=2, help="seeds per search point")
    ap.add_argument("--seeds", type=int, default=30, help="runs of the fitted parameters that are scored")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fit", type=Path, default=None, help="a finished search CSV to take the fitted point from")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder of the fit's search rounds (default: results/temporal/<commit>/, so a fit made "
                         "at another commit is never reused without --fit)")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    from search_geography import SPACE

    from sahel_sim.experiments import temporal
    from sahel_sim.io.manifest import short_commit

    commit = short_commit()  # before anything is written, so the stamp names the code that ran
    out = args.out or ROOT / "results" / "temporal" / commit
    fit_csv = args.fit or fit(out, cutoff=args.cutoff, points=args.points, refine=args.refine,
                              seeds=args.fit_seeds, workers=args.workers)
    best = pd.read_csv(fit_csv).sort_values("objective").iloc[0]
    overrides = {k: float(f"{best[k]:.4g}") for k in SPACE if k in best}
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        tables = list(pool.map(_events, [(overrides, s) for s in range(1, args.seeds + 1)]))
    res = temporal.check(tables, cutoff_year=args.cutoff, last_year=args.last)
    wall = time.perf_counter() - t0

    args.docs.mkdir(parents=True, exist_ok=True)
    (args.docs / "img").mkdir(exist_ok=True)
    res.figure(args.docs / "img" / "temporal_check.png")
    stamp = (f"Produced by `scripts/temporal_check.py` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, commit "
             f"`{commit}`, {platform.platform()} ({platform.machine()}), {wall:.0f} s; fitted point: best of "
             f"`{fit_csv.relative_to(ROOT) if fit_csv.is_relative_to(ROOT) else fit_csv}` (objective "
             f"{best['objective']:.3f}, data up to {args.cutoff} only).")
    body = res.to_markdown()
    params = "\n".join(f"| `{k}` | {v:.4g} |" for k, v in overrides.items())
    page = (f"# Temporal out-of-sample check: fitted to {args.cutoff}, scored {args.cutoff + 1}-{args.last}\n\n"
            f"{stamp}\n\n{body}\n![model and baseline against ACLED](img/temporal_check.png)\n\n"
            f"## The fitted parameters\n\n| parameter | value |\n|---|---:|\n{params}\n")
    (args.docs / "temporal_check.md").write_text(page, encoding="utf-8")
    cal = args.docs / "calibration.md"
    if cal.exists():
        text = cal.read_text(encoding="utf-8")
        if START in text and END in text:
            head, rest = text.split(START, 1)
            _, tail = rest.split(END, 1)
            cal.write_text(f"{head}{START}\n{stamp}\n\n{body}{END}{tail}", encoding="utf-8")
    print(body)
    print(stamp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
