"""Global sensitivity analysis with SALib: Sobol' indices or Morris elementary effects.

A sensitivity file gives parameter ranges (key paths of the scenario schema), the method,
the sample size, the replicates averaged at each sample (the model is stochastic: averaging
over replicates on common seeds removes most of the noise from the indices) and the outcomes
to analyse::

    name: core
    scenario: ../classroom.yaml
    set: {end_date: 2020-12-28}
    method: sobol              # or morris
    samples: 16                # Sobol': base samples N (power of two; N*(D+2) points);
                               # Morris: trajectories (N*(D+1) points)
    replicates: 2
    seed: 7
    parameters:
      mechanisms.combat.battle_rate_per_week: {low: 0.15, high: 0.35}
    outcomes: [civilian_deaths_total, mi_events_per_year]

Samples are drawn by ``SALib.sample.sobol.sample`` (Saltelli's scheme) or
``SALib.sample.morris.sample``; indices by ``SALib.analyze.sobol.analyze`` (S1, ST with 95%
bootstrap intervals) or ``SALib.analyze.morris.analyze`` (mu*, sigma, with mu*'s interval).
Sampler and bootstrap seeds derive from the master seed.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from sahel_sim.config import ConfigError, scenario_to_data
from sahel_sim.experiments.design import Name, _Strict, check_key_paths, read_spec
from sahel_sim.experiments.seeds import SENSITIVITY_STREAM, replicate_seeds, stream_int
from sahel_sim.experiments.store import RunStore
from sahel_sim.experiments.sweep import Plan, build_points, load_base
from sahel_sim.io.atomic import write_atomic

DEFAULT_OUTCOMES = ("civilian_deaths_total", "combatant_deaths_total", "mi_events_per_year", "displaced_peak")


class Range(_Strict):
    low: float
    high: float
    integer: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.high > self.low:
            raise ValueError(f"high must be greater than low (got low={self.low}, high={self.high})")
        return self


class SensitivitySpec(_Strict):
    name: Name
    description: str = ""
    scenario: str = Field(min_length=1, description="base scenario file, relative to this file")
    set: dict[str, Any] = Field(default_factory=dict)
    method: Literal["sobol", "morris"] = "sobol"
    samples: int = Field(ge=2, le=100_000, description="Sobol': base samples N; Morris: trajectories")
    replicates: int = Field(1, ge=1, le=1000)
    seed: int = Field(ge=0)
    second_order: bool = Field(False, description="Sobol': also second-order indices (N*(2D+2) points)")
    num_levels: int = Field(4, ge=2, le=100, description="Morris: grid levels")
    conf_level: float = Field(0.95, gt=0.5, lt=1.0)
    parameters: dict[str, Range] = Field(min_length=2)
    outcomes: list[str] = Field(default_factory=lambda: list(DEFAULT_OUTCOMES), min_length=1)

    @model_validator(mode="after")
    def _sobol_power_of_two(self) -> SensitivitySpec:
        n = self.samples
        if self.method == "sobol" and n & (n - 1):
            lo = 1 << (n.bit_length() - 1)
            raise ValueError(f"samples: Sobol' sampling needs a power of two (got {n}; use {lo} or {lo * 2})")
        return self


def salib_problem(spec: SensitivitySpec) -> dict[str, Any]:
    return {"num_vars": len(spec.parameters), "names": list(spec.parameters),
            "bounds": [[r.low, r.high] for r in spec.parameters.values()]}


def sample_matrix(spec: SensitivitySpec) -> np.ndarray:
    problem = salib_problem(spec)
    seed = stream_int(spec.seed, SENSITIVITY_STREAM)
    if spec.method == "sobol":
        from SALib.sample import sobol

        x = sobol.sample(problem, spec.samples, calc_second_order=spec.second_order, seed=seed)
    else:
        from SALib.sample import morris

        x = morris.sample(problem, spec.samples, num_levels=spec.num_levels, seed=seed)
    return np.asarray(x, dtype=np.float64)


def load_sensitivity(path: str | Path) -> tuple[SensitivitySpec, Plan]:
    """Read a sensitivity file, sample it and validate every sample as a scenario."""
    path = Path(path)
    spec: SensitivitySpec = read_spec(path, SensitivitySpec)
    data, base = load_base(path, spec.scenario, spec.set)
    check_key_paths(list(spec.parameters), scenario_to_data(base), source=str(path), where="parameters")
    x = sample_matrix(spec)
    ranges = list(spec.parameters.values())
    designs = [{k: (round(v) if r.integer else float(v))
                for k, v, r in zip(spec.parameters, row, ranges, strict=True)} for row in x]
    points = build_points(data, designs, source=str(path))
    plan = Plan(kind="sensitivity", name=spec.name, points=points,
                seeds=tuple(replicate_seeds(spec.seed, spec.replicates)), master_seed=spec.seed,
                parameters=tuple(spec.parameters), base=base, spec=spec.model_dump(mode="json"), source=str(path))
    return spec, plan


def point_means(df: pd.DataFrame, outcomes: list[str], n_points: int) -> np.ndarray:
    """Outcomes averaged over replicates at each sample point (n_points x outcomes)."""
    means = df.groupby("point")[outcomes].mean().reindex(range(n_points))
    return means.to_numpy(dtype=np.float64)


def analyse(spec: SensitivitySpec, x: np.ndarray, y: np.ndarray, outcomes: list[str]) -> pd.DataFrame:
    """Tidy indices: outcome, parameter, index, value, conf (half-width of the CI)."""
    problem = salib_problem(spec)
    seed = stream_int(spec.seed, SENSITIVITY_STREAM)
    rows = []
    for j, outcome in enumerate(outcomes):
        yj = y[:, j]
        if spec.method == "sobol":
            from SALib.analyze import sobol

            si = sobol.analyze(problem, yj, calc_second_order=spec.second_order, conf_level=spec.conf_level,
                               seed=seed)
            pairs = (("S1", "S1_conf"), ("ST", "ST_conf"))
        else:
            from SALib.analyze import morris

            si = morris.analyze(problem, x, yj, conf_level=spec.conf_level, num_levels=spec.num_levels, seed=seed)
            pairs = (("mu_star", "mu_star_conf"), ("sigma", None), ("mu", None))
        for i, name in enumerate(problem["names"]):
            for idx, conf in pairs:
                rows.append({"outcome": outcome, "parameter": name, "index": idx,
                             "value": float(np.asarray(si[idx])[i]),
                             "conf": float(np.asarray(si[conf])[i]) if conf else float("nan")})
    return pd.DataFrame(rows)


MIN_SOBOL_SAMPLES = 512
"""Base samples N below which Sobol' indices are flagged as unreliable. Saltelli et al. (2010,
Comput. Phys. Commun. 181:259) use N of several hundred to thousands; SALib's examples 1024.
Below this, estimates outside [0, 1] and confidence intervals wider than the indices are common."""

MIN_MORRIS_TRAJECTORIES = 10
"""Morris trajectories below which mu* is flagged (Campolongo et al. 2007 use 10 to 20)."""

WARNINGS_FILE = "warnings.txt"


def runs_needed(spec: SensitivitySpec, samples: int) -> int:
    d = len(spec.parameters)
    per = (2 * d + 2 if spec.second_order else d + 2) if spec.method == "sobol" else d + 1
    return samples * per * spec.replicates


def reliability_warnings(spec: SensitivitySpec, indices: pd.DataFrame) -> list[str]:
    """Plain-words warnings when the sample is too small for the indices to mean anything."""
    out: list[str] = []
    n_runs = runs_needed(spec, spec.samples)
    if spec.method == "sobol":
        if spec.samples < MIN_SOBOL_SAMPLES:
            out.append(f"Sobol' indices from {spec.samples} base samples ({n_runs} runs) are not reliable; use "
                       f"samples: {MIN_SOBOL_SAMPLES} or more ({runs_needed(spec, MIN_SOBOL_SAMPLES):,} runs with "
                       f"{spec.replicates} replicate(s)), or method: morris for a cheaper screening.")
        s = indices[indices["index"].isin(["S1", "ST"])]
        bad = s[(s["value"] < -0.05) | (s["value"] > 1.05)]
        if len(bad):
            ex = ", ".join(f"{r['index']} = {r['value']:.2f} ({r['parameter'].rsplit('.', 1)[-1]} on {r['outcome']})"
                           for _, r in bad.head(3).iterrows())
            out.append(f"{len(bad)} indices lie outside [0, 1], where Sobol' indices must be (e.g. {ex}): "
                       "they are estimation noise, not effects.")
        wide = s[s["conf"] > 0.25]
        if len(wide):
            out.append(f"{len(wide)} of {len(s)} indices have 95% intervals wider than +-0.25 (up to "
                       f"+-{s['conf'].max():.2f}): too uncertain to rank the parameters.")
    elif spec.samples < MIN_MORRIS_TRAJECTORIES:
        out.append(f"Morris screening from {spec.samples} trajectories ({n_runs} runs) is not reliable; use "
                   f"samples: {MIN_MORRIS_TRAJECTORIES} or more ({runs_needed(spec, MIN_MORRIS_TRAJECTORIES):,} runs).")
    return out


def plot_indices(table: pd.DataFrame, spec: SensitivitySpec, path: Path, *, warnings: list[str] | None = None) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    outcomes = list(dict.fromkeys(table["outcome"]))
    params = list(spec.parameters)
    shown = ("S1", "ST") if spec.method == "sobol" else ("mu_star",)
    fig = Figure(figsize=(max(5.0, 1.1 * len(params) + 2) * min(len(outcomes), 2), 3.6 * -(-len(outcomes) // 2)),
                 dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(-(-len(outcomes) // 2), min(len(outcomes), 2), squeeze=False).ravel()
    x = np.arange(len(params))
    width = 0.8 / len(shown)
    labels = [p.rsplit(".", 2)[-2] + "." + p.rsplit(".", 1)[-1] if p.count(".") >= 1 else p for p in params]
    for ax, outcome in zip(axes, outcomes, strict=False):
        t = table[table["outcome"] == outcome]
        for k, idx in enumerate(shown):
            s = t[t["index"] == idx].set_index("parameter").reindex(params)
            ax.bar(x + (k - (len(shown) - 1) / 2) * width, s["value"], width, yerr=s["conf"], capsize=3, label=idx)
        ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(outcome, fontsize=10)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes[len(outcomes):]:
        ax.set_visible(False)
    what = "Sobol' indices (S1 first order, ST total)" if spec.method == "sobol" else "Morris mu* (mean |elementary effect|)"
    title = f"{spec.name}: {what}, {int(spec.conf_level * 100)}% CI; {spec.replicates} replicate(s) averaged"
    if warnings:
        title += "\nWARNING: sample too small, indices not reliable (see warnings.txt)"
    fig.suptitle(title, fontsize=11, color="#b2182b" if warnings else "black")
    path = Path(path)
    write_atomic(path, lambda tmp: fig.savefig(tmp, format=path.suffix.lstrip(".") or "png"))
    return path


def analyse_sensitivity(spec: SensitivitySpec, plan: Plan, out: str | Path, *, source: str) -> list[Path]:
    """Average replicates, compute indices, write indices.csv/.parquet and sensitivity.png."""
    out = Path(out)
    table = RunStore(out).read_runs()
    if table is None:
        raise ConfigError(f"{out}: no finished runs to analyse")
    df = table.to_pandas()
    for i, o in enumerate(spec.outcomes):
        if o not in df.columns:
            names = [c for c in df.columns if c not in ("run_key", "point", "replicate", "seed", *spec.parameters)]
            close = difflib.get_close_matches(o, names, n=1)
            raise ConfigError(f"{source}: outcomes[{i}]: {o!r} is not an outcome of these runs"
                              + (f"; did you mean {close[0]!r}?" if close else ""))
    y = point_means(df, spec.outcomes, len(plan.points))
    missing = np.isnan(y).any(axis=1)
    if missing.any():
        raise ConfigError(f"{out}: {int(missing.sum())} of {len(y)} sample points have no finished run "
                          "(see failed/); rerun the same command to complete them before the analysis")
    x = np.array([[p.values[k] for k in spec.parameters] for p in plan.points], dtype=np.float64)
    indices = analyse(spec, x, y, spec.outcomes)
    csv = out / "indices.csv"
    write_atomic(csv, indices.to_csv(index=False))
    pq_path = out / "indices.parquet"
    write_atomic(pq_path, lambda tmp: indices.to_parquet(tmp, index=False))
    warnings = reliability_warnings(spec, indices)
    png = plot_indices(indices, spec, out / "sensitivity.png", warnings=warnings)
    paths = [csv, pq_path, png]
    wpath = out / WARNINGS_FILE
    if warnings:
        write_atomic(wpath, "\n".join(warnings) + "\n")
        paths.append(wpath)
    elif wpath.exists():
        wpath.unlink()
    return paths
