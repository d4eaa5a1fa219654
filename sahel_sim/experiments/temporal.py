"""Temporal out-of-sample check in the style of ViEWS (issue 11).

The model is fitted on data up to a cut-off year, then run over the following years; its
monthly national counts of violent events are scored against ACLED's with the continuous
ranked probability score (CRPS) and the coverage of its central 50% and 90% predictive
intervals, beside a naive baseline: the cut-off year's level carried forward (a negative
binomial with the mean and variance of that year's twelve monthly counts).

CRPS of an ensemble ``x_1..x_N`` for an outcome ``y`` is ``E|X - y| - E|X - X'| / 2``
(Gneiting & Raftery 2007, *JASA* 102(477), eq. 21), computed exactly from the sorted
ensemble; lower is better, in events per month. The ViEWS prediction competition
(Hegre et al. 2022, *International Interactions* 48(4); Vesco et al. 2022) scores forecasts of
monthly political violence the same way, against a no-change baseline.

ACLED monthly aggregates: ``calibration/acled/pv_events_national_by_month_2012_2024.csv``
(Raleigh et al. 2010, via HDX).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ACLED_MONTHLY = Path(__file__).resolve().parents[2] / "calibration" / "acled" / "pv_events_national_by_month_2012_2024.csv"
VIOLENT = ("Battles", "Explosions/Remote violence", "Violence against civilians")


# --------------------------------------------------------------------------- scores
def crps_ensemble(samples: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """CRPS of each column of ``samples`` (N members x T times) for ``observed`` (T,).

    ``E|X - y| - E|X - X'| / 2`` with both expectations over the empirical ensemble; the second
    term from the sorted members, ``sum_i (2i - N - 1) x_(i) / N^2``."""
    x = np.sort(np.asarray(samples, dtype=np.float64), axis=0)
    y = np.asarray(observed, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != y.shape[0]:
        raise ValueError(f"samples must be (members, times) with times == len(observed); got {x.shape} and {y.shape}")
    n = x.shape[0]
    spread_weights = (2.0 * np.arange(1, n + 1) - n - 1.0) / n**2
    return np.abs(x - y[None, :]).mean(axis=0) - spread_weights @ x


def interval(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Central predictive interval of each column at ``level`` (0-1)."""
    lo, hi = np.quantile(samples, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=0)
    return lo, hi


def coverage(samples: np.ndarray, observed: np.ndarray, level: float) -> float:
    """Share of times whose outcome lies inside the central ``level`` interval."""
    lo, hi = interval(samples, level)
    y = np.asarray(observed, dtype=np.float64)
    return float(np.mean((y >= lo) & (y <= hi)))


# --------------------------------------------------------------------------- data
def acled_monthly(first: int, last: int, *, path: Path = ACLED_MONTHLY) -> pd.Series:
    """ACLED's violent events per month (index: first day of each month), ``first``-``last``."""
    df = pd.read_csv(path)
    df = df[(df.year >= first) & (df.year <= last)]
    idx = pd.to_datetime(dict(year=df.year, month=df.month, day=1))
    return pd.Series(df.pv_events.to_numpy(dtype=np.float64), index=idx, name="acled")


def monthly_counts(events: pd.DataFrame, first: int, last: int) -> np.ndarray:
    """Violent events per month, ``first``-``last``, from an event table with ``event_date``
    and ``event_type`` (the run's ACLED-schema log)."""
    ev = events[events.event_type.isin(VIOLENT)]
    dates = pd.to_datetime(ev.event_date)
    months = pd.period_range(f"{first}-01", f"{last}-12", freq="M")
    return dates.dt.to_period("M").value_counts().reindex(months, fill_value=0).to_numpy(dtype=np.float64)


def baseline_samples(level_year: int, n_times: int, *, members: int = 1000, seed: int = 0,
                     path: Path = ACLED_MONTHLY) -> np.ndarray:
    """The no-change baseline: every month drawn from a negative binomial with the mean and
    variance of ``level_year``'s twelve monthly counts (Poisson when they are not overdispersed)."""
    months = acled_monthly(level_year, level_year, path=path).to_numpy()
    mean, var = float(months.mean()), float(months.var(ddof=1))
    rng = np.random.default_rng(seed)
    if var <= mean:
        return rng.poisson(mean, size=(members, n_times)).astype(np.float64)
    r = mean**2 / (var - mean)
    return rng.negative_binomial(r, r / (r + mean), size=(members, n_times)).astype(np.float64)


