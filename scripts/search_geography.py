#!/usr/bin/env python3
"""Search model parameters for the geography of issue 9 (a stop-gap before the full
recalibration of issue 11): Latin-hypercube points, each run on a few seeds, scored by

    mean over 2012-13, 2014-16, 2017-19 of the total variation distance to ACLED's admin1 mix
    + 0.5 x mean |log(model / ACLED)| of yearly violent events 2012-2024
    + 0.3 x mean |log| error of the events involving each actor group per year 2012-2019
    + 2 x hinges at the issue's tolerances: each period's distance above 0.19, each year's
      |log ratio| above log 1.35
    + 0.3 x |log| error of civilian deaths before and after Wagner (targets.yaml), 0.3 x mean
      |log| error of deaths in violence against civilians per year 2012-2019 (ACLED), 0.5 x the
      total variation distance of the perpetrator mix of H2 2021 (MINUSMA, mali_facts s2)
    + penalties for missing the dated control facts (CMA in Kidal 2014-23, IS Sahel in Menaka
      by mid-2022 and holding more of Menaka and Gao by mid-2023, 0.5 x the log gap below the
      target's x1.4 growth of those cells, no armed group holding most
      of Sikasso, Kayes or Koulikoro before 2022) and
      for fewer than 8 militant Islamist events within 150 km of Bamako in H1 2023 (ACSS: 16)

    python3 scripts/venv_run.py python scripts/search_geography.py --points 120 --seeds 2 --out results/geo_search.csv

Uses only the ACLED aggregates in calibration/acled/ (2012-2019 regional and by actor group,
2012-2024 national).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPACE: dict[str, tuple[float, float, str]] = {
    "actors.ISGS.fighters_per_thousand": (3.0, 12.0, "log"),
    "actors.CMA.aggression": (0.1, 0.5, "lin"),
    "actors.Barkhane.aggression": (0.3, 1.5, "lin"),
    "actors.Platform.aggression": (0.5, 2.0, "lin"),
    "actors.JNIM.aggression": (0.6, 1.8, "lin"),
    "actors.JNIM.fighters_per_thousand": (3.0, 12.0, "log"),
    "actors.KatibaMacina.aggression": (0.6, 1.8, "lin"),
    "actors.KatibaMacina.fighters_per_thousand": (1.2, 5.0, "log"),
    "actors.FAMa.aggression": (0.7, 3.5, "lin"),
    "actors.FAMa.civilian_targeting": (0.5, 2.5, "log"),
    "actors.Militia.aggression": (0.3, 1.5, "lin"),
    "actors.Militia.civilian_targeting": (0.5, 3.0, "log"),
    "actors.Militia.recruitment_per_week": (0.05, 1.5, "log"),
    "actors.Militia.max_strength": (1000.0, 4000.0, "log"),
    "mechanisms.combat.battle_rate_per_week": (0.06, 0.16, "log"),
    "mechanisms.combat.operations_rate_per_week": (0.15, 0.6, "log"),
    "mechanisms.combat.risk_aversion": (0.3, 2.0, "lin"),
    "mechanisms.civilians.coercion_rate_per_week": (0.05, 0.25, "log"),
    "mechanisms.civilians.state_harm_rate_per_week": (0.1, 0.8, "log"),
    "mechanisms.civilians.militia_rate_per_week": (0.05, 0.4, "log"),
    "mechanisms.civilians.fatalities_per_attack": (1.5, 4.0, "log"),
    "mechanisms.peacekeeping.target_weight": (0.5, 4.0, "log"),
    "mechanisms.recruitment.fighters_per_thousand_sympathisers": (2.5, 6.0, "log"),
    "mechanisms.recruitment.demobilisation_per_week": (0.003, 0.03, "log"),
    "mechanisms.recruitment.militia_alarm_km": (30.0, 120.0, "log"),
    "mechanisms.expansion.rate_per_week": (0.005, 0.05, "log"),
    "mechanisms.expansion.saturation_threshold": (0.5, 0.95, "lin"),
    "mechanisms.grievance.harm_sensitivity": (1.5, 6.0, "log"),
    "mechanisms.posture.siege_weight": (0.2, 5.0, "log"),
    "mechanisms.vacuum.control_threshold": (0.4, 0.6, "lin"),
    "mechanisms.vacuum.overtake_margin": (0.04, 0.2, "lin"),
}

# ACLED actor groups (calibration/acled/pv_events_by_actor_group_year_2012_2019.csv) -> model actors
ACTOR_GROUPS: dict[str, tuple[str, ...]] = {
    "JNIM-family (JNIM, Katiba Macina, Katiba Serma, Ansar Dine, AQIM, Al Mourabitoune, FLM)": ("JNIM", "KatibaMacina"),
    "ISGS": ("ISGS",), "MUJAO": ("ISGS",), "Military Forces of Mali": ("FAMa",),
    "Military Forces of France": ("Barkhane",), "MINUSMA": ("MINUSMA",), "MNLA": ("CMA",), "CMA": ("CMA",),
    "GATIA": ("Platform",), "Dan Na Ambassagou": ("Militia",), "Dozo Communal Militia": ("Militia",),
    "Dogon Ethnic Militia (Mali)": ("Militia",), "Civilians (Mali)": ("Civilians",),
}


def actor_involvement_error(events: list) -> float:
    """Mean |log((model + 5) / (ACLED + 5))| over actor groups and years 2012-2019 in which
    ACLED records at least 10 events involving the group."""
    from sahel_sim import stylised as S

    ac = pd.read_csv(S.ACLED_DIR / "pv_events_by_actor_group_year_2012_2019.csv")
    ac = ac[ac.actor_group.isin(ACTOR_GROUPS)]
    ac["ids"] = ac.actor_group.map(lambda g: ACTOR_GROUPS[g])
    acled = ac.groupby(["year", "ids"]).pv_events_involving.sum()
    errs = []
    for (year, ids), value in acled.items():
        if value < 10:
            continue
        model = np.mean([((e.year == year) & (e.actor1_id.isin(ids) | e.actor2_id.isin(ids))).sum() for e in events])
        errs.append(abs(np.log((model + 5) / (value + 5))))
    return float(np.mean(errs))


# Who killed civilians in H2 2021 (MINUSMA human-rights note, via mali_facts s2): jihadists 206,
# militias 70, FAMa 25, foreign forces 5 of 318
PERPETRATORS_H2_2021 = {"jihadist": 206, "militia": 70, "state": 25, "foreign": 5}
PERPETRATOR_GROUP = {"JNIM": "jihadist", "KatibaMacina": "jihadist", "ISGS": "jihadist", "Militia": "militia",
                     "Platform": "militia", "FAMa": "state", "Wagner": "state", "Barkhane": "foreign"}


def civilian_harm(runs: list, last: int) -> dict[str, float]:
    """Civilian deaths against the calibration targets before and after Wagner (targets.yaml),
    deaths in violence against civilians per year against ACLED's 2012-2019 aggregates
    (calibration/acled/events_by_type_year_2012_2019.csv), and the perpetrator mix of H2 2021
    (total variation distance); only what falls by the end of ``last``."""
    from sahel_sim import stylised as S

    vac = []
    for r in runs:
        e = r.events.select(["event_type", "event_date", "fatalities", "actor1_id"]).to_pandas()
        e = e[e.event_type == "Violence against civilians"].copy()
        e["date"] = pd.to_datetime(e.event_date)
        vac.append(e)
    out: dict[str, float] = {}
    acled = pd.read_csv(S.ACLED_DIR / "events_by_type_year_2012_2019.csv")
    acled = acled[acled.event_type == "Violence against civilians"].set_index("year").fatalities
    years = [y for y in acled.index if y <= last]
    model = np.mean([[e.fatalities[e.date.dt.year == y].sum() for y in years] for e in vac], axis=0)
    out["vac_fatalities_error"] = float(np.mean(np.abs(np.log((model + 10) / (acled.loc[years].to_numpy() + 10)))))
    errs = []
    for lo, hi, documented in (("2020-12-01", "2021-11-30", 550.0), ("2021-12-01", "2022-11-30", 2400.0)):
        if int(hi[:4]) > last:
            continue
        deaths = np.median([e.fatalities[(e.date >= lo) & (e.date <= hi)].sum() for e in vac])
        errs.append(abs(np.log(max(deaths, 1.0) / documented)))
    out["civ_deaths_error"] = float(np.mean(errs)) if errs else 0.0
    if last >= 2021:
        ref = pd.Series(PERPETRATORS_H2_2021, dtype=float)
        ref /= ref.sum()
        tvs = []
        for e in vac:
            h2 = e[(e.date >= "2021-07-01") & (e.date <= "2021-12-31")]
            mix = h2.groupby(h2.actor1_id.map(PERPETRATOR_GROUP)).fatalities.sum().reindex(ref.index, fill_value=0)
            mix = mix / mix.sum() if mix.sum() > 0 else mix
            tvs.append(0.5 * float(np.abs(mix - ref).sum()))
        out["perpetrator_tv"] = float(np.mean(tvs))
    return out


def score(overrides: dict[str, float], seeds: list[int], until: int | None = None) -> dict[str, float]:
    """The objective and its parts for one point. With ``until`` (a year), only data up to the end
    of that year are used: the yearly counts, the dated control facts and the penalties that
    fall after it are left out (the temporal out-of-sample check, scripts/temporal_check.py)."""
    from sahel_sim import stylised as S
    from sahel_sim.config import load_scenario
    from sahel_sim.run import run

    sc = load_scenario(ROOT / "scenarios" / "historical.yaml", [f"{k}={v}" for k, v in overrides.items()])
    runs = [run(sc, s) for s in seeds]
    ev = [S.violent_events(r) for r in runs]
    out: dict[str, float] = {}
    for name, (a, b) in S.PERIODS.items():
        ref = S.acled_region_mix(a, b)
        out[f"tv_{name}"] = float(np.mean([S.total_variation(S.region_mix(e, a, b), ref) for e in ev]))
    last = until if until is not None else 2024
    acled = S.acled_yearly().loc[:last].to_numpy()
    model = np.mean([S.yearly_counts(e, range(2012, last + 1)).to_numpy() for e in ev], axis=0)
    out["log_ratio"] = float(np.mean(np.abs(np.log(np.maximum(model, 1) / acled))))
    out["actor_error"] = actor_involvement_error(ev)
    out["max_ratio"] = float(np.max(np.maximum(model / acled, acled / np.maximum(model, 1))))
    end = min(dt.date(2023, 10, 31), dt.date(last, 12, 31))
    out["cma_kidal"] = float(np.mean([S.control_share(r, "CMA", 18.44, 1.41, dt.date(2014, 7, 1), end) for r in runs]))
    out["isgs_menaka_2022"] = float(np.min([S.cells_held_in(r, "ISGS", at=dt.date(2022, 7, 1), regions=("Menaka",))
                                            for r in runs]))
    # IS Sahel holds more of Menaka and Gao in mid-2023 than in mid-2022 (UN Panel of Experts,
    # Aug 2023: its areas of control "almost doubled" in under a year; mali_facts s2)
    held = np.array([[S.cells_held_in(r, "ISGS", at=dt.date(y, 7, 1), regions=("Menaka", "Gao")) for y in (2022, 2023)]
                     for r in runs], dtype=float)
    out["isgs_not_growing"] = float(np.mean(held[:, 1] <= held[:, 0]))
    # and by how much: below the target's tolerance (x1.4, calibration/targets.yaml) costs its log gap
    out["isgs_growth_gap"] = float(max(0.0, np.log(1.4) - np.log((held[:, 1].mean() + 1) / (held[:, 0].mean() + 1))))
    south_until = min(dt.date(2022, 1, 1), dt.date(last + 1, 1, 1))
    out["south"] = float(max(S.max_armed_share_before(r, g, south_until) for r in runs
                             for g in ("Sikasso", "Kayes", "Koulikoro")))
    out["mopti_top"] = float(np.mean([S.region_mix(e, 2017, 2019).idxmax() == "Mopti" for e in ev]))
    from sahel_sim.stats import Query, observed_from_run

    near = Query.from_dict({"involving": "militant_islamist", "event_types": "violent", "from": "2023-01-01",
                            "to": "2023-06-30", "near": {"place": "Bamako", "km": 150}}, "bamako")
    out["bamako_h1_2023"] = float(np.median([near.value(observed_from_run(r)) for r in runs]))
    pen = 0.3 * (out["cma_kidal"] < 0.8) + 0.3 * (out["south"] >= 0.5) + 0.1 * (1 - out["mopti_top"])
    if last >= 2022:
        pen += 0.2 * (out["isgs_menaka_2022"] < 1)
    if last >= 2023:
        pen += 0.2 * (out["bamako_h1_2023"] < 8) + 0.2 * out["isgs_not_growing"] + 0.5 * out["isgs_growth_gap"]
    # hinges at the tolerances (with a margin for seed noise): every period and every
    # year must pass, not only their means
    out["hinge"] = float(sum(max(0.0, out[f"tv_{p}"] - 0.19) for p in S.PERIODS)
                         + np.mean(np.maximum(0.0, np.abs(np.log(np.maximum(model, 1) / acled)) - np.log(1.35))))
    harm = civilian_harm(runs, last)
    out.update(harm)
    out["objective"] = float(np.mean([out[f"tv_{p}"] for p in S.PERIODS]) + 0.5 * out["log_ratio"]
                             + 0.3 * out["actor_error"] + 2.0 * out["hinge"] + pen
                             + 0.3 * harm["civ_deaths_error"] + 0.3 * harm["vac_fatalities_error"]
                             + 0.5 * harm.get("perpetrator_tv", 0.0))
    return out


def _point(args):
    i, overrides, seeds, until = args
    return i, overrides, score(overrides, seeds, until)


def shipped_values(names: list[str]) -> dict[str, float]:
    """The shipped value of each dotted key (scenario + calibration/parameters.yaml); keys the
    shipped files leave unset (an optional per-actor override) are left out."""
    from sahel_sim.config import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "historical.yaml")
    out = {}
    for key in names:
        obj = sc
        for part in key.split("."):
            obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
            if obj is None:
                break
        if isinstance(obj, int | float):
            out[key] = float(obj)
    return out


def design(n_points: int, seed: int, around: Path | None = None, spread: float = 0.25) -> list[dict[str, float]]:
    """The Latin-hypercube points (deterministic for a seed): over the whole space, or in a
    window of half-width ``spread`` (a share of each range) around the best point of a previous
    search's CSV."""
    names = list(SPACE)
    u = qmc.LatinHypercube(d=len(names), seed=seed).random(n_points)
    centre = None
    if around is not None and str(around) == "shipped":
        centre = shipped_values(names)
    elif around is not None:
        best = pd.read_csv(around).sort_values("objective").iloc[0]
        centre = {k: float(best[k]) for k in names if k in best}
    points = []
    for row in u:
        p = {}
        for x, k in zip(row, names, strict=True):
            lo, hi, scale = SPACE[k]
            if scale == "log":
                lo_t, hi_t = np.log(lo), np.log(hi)
            else:
                lo_t, hi_t = lo, hi
            if centre is not None and k in centre:  # a window around the best point, inside the range
                c = np.log(centre[k]) if scale == "log" else centre[k]
                half = spread * (hi_t - lo_t)
                lo_t, hi_t = max(lo_t, c - half), min(hi_t, c + half)
            t = lo_t + (hi_t - lo_t) * x
            p[k] = float(np.exp(t)) if scale == "log" else float(t)
        points.append({k: round(v, 5) for k, v in p.items()})
    return points


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=120)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261123, help="seed of the Latin hypercube")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "geo_search.csv")
    ap.add_argument("--around", type=Path, default=None,
                    help="a previous search's CSV, or 'shipped': sample around its best point (or the shipped "
                         "parameters) instead of the whole space")
    ap.add_argument("--spread", type=float, default=0.25, help="with --around: half-width as a share of each range")
    ap.add_argument("--until-year", type=int, default=None,
                    help="use only data up to the end of this year (the temporal out-of-sample check)")
    args = ap.parse_args(argv)
    points = design(args.points, args.seed, args.around, args.spread)
    seeds = list(range(1, args.seeds + 1))
    rows = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".partial.csv")
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for i, overrides, res in pool.map(_point, [(i, p, seeds, args.until_year) for i, p in enumerate(points)]):
            rows.append({"point": i, **overrides, **res})
            print(f"{i:4d} objective {res['objective']:.3f}", flush=True)
            pd.DataFrame(rows).to_csv(partial, index=False)  # kept as the points finish
    df = pd.DataFrame(rows).sort_values("objective")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    print(df.head(5).T.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
