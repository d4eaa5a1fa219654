"""Paired counterfactual comparison: scenario A and scenario B on the same seeds.

Replicate ``r`` of both arms uses the same seed, so each pair shares its random draws until
the scenarios diverge, and the difference ``B - A`` of a pair isolates the effect of what
differs between them (common random numbers). For each outcome this module reports:

- the mean of A, of B, and of the paired difference, with a percentile bootstrap confidence
  interval of the mean difference (pairs resampled with replacement; numpy Generator seeded
  from the master seed's bootstrap stream);
- ``p_b_worse``: the share of pairs in which B turned out worse than A (ties count one half),
  i.e. the probability that, under the same circumstances, B is worse. "Worse" follows the
  outcome's direction (:func:`sahel_sim.outcomes.outcome_direction`): more deaths, events,
  displacement or jihadist territory is worse, more state territory is better; outcomes
  without a direction (strengths, actor involvement) get no probability;
- ``p_mean_worse``: the bootstrap share of resampled mean differences in the worse direction.

The report (``report.md`` with ``trajectories.png``, ``differences.png``, ``map_difference.png``)
and the full table (``differences.csv`` / ``.parquet``) go to the comparison's folder.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sahel_sim.config import (
    ConfigError,
    Scenario,
    apply_overrides,
    load_scenario_data,
    scenario_to_data,
    validate_scenario,
)
from sahel_sim.config.loader import parse_override
from sahel_sim.experiments.design import check_key_paths
from sahel_sim.experiments.seeds import (
    posterior_rows,
    replicate_seeds,
)
from sahel_sim.experiments.store import RunStore
from sahel_sim.experiments.sweep import Plan, Point
from sahel_sim.io.atomic import write_atomic
from sahel_sim.outcomes import outcome_direction

ARM_COLUMN = "arm"


# --------------------------------------------------------------------------- arms
# Key paths that only document a scenario (names, sources, notes) or choose its outputs: a
# difference there is no difference between the worlds the two arms simulate.
_DOC_LEAVES = frozenset({"name", "description", "source", "note", "acled_names"})
# Leaves that set the world a run starts from (initial forces, where they are, population, the
# starting balance of control): arms that differ there are not a counterfactual of one history.
_START_LEAVES = frozenset({"strength", "regions", "bases", "national_total"})
_START_WORD = re.compile(r"(^|_)start($|_)")


@dataclass(frozen=True)
class Divergence:
    """When and why two comparable arms part: ``date`` is the first day they can differ."""

    date: dt.date
    reasons: tuple[str, ...]
    differing_keys: tuple[str, ...]


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key paths of the leaves; interventions stay whole (one dated event each)."""
    out: dict[str, Any] = {}
    if isinstance(data, dict) and prefix != "interventions.":
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    elif isinstance(data, dict):
        for k, v in data.items():
            out[f"{prefix}{k}"] = v
    return out


def _ignored(key: str) -> bool:
    leaf = key.rsplit(".", 1)[-1]
    return key.startswith("outputs.") or leaf in _DOC_LEAVES or leaf.endswith("_source") or ".acled_names." in key


def _is_start_state(key: str) -> bool:
    leaf = key.rsplit(".", 1)[-1]
    if key.startswith(("actors.", "population.")) and leaf in _START_LEAVES:
        return True
    return bool(_START_WORD.search(leaf)) and not leaf.endswith("date")


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _strip_docs(iv: Any) -> Any:
    return {k: v for k, v in iv.items() if k not in _DOC_LEAVES} if isinstance(iv, dict) else iv


def _intervention_words(iid: str, iv: dict[str, Any]) -> str:
    what = " ".join(str(x) for x in (iv.get("type", ""), iv.get("actor", "")) if x)
    return f"`{iid}` ({what}, {iv.get('date')})" if what else f"`{iid}`"


