"""The 2012-2013 refugee series by country of asylum against UNHCR's points, with Flee's
averaged relative difference (ARD; Suleimenova, Bell & Groen 2017): per date, the summed
absolute difference over countries divided by the documented total, averaged over dates.

The points are UNHCR's country totals as recorded in ``shared/facts`` (geography_facts
'Refugees by country', 'Totals, Jan 2013', 'Totals, Feb 2013'; mali_facts s6). They are
compared with the simulated stock of refugees in each country at the last week starting on or
before the date (the ``stock`` statistic of sahel_sim/stats.py). Used by ``sahel-sim validate``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sahel_sim.experiments.targets import Target, TargetSet
from sahel_sim.stats import Statistic

COUNTRIES = ("Mauritania", "Burkina Faso", "Niger", "Algeria")
# (date, {country: refugees}, documented total, source); Algeria unreported before 2013
UNHCR_POINTS: tuple[tuple[dt.date, dict[str, float], float, str], ...] = (
    (dt.date(2012, 7, 4), {"Mauritania": 88_825, "Burkina Faso": 65_009, "Niger": 42_461}, 196_359,
     "UNHCR Mali Situation Update no. 7, 4 Jul 2012 (geography_facts 'Refugees by country')"),
    (dt.date(2013, 1, 18), {"Mauritania": 55_221, "Burkina Faso": 38_776, "Niger": 52_875, "Algeria": 1_500}, 147_000,
     "UNHCR briefing, 18 Jan 2013 (geography_facts 'Totals, Jan 2013'; Mbera after level-2 re-registration)"),
    (dt.date(2013, 2, 11), {"Mauritania": 67_605, "Burkina Faso": 45_988, "Niger": 50_000, "Algeria": 1_500}, 165_139,
     "UNHCR Mali Situation Update no. 15, 11 Feb 2013 (geography_facts 'Totals, Feb 2013'; Niger a planning figure)"),
)
PLOT_FROM, PLOT_TO = dt.date(2012, 1, 16), dt.date(2013, 3, 31)
PLOT_EVERY_DAYS = 14


def _id(country: str, date: dt.date) -> str:
    return f"refugee_series_{country.lower().replace(' ', '_')}_{date:%Y%m%d}"


def covers(start: dt.date, end: dt.date) -> bool:
    """Whether a scenario's period holds every UNHCR point."""
    return start <= UNHCR_POINTS[0][0] and end >= UNHCR_POINTS[-1][0]


def series_statistics() -> TargetSet:
    """Pseudo-targets (never scored as targets) whose statistics are the simulated refugees in
    each country every two weeks of 2012-13 and at UNHCR's dates: ``scenario_statistics``
    computes them in the same runs as the targets."""
    dates = sorted({*pd.date_range(PLOT_FROM, PLOT_TO, freq=f"{PLOT_EVERY_DAYS}D").date, *(p[0] for p in UNHCR_POINTS)})
    out = []
    for country in COUNTRIES:
        for d in dates:
            stat = Statistic(kind="stock", spec={"series": "refugees", "country": country, "at": d.isoformat()},
                             where=f"refugee series {country} {d}")
            out.append(Target(id=_id(country, d), description=f"refugees in {country} on {d}", documented="", value=1.0,
                              low=0.5, high=2.0, scale="log", period_from=d, period_to=d, statistic=stat,
                              source={"publisher": "UNHCR", "title": "Mali situation", "date": str(d)}, exactness="E1"))
    return TargetSet(tuple(out), "refugee series")


def _frame(rows: Sequence[Mapping[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def ard(rows: Sequence[Mapping[str, float]]) -> tuple[float, list[tuple[dt.date, float]]]:
    """Flee's ARD of the median simulated series against UNHCR's points: ``(mean, per date)``.
    Countries a point does not report (Algeria in 2012) are left out of that date's sum."""
    frame = _frame(rows)
    per = []
    for d, values, total, _ in UNHCR_POINTS:
        diff = sum(abs(float(np.nanmedian(frame[_id(c, d)])) - v) for c, v in values.items())
        per.append((d, diff / total))
    return float(np.mean([x for _, x in per])), per


def figure(rows: Sequence[Mapping[str, float]], path: str | Path, *, title: str) -> Path:
    """Simulated refugees by country (median and 90% band over seeds) against UNHCR's points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sahel_sim.io.atomic import save_figure

    frame = _frame(rows)
    mean_ard, _ = ard(rows)
    dates = sorted({dt.date.fromisoformat(c[-8:-4] + "-" + c[-4:-2] + "-" + c[-2:]) for c in frame.columns
                    if c.startswith("refugee_series_")})
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    colours = {"Mauritania": "#1f4e79", "Burkina Faso": "#c55a11", "Niger": "#548235", "Algeria": "#7f6000"}
    for c in COUNTRIES:
        vals = np.array([frame[_id(c, d)].to_numpy(dtype=float) for d in dates]) / 1e3  # (dates, seeds)
        q05, med, q95 = np.nanquantile(vals, [0.05, 0.5, 0.95], axis=1)
        ax.fill_between(dates, q05, q95, color=colours[c], alpha=0.15, lw=0)
        ax.plot(dates, med, color=colours[c], lw=1.8, label=f"{c} (model median, 90% band)")
        pts = [(d, v[c] / 1e3) for d, v, _, _ in UNHCR_POINTS if c in v]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o", color=colours[c], mec="black", ms=6)
    ax.plot([], [], "o", color="white", mec="black", label="UNHCR (Jul 2012, Jan and Feb 2013)")
    ax.set_ylabel("refugees (thousands)")
    ax.set_title(f"Malian refugees by country of asylum, 2012-13: {title}\nARD (Flee's averaged relative difference) "
                 f"= {mean_ard:.2f}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    path = save_figure(fig, path)
    plt.close(fig)
    return path


def markdown(rows: Sequence[Mapping[str, float]], figure_name: str | None) -> str:
    """The report section: ARD per UNHCR date and overall, simulated against documented."""
    mean_ard, per = ard(rows)
    frame = _frame(rows)
    lines = ["", "## Refugees by country, 2012-13 (against UNHCR)", "",
             f"Averaged relative difference (ARD, Flee's measure: per date the summed absolute difference over "
             f"countries divided by UNHCR's total, averaged over dates): **{mean_ard:.2f}**. Flee's Mali runs "
             "spawn refugees to match the documented totals; this model generates the totals from its own "
             "violence, so its ARD also carries the error of the total.", "",
             "| date | country | UNHCR | simulated median [90%] |", "|---|---|---|---|"]
    for (d, values, total, _src), (_, a) in zip(UNHCR_POINTS, per, strict=True):
        for c, v in values.items():
            col = frame[_id(c, d)].to_numpy(dtype=float)
            q05, med, q95 = np.nanquantile(col, [0.05, 0.5, 0.95])
            lines.append(f"| {d} | {c} | {v:,.0f} | {med:,.0f} [{q05:,.0f}, {q95:,.0f}] |")
        lines.append(f"| {d} | ARD | total {total:,.0f} | {a:.2f} |")
    lines += ["", "Sources: " + "; ".join(p[3] for p in UNHCR_POINTS) + "."]
    if figure_name:
        lines += ["", f"![refugees by country]({figure_name})"]
    return "\n".join(lines) + "\n"
