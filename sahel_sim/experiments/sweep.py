"""Sweep files: a base scenario, parameter ranges, a design and replicates, as a :class:`Plan`.

:func:`load_sweep` reads a sweep file and validates every design point through the one
scenario validation path; :func:`build_points` and :func:`load_base` are shared with the
sensitivity analysis. Running a plan is the experiment engine's job
(:func:`sahel_sim.experiments.engine.execute_plan`, re-exported here).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sahel_sim.config import (
    ConfigError,
    Scenario,
    apply_overrides,
    scenario_to_data,
    validate_scenario,
)
from sahel_sim.experiments.design import (
    SweepSpec,
    check_key_paths,
    design_points,
    read_spec,
)
from sahel_sim.experiments.engine import (  # noqa: F401 - the engine's names, for existing imports
    Plan,
    PlanReport,
    Point,
    RunOutput,
    Task,
    cell_layers,
    execute_plan,
    execute_task,
    run_key,
    scenario_digest,
)
from sahel_sim.experiments.seeds import replicate_seeds


def _label(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={v:.4g}" if isinstance(v, float) else f"{k.rsplit('.', 1)[-1]}={v}"
                     for k, v in values.items()) or "base"


def build_points(data: Mapping[str, Any], designs: list[dict[str, Any]], *, source: str,
                 labels: list[str] | None = None) -> tuple[Point, ...]:
    """Merge each design into the base scenario data and validate it (the single gate)."""
    points = []
    for i, values in enumerate(designs):
        where = f"{source}: design point {i} ({_label(values)})"
        try:
            merged = apply_overrides(data, values)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        scenario = validate_scenario(merged, source=where)
        points.append(Point(i, labels[i] if labels else _label(values), dict(values), scenario))
    return tuple(points)


def load_base(spec_path: Path, scenario_rel: str, fixed: Mapping[str, Any]) -> tuple[dict[str, Any], Scenario]:
    """The base scenario of a sweep or sensitivity file, with its fixed ``set:`` overrides."""
    from sahel_sim.config import load_scenario_data

    path = (spec_path.parent / scenario_rel) if not Path(scenario_rel).is_absolute() else Path(scenario_rel)
    if not os.path.exists(path):  # os.path: False (not an error) for an impossible name
        raise ConfigError(f"{spec_path}: scenario: {scenario_rel} not found (looked at {path})")
    data = load_scenario_data(path)
    try:
        data = apply_overrides(data, dict(fixed))
    except ConfigError as exc:
        raise ConfigError(f"{spec_path}: set: {exc}") from None
    base = validate_scenario(data, source=f"{spec_path}: scenario {scenario_rel}" + (" with set:" if fixed else ""))
    return data, base


def load_sweep(path: str | Path, *, keep_events: bool | None = None) -> Plan:
    """Read a sweep file and validate every design point (raises :class:`ConfigError`)."""
    path = Path(path)
    spec: SweepSpec = read_spec(path, SweepSpec)
    data, base = load_base(path, spec.scenario, spec.set)
    check_key_paths(list(spec.parameters), scenario_to_data(base), source=str(path), where="parameters")
    points = build_points(data, design_points(spec), source=str(path))
    return Plan(kind="sweep", name=spec.name, points=points, seeds=tuple(replicate_seeds(spec.seed, spec.replicates)),
                master_seed=spec.seed, parameters=tuple(spec.parameters), base=base,
                keep_events=spec.outputs.keep_events if keep_events is None else keep_events,
                keep_cells=spec.outputs.keep_cells, spec=spec.model_dump(mode="json"), source=str(path))


def load_outcomes(out: str | Path):
    """The tidy outcomes table of a results folder as a pandas DataFrame."""
    import pandas as pd

    path = Path(out) / "outcomes.parquet"
    if not path.exists():
        raise ConfigError(f"{out}: no outcomes.parquet (is this a sweep folder? has any run finished?)")
    return pd.read_parquet(path)