def compare_arms(a: Scenario | dict[str, Any], b: Scenario | dict[str, Any], *,
                 names: tuple[str, str] = ("A", "B")) -> Divergence:
    """Check that two arms are a counterfactual of one history and find where they part.

    Refused (:class:`ConfigError`): different windows (``start_date``/``end_date``) or start
    states (initial strengths, deployments' regions and bases, population, the starting
    balance of control or legitimacy). Otherwise the divergence date is the earliest date of
    an intervention present in only one arm or different between them, or of a dated
    parameter (e.g. ``mechanisms.rivalry.start_date``) that differs; any other differing
    parameter acts from the start date.
    """
    da = scenario_to_data(a) if isinstance(a, Scenario) else dict(a)
    db = scenario_to_data(b) if isinstance(b, Scenario) else dict(b)
    fa, fb = _flatten(da), _flatten(db)
    window = [(k, fa.get(k), fb.get(k)) for k in ("start_date", "end_date") if str(fa.get(k)) != str(fb.get(k))]
    if window:
        raise ConfigError(
            f"{names[0]} and {names[1]} cover different windows ("
            + "; ".join(f"{k}: {va} in A, {vb} in B" for k, va, vb in window)
            + "). A paired comparison needs the same window and the same starting state: write B as "
            f"`extends: {Path(names[0]).name}` plus the change, or cut both arms with --set start_date=... "
            "only where they also start from the same state")
    start = _as_date(fa["start_date"])
    keys = sorted(k for k in set(fa) | set(fb) if not _ignored(k) and _strip_docs(fa.get(k)) != _strip_docs(fb.get(k)))
    start_diffs = [k for k in keys if _is_start_state(k) or (k.startswith("actors.") and (k in fa) != (k in fb)
                                                               and not k.startswith("interventions."))]
    if start_diffs:
        shown = "; ".join(f"{k}: {fa.get(k, 'absent')} in A, {fb.get(k, 'absent')} in B" for k in start_diffs[:4])
        raise ConfigError(
            f"{names[0]} and {names[1]} start from different states ({shown}"
            + (f"; and {len(start_diffs) - 4} more" if len(start_diffs) > 4 else "")
            + "). A paired comparison needs both arms to start from the same world: write B as "
            f"`extends: {Path(names[0]).name}` and change only what happens after the start")
    dates: list[dt.date] = []
    reasons: list[str] = []
    for k in keys:
        if k.startswith("interventions."):
            iid = k.removeprefix("interventions.")
            ia, ib = fa.get(k), fb.get(k)
            ds = [d for iv in (ia, ib) if isinstance(iv, dict) and (d := _as_date(iv.get("date"))) is not None]
            if ia is None or ib is None:
                which, iv = ("A", ia) if ib is None else ("B", ib)
                reasons.append(f"intervention {_intervention_words(iid, iv)} only in {which}")
            else:
                reasons.append(f"intervention `{iid}` differs (A: {ia.get('date')}, B: {ib.get('date')})")
            dates.append(min(ds) if ds else start)
        elif (da_ := _as_date(fa.get(k))) is not None or _as_date(fb.get(k)) is not None:
            ds = [d for d in (_as_date(fa.get(k)), _as_date(fb.get(k))) if d is not None]
            del da_
            reasons.append(f"`{k}`: {fa.get(k)} in A, {fb.get(k)} in B")
            dates.append(min(ds))
        else:
            reasons.append(f"`{k}`: {fa.get(k, 'absent')} in A, {fb.get(k, 'absent')} in B (acts from the start)")
            dates.append(start)
    if not keys:
        return Divergence(start, ("the two arms are the same scenario: every difference is noise",), ())
    first = max(min(dates), start)
    order = sorted(range(len(keys)), key=lambda i: dates[i])
    return Divergence(first, tuple(reasons[i] for i in order), tuple(keys[i] for i in order))


# --------------------------------------------------------------------------- posterior
POSTERIOR_WEIGHT = "weight"


