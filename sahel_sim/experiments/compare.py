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
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sahel_sim.config import ConfigError, load_scenario, scenario_to_data
from sahel_sim.experiments.seeds import BOOTSTRAP_STREAM, replicate_seeds, stream_rng
from sahel_sim.experiments.store import RunStore
from sahel_sim.experiments.sweep import Plan, Point
from sahel_sim.io.atomic import write_atomic
from sahel_sim.outcomes import outcome_direction

ARM_COLUMN = "arm"


# --------------------------------------------------------------------------- plan
def plan_compare(a: str | Path, b: str | Path, *, replicates: int, seed: int, overrides: Iterable[str] = ()) -> Plan:
    """Both arms as a two-point plan on the same replicate seeds, keeping per-cell totals."""
    overrides = list(overrides)
    scenarios = [load_scenario(p, overrides) for p in (a, b)]
    points = tuple(Point(i, arm, {ARM_COLUMN: arm, "scenario": sc.name}, sc)
                   for i, (arm, sc) in enumerate(zip(("A", "B"), scenarios, strict=True)))
    spec = {"a": str(a), "b": str(b), "replicates": replicates, "set": overrides,
            "scenario_b": scenario_to_data(scenarios[1])}
    return Plan(kind="compare", name=f"{scenarios[0].name}-vs-{scenarios[1].name}", points=points,
                seeds=tuple(replicate_seeds(seed, replicates)), master_seed=seed,
                parameters=(ARM_COLUMN, "scenario"), base=scenarios[0], keep_cells=True, spec=spec,
                source=f"{a} vs {b}")


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
            if not years:
                continue
            m = df[[f"{prefix}_{y}" for y in years]].to_numpy(dtype=float)
            lo, med, hi = np.nanquantile(m, [0.05, 0.5, 0.95], axis=0)
            ax.fill_between(years, lo, hi, color=color, alpha=0.2, linewidth=0)
            ax.plot(years, med, color=color, marker="o", markersize=3, label=name)
        ax.set_title(title, fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Both arms, median and 5-95% range of {len(a)} replicates", fontsize=11)
    write_atomic(Path(path), lambda tmp: fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png"))
    return path


def plot_differences(merged_diffs: pd.DataFrame, table: pd.DataFrame, path: Path) -> Path:
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
        ax.hist(d, bins=min(30, max(5, len(d) // 2)), color="0.6", edgecolor="white")
        ax.axvline(0, color="black", linewidth=1)
        ax.axvspan(t.loc[o, "diff_low"], t.loc[o, "diff_high"], color="#d62728", alpha=0.25)
        ax.axvline(t.loc[o, "diff_mean"], color="#d62728", linewidth=1.5)
        p = t.loc[o, "p_b_worse"]
        ax.set_title(o + (f"\nP(B worse) = {p:.2f}" if np.isfinite(p) else ""), fontsize=9)
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


def write_compare_report(out: str | Path, *, extra_outcomes: Iterable[str] = (), n_boot: int = 2000,
                         conf: float = 0.95) -> Path:
    """Analyse a finished (or partly finished) comparison folder and write its report."""
    out = Path(out)
    store = RunStore(out)
    manifest = store.read_manifest() or {}
    if manifest.get("kind") != "compare":
        raise ConfigError(f"{out}: not a comparison folder (manifest.json kind is {manifest.get('kind')!r})")
    table = store.read_runs()
    if table is None:
        raise ConfigError(f"{out}: no finished runs to compare")
    df = table.to_pandas()
    a = df[df[ARM_COLUMN] == "A"].reset_index(drop=True)
    b = df[df[ARM_COLUMN] == "B"].reset_index(drop=True)
    names = (str(a["scenario"].iloc[0]) if len(a) else "A", str(b["scenario"].iloc[0]) if len(b) else "B")
    outcome_cols = [c for c in df.columns if c not in ("run_key", "point", "replicate", "seed", ARM_COLUMN, "scenario")
                    and pd.api.types.is_numeric_dtype(df[c])]
    scen = manifest.get("scenario", {})
    actors = scen.get("actors", {})
    factions = sorted({c.removeprefix("control_share_").rsplit("_", 1)[0] for c in outcome_cols
                       if c.startswith("control_share_") and re.search(r"_\d{4}$", c)})
    factions = [f for f in factions if f != "uncontrolled"]
    state = [f for f in factions if actors.get(f, {}).get("kind") == "state"] or ["FAMa"]
    armed = [f for f in factions if actors.get(f, {}).get("kind") == "jihadist"] or ["JNIM", "ISGS"]

    rng = stream_rng(int(manifest["master_seed"]), BOOTSTRAP_STREAM)
    full = paired_table(a, b, outcomes=outcome_cols, rng=rng, n_boot=n_boot, conf=conf,
                        state_factions=state, armed_factions=armed)
    write_atomic(out / "differences.csv", full.to_csv(index=False))
    write_atomic(out / "differences.parquet", lambda tmp: full.to_parquet(tmp, index=False))

    extra = list(extra_outcomes)
    unknown = [o for o in extra if o not in full["outcome"].tolist()]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], full["outcome"].tolist(), n=1)
        raise ConfigError(f"--outcome {unknown[0]}: not an outcome of these runs"
                          + (f"; did you mean {close[0]!r}?" if close else "; see differences.csv for all names"))
    head = list(dict.fromkeys(headline_outcomes(df, [*factions, "uncontrolled"]) + extra))
    head = [h for h in head if h in full["outcome"].tolist()]
    tab = full.set_index("outcome").loc[head]

    merged = a.merge(b, on="seed", suffixes=("_A", "_B"))
    diffs = pd.DataFrame({o: merged[f"{o}_B"] - merged[f"{o}_A"] for o in head[:8]})
    panels = [("civilian_deaths", "civilian deaths per year"), ("combatant_deaths", "combatant deaths per year"),
              ("mi_events", "militant Islamist events per year"), ("displaced", "displaced people (year end)")]
    panels += [(f"control_share_{f}", f"share of cells held by {f}") for f in factions]
    figs = [plot_trajectories(a, b, panels, out / "trajectories.png", names=names),
            plot_differences(diffs, full, out / "differences.png")]
    keys = merged[["run_key_A", "run_key_B"]].to_numpy()
    map_path = plot_difference_maps(store, keys[:, 0], keys[:, 1], out / "map_difference.png")
    if map_path is not None:
        figs.append(map_path)

    lines = [
        f"# Counterfactual comparison: {names[1]} (B) vs {names[0]} (A)",
        "",
        f"- **A**: `{manifest.get('spec', {}).get('a')}` ({names[0]})",
        f"- **B**: `{manifest.get('spec', {}).get('b')}` ({names[1]})",
        f"- **Pairs**: {len(merged)} replicate runs per arm on the same seeds (master seed "
        f"{manifest.get('master_seed')}; seed of each pair in `outcomes.parquet`)",
        f"- **Produced**: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} by sahel-sim "
        f"(git {manifest.get('git_commit', 'unknown')}); command: `{manifest.get('command') or ''}`",
        "",
        "Each pair of runs shares its seed, so the difference B - A of a pair shows the effect of what "
        "differs between the scenarios, not luck of the draw. The interval is a 95% percentile bootstrap "
        f"interval of the mean difference ({n_boot} resamples of the pairs). **P(B worse)** is the share of "
        "pairs in which B turned out worse than A (more deaths, events, displaced people or jihadist-held "
        "territory; less state-held territory). These are model results under the scenarios' assumptions, "
        "not forecasts.",
        "",
        "| outcome | mean A | mean B | B - A | 95% CI | change | P(B worse) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for o, r in tab.iterrows():
        p = r["p_b_worse"]
        rel = r["diff_relative"]
        lines.append(f"| `{o}` | {_fmt(r['mean_A'])} | {_fmt(r['mean_B'])} | {_fmt(r['diff_mean'])} | "
                     f"[{_fmt(r['diff_low'])}, {_fmt(r['diff_high'])}] | "
                     f"{'–' if not np.isfinite(rel) else f'{rel:+.0%}'} | {'–' if not np.isfinite(p) else f'{p:.2f}'} |")
    lines += ["", "All outcomes: `differences.csv` (same columns, plus `p_mean_worse`, the bootstrap "
              "probability that the mean difference is in the worse direction).", ""]
    captions = {"trajectories.png": "Yearly trajectories of both arms (median and 5-95% range over replicates)",
                "differences.png": "Distribution of paired differences B - A",
                "map_difference.png": "Where the difference falls (mean per-cell difference B - A)"}
    for f in figs:
        lines += [f"## {captions[f.name]}", "", f"![{captions[f.name]}]({f.name})", ""]
    lines += ["## Reproduce", "", "Rerun the command above with the same `--seed`; `manifest.json` holds both "
              "resolved scenarios' digests, the seeds, package versions and the git commit.", ""]
    path = out / "report.md"

    write_atomic(path, "\n".join(lines))
    return path
