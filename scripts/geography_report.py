#!/usr/bin/env python3
"""Where the war is, in the model and in ACLED: the checks of issue 9 over many seeds.

    python3 scripts/venv_run.py python scripts/geography_report.py --seeds 20 --out docs/geography.md

Writes a Markdown report with the admin1 mix of violent events by period against ACLED's
aggregates (total variation distance per seed), yearly national counts against ACLED, the
top region in 2017-2019, violent events by actor and region, cells held by region and year, and
the dated control facts; it names the commit, the machine and the date it was produced on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sahel_sim import stylised as S  # noqa: E402
from sahel_sim.config import load_scenario  # noqa: E402
from sahel_sim.io.manifest import short_commit  # noqa: E402
from sahel_sim.run import run  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "historical.yaml"))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "geography.md")
    args = ap.parse_args(argv)
    sc = load_scenario(args.scenario)
    t0 = time.perf_counter()
    runs = [run(sc, s) for s in range(1, args.seeds + 1)]
    wall = time.perf_counter() - t0
    events = [S.violent_events(r) for r in runs]
    lines = [f"# Where the war is: model ({len(runs)} seeds) against ACLED", "",
             f"Produced by `scripts/geography_report.py --seeds {args.seeds}` on "
             f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, commit `{short_commit()}`, {platform.platform()} "
             f"({os.cpu_count()} CPUs), {wall:.0f} s. ACLED: `calibration/acled/` (aggregates; Raleigh et al. 2010, "
             "via HDX). Violent events: Battles, Explosions/Remote violence, Violence against civilians; Taoudenit "
             "counted in Tombouctou as ACLED does.", ""]
    lines += ["## Regional mix of violent events by period", "",
              "| period | " + " | ".join(S.ACLED_REGIONS) + " | TV median [min, max] |",
              "|---|" + "---:|" * (len(S.ACLED_REGIONS) + 1)]
    for name, (a, b) in S.PERIODS.items():
        ref = S.acled_region_mix(a, b)
        mixes = [S.region_mix(ev, a, b) for ev in events]
        tv = np.array([S.total_variation(m, ref) for m in mixes])
        med = pd.concat(mixes, axis=1).median(axis=1)
        lines.append(f"| {name} model | " + " | ".join(f"{v:.2f}" for v in med) +
                     f" | {np.median(tv):.2f} [{tv.min():.2f}, {tv.max():.2f}] |")
        lines.append(f"| {name} ACLED | " + " | ".join(f"{v:.2f}" for v in ref) + " | |")
    top = [S.region_mix(ev, 2017, 2019).idxmax() for ev in events]
    lines += ["", f"Top region 2017-2019: {pd.Series(top).value_counts().to_dict()} (ACLED: Mopti).", ""]
    acled = S.acled_yearly()
    counts = np.array([S.yearly_counts(ev).to_numpy() for ev in events])
    med = np.median(counts, axis=0)
    lines += ["## Violent events per year", "", "| year | model median [5%, 95%] | ACLED | ratio |", "|---|---:|---:|---:|"]
    for i, y in enumerate(acled.index):
        lo, hi = np.percentile(counts[:, i], [5, 95])
        lines.append(f"| {y} | {med[i]:.0f} [{lo:.0f}, {hi:.0f}] | {acled[y]} | {med[i] / acled[y]:.2f} |")
    allev = pd.concat(events)
    allev = allev[(allev.year >= 2017) & (allev.year <= 2019)]
    tab = pd.crosstab(allev.actor1_id, allev.region).reindex(columns=list(S.ACLED_REGIONS), fill_value=0) / len(runs)
    lines += ["", "## Violent events by attacker and region, 2017-2019 (mean per run)", "",
              "| attacker | " + " | ".join(tab.columns) + " |", "|---|" + "---:|" * len(tab.columns)]
    lines += [f"| {a} | " + " | ".join(f"{v:.0f}" for v in row) + " |" for a, row in tab.iterrows()]
    lines += ["", "## Cells held by region, 1 July each year (seed 1)", ""]
    for year in (2012, 2013, 2015, 2018, 2020, 2022, 2023, 2024):
        held = S.cells_held(runs[0], at=dt.date(year, 7, 1))
        cells = "; ".join(f"{r}: " + ", ".join(f"{k} {v}" for k, v in row.items() if v) for r, row in held.iterrows())
        lines.append(f"- **{year}**: {cells}")
    cma = [S.control_share(r, "CMA", 18.44, 1.41, dt.date(2014, 7, 1), dt.date(2023, 10, 31)) for r in runs]
    isgs22 = [S.cells_held_in(r, "ISGS", at=dt.date(2022, 7, 1), regions=("Menaka", "Gao")) for r in runs]
    isgs23 = [S.cells_held_in(r, "ISGS", at=dt.date(2023, 7, 1), regions=("Menaka", "Gao")) for r in runs]
    east = [S.cells_held_in(r, "ISGS", at=dt.date(2022, 7, 1), regions=("Gao",), min_lon=0.0) for r in runs]
    south = {reg: max(S.max_armed_share_before(r, reg, dt.date(2022, 1, 1)) for r in runs)
             for reg in ("Sikasso", "Kayes", "Koulikoro")}
    lines += ["", "## Dated control facts", "",
              f"- CMA holds Kidal town, Jul 2014-Oct 2023: share of snapshots median {np.median(cma):.2f}, "
              f"min {min(cma):.2f}.",
              f"- IS Sahel cells in Menaka and Gao: mid-2022 median {np.median(isgs22):.0f} (min {min(isgs22)}), "
              f"mid-2023 median {np.median(isgs23):.0f}; in eastern Gao (east of 0 E) mid-2022 median "
              f"{np.median(east):.0f}.",
              "- Largest share of a southern region held by any armed group before 2022 (worst seed): "
              + ", ".join(f"{k} {v:.2f}" for k, v in south.items()) + "."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(runs)} runs, {wall:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