@dataclass(frozen=True)
class Posterior:
    """A weighted sample of parameter vectors (rows), as ``sahel-sim calibrate`` writes it."""

    path: Path
    keys: tuple[str, ...]
    values: np.ndarray  # rows x keys
    weights: np.ndarray
    labels: tuple[str, ...]


def read_posterior(path: str | Path) -> Posterior:
    """Parameter columns are the dotted key paths; ``weight`` the weights; ``stat:*`` are ignored."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"--posterior {path}: file not found (calibration/posterior.parquet is written by "
                          "`sahel-sim calibrate`)")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # any unreadable file is the same user error
        raise ConfigError(f"--posterior {path}: not a readable Parquet file ({type(exc).__name__})") from None
    keys = tuple(c for c in df.columns if "." in c and not c.startswith("stat:"))
    if not keys:
        raise ConfigError(f"--posterior {path}: no parameter columns (expected dotted key paths such as "
                          "mechanisms.combat.strike_rate_per_week)")
    if df.empty:
        raise ConfigError(f"--posterior {path}: no rows")
    weights = (df[POSTERIOR_WEIGHT].to_numpy(dtype=np.float64) if POSTERIOR_WEIGHT in df.columns
               else np.ones(len(df)))
    if not np.all(np.isfinite(weights)) or (weights < 0).any() or weights.sum() <= 0:
        raise ConfigError(f"--posterior {path}: column {POSTERIOR_WEIGHT!r} must hold finite, non-negative "
                          "weights, not all zero")
    labels = tuple(str(x) for x in df["particle"]) if "particle" in df.columns else tuple(map(str, range(len(df))))
    return Posterior(path, keys, df[list(keys)].to_numpy(dtype=np.float64), weights, labels)


# --------------------------------------------------------------------------- plan
def plan_compare(a: str | Path, b: str | Path, *, replicates: int, seed: int, overrides: Iterable[str] = (),
                 posterior: str | Path | None = None) -> Plan:
    """Both arms as a two-point plan on the same replicate seeds, keeping per-cell totals.

    The arms must be comparable (:func:`compare_arms`). With ``posterior``, replicate ``r``
    draws one row of the posterior (:func:`~sahel_sim.experiments.seeds.posterior_rows`) and
    both arms run it with the same seed; a parameter that differs between the arms, or is
    given with ``--set``, keeps the arm's own value.
    """
    overrides = list(overrides)
    paths = (Path(a), Path(b))
    datas = [load_scenario_data(p, overrides) for p in paths]
    where = " (with --set)" if overrides else ""
    scenarios = [validate_scenario(d, source=f"{p}{where}") for d, p in zip(datas, paths, strict=True)]
    divergence = compare_arms(scenarios[0], scenarios[1], names=(str(a), str(b)))
    points = tuple(Point(i, arm, {ARM_COLUMN: arm, "scenario": sc.name}, sc)
                   for i, (arm, sc) in enumerate(zip(("A", "B"), scenarios, strict=True)))
    seeds = tuple(replicate_seeds(seed, replicates))
    spec: dict[str, Any] = {"a": str(a), "b": str(b), "replicates": replicates, "set": overrides,
                            "scenario_b": scenario_to_data(scenarios[1]), "posterior": None}
    rep_values: tuple[dict[str, Any], ...] = ()
    rep_scenarios: tuple[tuple[Scenario, ...], ...] = ()
    if posterior is not None:
        post = read_posterior(posterior)
        fixed = set(divergence.differing_keys) | {parse_override(o)[0] for o in overrides}
        keys = [k for k in post.keys if k not in fixed]
        for arm, sc in zip(("A", "B"), scenarios, strict=True):
            try:
                check_key_paths(keys, scenario_to_data(sc), source=f"--posterior {post.path}", where="columns")
            except ConfigError as exc:
                raise ConfigError(f"{exc} (in arm {arm}); the model's parameters have changed since this posterior "
                                  "was written: recalibrate (`sahel-sim calibrate`) or drop the column") from None
        cols = [post.keys.index(k) for k in keys]
        rows = posterior_rows(seed, replicates, post.weights)
        rep_values = tuple({"posterior_row": i, **{k: float(post.values[i, j]) for k, j in zip(keys, cols,
                                                                                                 strict=True)}}
                           for i in rows)
        per_arm = []
        for d, p in zip(datas, paths, strict=True):
            arm_scenarios = []
            for r, i in enumerate(rows):
                values = {k: v for k, v in rep_values[r].items() if k != "posterior_row"}
                arm_scenarios.append(validate_scenario(
                    apply_overrides(d, values), source=f"{p}{where} with --posterior {post.path} row {i} "
                    f"(particle {post.labels[i]})"))
            per_arm.append(tuple(arm_scenarios))
        rep_scenarios = tuple(per_arm)
        spec["posterior"] = {"path": str(post.path), "rows": len(post.labels), "parameters": keys,
                             "kept_per_arm": sorted(set(post.keys) - set(keys))}
    return Plan(kind="compare", name=f"{scenarios[0].name}-vs-{scenarios[1].name}", points=points,
                seeds=seeds, master_seed=seed, parameters=(ARM_COLUMN, "scenario"), base=scenarios[0],
                keep_cells=True, spec=spec, source=f"{a} vs {b}", replicate_values=rep_values,
                replicate_scenarios=rep_scenarios)


# --------------------------------------------------------------------------- statistics
def paired_bootstrap(diffs: np.ndarray, *, rng: np.random.Generator, n_boot: int = 2000,
                     conf: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean of paired differences (n pairs x k outcomes) with a percentile bootstrap interval.

    Returns ``(mean, low, high, boot_means)``; ``boot_means`` is (n_boot, k). Pairs are
    resampled with replacement, the same resample for every outcome (one multinomial weight
    matrix, so this is a matrix product rather than a loop).
    """
    diffs = np.asarray(diffs, dtype=np.float64)
    if diffs.ndim == 1:
        diffs = diffs[:, None]
    n = diffs.shape[0]
    if n < 1:
        raise ValueError("need at least one pair")
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)
    boot = weights @ diffs / n
    alpha = (1.0 - conf) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
    return diffs.mean(axis=0), low, high, boot