# --------------------------------------------------------------------------- result
@dataclass
class TemporalCheck:
    """Monthly predictive ensembles of the model and the baseline against ACLED."""

    months: pd.DatetimeIndex
    observed: np.ndarray
    model: np.ndarray          # (runs, months)
    baseline: np.ndarray       # (members, months)
    cutoff_year: int
    meta: dict = field(default_factory=dict)

    def scores(self) -> pd.DataFrame:
        rows = {}
        for name, ens in (("model", self.model), ("baseline", self.baseline)):
            rows[name] = {
                "CRPS (events/month)": float(crps_ensemble(ens, self.observed).mean()),
                "coverage 50%": coverage(ens, self.observed, 0.5),
                "coverage 90%": coverage(ens, self.observed, 0.9),
                "median bias (events/month)": float(np.median(np.median(ens, axis=0) - self.observed)),
            }
        return pd.DataFrame(rows).T

    def by_year(self) -> pd.DataFrame:
        years = self.months.year
        out = {}
        for y in sorted(set(years)):
            sel = years == y
            out[y] = {"ACLED": float(self.observed[sel].sum()),
                      "model median": float(np.median(self.model[:, sel].sum(axis=1))),
                      "CRPS model": float(crps_ensemble(self.model[:, sel], self.observed[sel]).mean()),
                      "CRPS baseline": float(crps_ensemble(self.baseline[:, sel], self.observed[sel]).mean())}
        return pd.DataFrame(out).T

    def to_markdown(self) -> str:
        s = self.scores()
        first, last = self.months[0], self.months[-1]
        lines = [
            f"Monthly violent events {first:%b %Y}-{last:%b %Y} ({len(self.months)} months), model fitted on data "
            f"up to {self.cutoff_year}; {self.model.shape[0]} runs; baseline: {self.cutoff_year}'s level carried "
            f"forward (negative binomial with its monthly mean and variance).",
            "",
            "| forecast | CRPS (events/month) | coverage of 50% interval | coverage of 90% interval | median bias |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, row in s.iterrows():
            lines.append(f"| {name} | {row['CRPS (events/month)']:.1f} | {row['coverage 50%']:.0%} | "
                         f"{row['coverage 90%']:.0%} | {row['median bias (events/month)']:+.1f} |")
        lines += ["", "| year | ACLED | model median | CRPS model | CRPS baseline |", "|---|---:|---:|---:|---:|"]
        for y, row in self.by_year().iterrows():
            lines.append(f"| {y} | {row['ACLED']:.0f} | {row['model median']:.0f} | {row['CRPS model']:.1f} | "
                         f"{row['CRPS baseline']:.1f} |")
        return "\n".join(lines) + "\n"

    def figure(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 3.6), constrained_layout=True)
        x = self.months
        for ens, colour, label in ((self.baseline, "0.6", "baseline"), (self.model, "tab:red", "model")):
            lo90, hi90 = interval(ens, 0.9)
            lo50, hi50 = interval(ens, 0.5)
            ax.fill_between(x, lo90, hi90, color=colour, alpha=0.15, step="mid", label=f"{label} 90%")
            ax.fill_between(x, lo50, hi50, color=colour, alpha=0.35, step="mid", label=f"{label} 50%")
        ax.plot(x, self.observed, color="black", lw=1.4, drawstyle="steps-mid", label="ACLED")
        ax.set_ylabel("violent events per month")
        ax.set_title(f"Out of sample: fitted to {self.cutoff_year}, predicted {x[0]:%Y}-{x[-1]:%Y}", fontsize=10)
        ax.legend(fontsize=8, ncol=5, loc="upper left")
        fig.savefig(path, dpi=120)
        plt.close(fig)


def check(event_tables: list[pd.DataFrame], *, cutoff_year: int, last_year: int, baseline_seed: int = 0,
          meta: dict | None = None) -> TemporalCheck:
    """Score runs' event logs (pandas, ACLED schema) over ``cutoff_year + 1``..``last_year``."""
    first = cutoff_year + 1
    if not event_tables:
        raise ValueError("no runs to score")
    model = np.stack([monthly_counts(ev, first, last_year) for ev in event_tables])
    obs = acled_monthly(first, last_year)
    if len(obs) != model.shape[1]:
        raise ValueError(f"ACLED monthly series covers {len(obs)} months of {first}-{last_year}, expected {model.shape[1]}")
    return TemporalCheck(months=pd.DatetimeIndex(obs.index), observed=obs.to_numpy(), model=model,
                         baseline=baseline_samples(cutoff_year, model.shape[1], seed=baseline_seed),
                         cutoff_year=cutoff_year, meta=dict(meta or {}, made=dt.datetime.now(dt.UTC).isoformat()))