def share_worse(diffs: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Share of pairs where B is worse than A (ties count one half); NaN without a direction."""
    d = np.asarray(diffs, dtype=np.float64) * np.asarray(directions)[None, :]
    p = ((d > 0).sum(axis=0) + 0.5 * (d == 0).sum(axis=0)) / max(d.shape[0], 1)
    return np.where(np.asarray(directions) == 0, np.nan, p)


def paired_table(a: pd.DataFrame, b: pd.DataFrame, *, outcomes: Sequence[str], rng: np.random.Generator,
                 n_boot: int = 2000, conf: float = 0.95, state_factions: Iterable[str] = ("FAMa",),
                 armed_factions: Iterable[str] = ("JNIM", "ISGS")) -> pd.DataFrame:
    """One row per outcome: means of A and B, paired difference with CI, P(B worse).

    ``a`` and ``b`` are outcome tables with a ``seed`` column; rows are paired on the seed.
    Outcomes missing (NaN) in any pair are dropped from the table.
    """
    merged = a.merge(b, on="seed", suffixes=("_A", "_B"))
    if merged.empty:
        raise ValueError("no seed appears in both arms")
    cols = [o for o in outcomes if f"{o}_A" in merged and f"{o}_B" in merged]
    xa = merged[[f"{o}_A" for o in cols]].to_numpy(dtype=np.float64)
    xb = merged[[f"{o}_B" for o in cols]].to_numpy(dtype=np.float64)
    ok = ~(np.isnan(xa).any(axis=0) | np.isnan(xb).any(axis=0))
    cols = [c for c, k in zip(cols, ok, strict=True) if k]
    xa, xb = xa[:, ok], xb[:, ok]
    diffs = xb - xa
    mean, low, high, boot = paired_bootstrap(diffs, rng=rng, n_boot=n_boot, conf=conf)
    directions = np.array([outcome_direction(c, state_factions=state_factions, armed_factions=armed_factions)
                           for c in cols])
    p_worse = share_worse(diffs, directions)
    signed = boot * directions[None, :]
    p_mean_worse = np.where(directions == 0, np.nan,
                            ((signed > 0).sum(axis=0) + 0.5 * (signed == 0).sum(axis=0)) / boot.shape[0])
    mean_a = xa.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(mean_a != 0, mean / np.abs(mean_a), np.nan)
    return pd.DataFrame({
        "outcome": cols, "mean_A": mean_a, "mean_B": xb.mean(axis=0), "diff_mean": mean,
        "diff_low": low, "diff_high": high, "diff_relative": rel, "direction": directions,
        "p_b_worse": p_worse, "p_mean_worse": p_mean_worse, "n_pairs": len(merged),
    })


# --------------------------------------------------------------------------- report
def _years(df: pd.DataFrame, prefix: str) -> list[int]:
    pat = re.compile(rf"^{re.escape(prefix)}_(\d{{4}})$")
    return sorted(int(m.group(1)) for c in df.columns if (m := pat.match(c)))


def headline_outcomes(df: pd.DataFrame, factions: Sequence[str]) -> list[str]:
    years = _years(df, "civilian_deaths")
    last = years[-1] if years else None
    names = ["civilian_deaths_total"]
    if last:
        names += [f"civilian_deaths_{last}", f"combatant_deaths_{last}", f"mi_events_{last}"]
    names += ["mi_events_per_year", "events_per_year"]
    if last:
        names += [f"displaced_{last}", f"idps_{last}", f"refugees_{last}"]
        names += [f"control_share_{f}_{last}" for f in factions]
    return [n for n in names if n in df.columns]


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.1f}"
    return f"{x:.3f}"


def _figure(figsize: tuple[float, float]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_trajectories(a: pd.DataFrame, b: pd.DataFrame, panels: Sequence[tuple[str, str]], path: Path,
                      *, names: tuple[str, str]) -> Path:
    """Yearly trajectories of both arms: median and 5-95% range over replicates."""
    from matplotlib.ticker import MaxNLocator

    n = len(panels)
    cols = min(4, n)
    rows = -(-n // cols)
    fig = _figure((4.2 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (prefix, title) in zip(axes, panels, strict=False):
        years = _years(a, prefix)
        for df, name, color in ((a, names[0], "#1f77b4"), (b, names[1], "#d62728")):
            m = df[[f"{prefix}_{y}" for y in years]].to_numpy(dtype=float) if years and len(df) else np.empty((0, 0))
            has = ~np.isnan(m).all(axis=0) if m.size else np.zeros(len(years), dtype=bool)
            if not has.any():  # no data (e.g. an arm with no finished run): no line, no warning
                continue
            xs = np.asarray(years)[has]
            lo, med, hi = np.nanquantile(m[:, has], [0.05, 0.5, 0.95], axis=0)
            ax.fill_between(xs, lo, hi, color=color, alpha=0.2, linewidth=0)
            ax.plot(xs, med, color=color, marker="o", markersize=3, label=name)
        ax.set_title(title, fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Both arms, median and 5-95% range over {len(a)} runs each", fontsize=11)
    write_atomic(Path(path), lambda tmp: fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png"))
    return path


def plot_differences(merged_diffs: pd.DataFrame, table: pd.DataFrame, path: Path, *,
                     labels: dict[str, str] | None = None) -> Path:
    """Histograms of paired differences B - A, with zero and the mean's confidence interval."""
    outs = list(merged_diffs.columns)
    n = len(outs)
    cols = min(4, n)
    rows = -(-n // cols)
    fig = _figure((4.0 * cols, 2.9 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    t = table.set_index("outcome")
    for ax, o in zip(axes, outs, strict=False):
        d = merged_diffs[o].to_numpy(dtype=float)
        d = d[np.isfinite(d)]
        if len(d):
            ax.hist(d, bins=min(30, max(5, len(d) // 2)), color="0.6", edgecolor="white")
        ax.axvline(0, color="black", linewidth=1)
        ax.axvspan(t.loc[o, "diff_low"], t.loc[o, "diff_high"], color="#d62728", alpha=0.25)
        ax.axvline(t.loc[o, "diff_mean"], color="#d62728", linewidth=1.5)
        p = t.loc[o, "p_b_worse"]
        n = len(d)
        worse = "" if not np.isfinite(p) else (f"\nB worse in {p * n:.3g} of {n} pairs")
        title = (labels or {}).get(o, o)
        ax.set_title(textwrap.fill(title, 38) + worse, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle("Paired differences B - A (grey: pairs; red: mean and 95% bootstrap CI)", fontsize=11)
    write_atomic(Path(path), lambda tmp: fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png"))
    return path


def plot_difference_maps(store: RunStore, keys_a: Sequence[str], keys_b: Sequence[str], path: Path) -> Path | None:
    """Where the difference falls: mean per-cell difference B - A over the paired runs."""
    layers = (("civilian_deaths", "civilians killed over the run", "RdBu_r"),
              ("violence", "violent events over the run", "RdBu_r"),
              ("jihadist_control_end", "P(cell held by a jihadist group) at the end", "RdBu_r"))
    sums: dict[str, np.ndarray] = {}
    gid = None
    n = 0
    for ka, kb in zip(keys_a, keys_b, strict=True):
        try:
            ca, cb = store.read_cells(ka), store.read_cells(kb)
        except FileNotFoundError:
            continue
        gid = ca["gid"]
        for name, _, _ in layers:
            sums[name] = sums.get(name, 0.0) + (cb[name].astype(np.float64) - ca[name].astype(np.float64))
        n += 1
    if n == 0 or gid is None:
        return None
    from sahel_sim.geography import load_grid

    grid = load_grid()
    order = np.argsort(grid.gid)
    pos = order[np.searchsorted(grid.gid[order], gid)]
    fig = _figure((6.2 * len(layers), 5.6))
    axes = fig.subplots(1, len(layers), squeeze=False).ravel()
    try:
        from sahel_sim.viz.mapplot import draw_grid
    except ImportError:  # pragma: no cover - viz not available
        draw_grid = None
    for ax, (name, title, cmap) in zip(axes, layers, strict=True):
        values = np.zeros(grid.n_cells)
        values[pos] = sums[name] / n
        vmax = float(np.nanmax(np.abs(values))) or 1.0
        if draw_grid is not None:
            draw_grid(ax, grid, values=values, cmap=cmap, vmin=-vmax, vmax=vmax, title=None,
                      show_bases=False, legend=False, colorbar_label="B - A (mean over pairs)")
        else:
            sc = ax.scatter(grid.lon, grid.lat, c=values, cmap=cmap, vmin=-vmax, vmax=vmax, marker="s", s=30)
            fig.colorbar(sc, ax=ax, shrink=0.75)
        ax.set_title(title, fontsize=11)
    fig.suptitle(f"Where the difference falls: B - A, mean over {n} paired runs (red: more in B)", fontsize=12)
    write_atomic(Path(path), lambda tmp: fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png"))
    return path


def write_compare_report(out: str | Path, **kw: Any) -> Path:
    """Write the comparison folder's report (see :mod:`sahel_sim.experiments.report`)."""
    from sahel_sim.experiments.report import write_compare_report as write

    return write(out, **kw)
