"""Many seeded runs: plans, the task every worker runs, and the resumable execution loop.

A :class:`Plan` is a list of validated design points and a list of replicate seeds (the same
at every point). Sweeps, counterfactual comparisons and sensitivity analyses all build a plan
and hand it to :func:`execute_plan`, which runs what is not yet on disk on an executor and
writes each run as it completes (see :mod:`sahel_sim.experiments.store`).

Every run goes through :func:`sahel_sim.run.run` and :func:`sahel_sim.outcomes.summarise`
in the worker; only the small outcome row (plus, on request, the event log and per-cell
totals) travels back.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

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
from sahel_sim.experiments.executors import Executor
from sahel_sim.experiments.seeds import replicate_seeds
from sahel_sim.experiments.store import RunStore, coerce, column_type


# --------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Point:
    """One design point: its values (key path -> value) and the validated scenario."""

    index: int
    label: str
    values: dict[str, Any]
    scenario: Scenario


def scenario_digest(scenario: Scenario) -> str:
    text = json.dumps(scenario_to_data(scenario), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def run_key(point: int, replicate: int) -> str:
    return f"p{point:05d}-r{replicate:05d}"


@dataclass(frozen=True)
class RunTask:
    key: str
    point: int
    replicate: int
    seed: int
    scenario: Scenario
    keep_events: bool = False
    keep_cells: bool = False


@dataclass(frozen=True)
class Plan:
    """What to run: ``points`` x ``seeds`` (replicate ``r`` has seed ``seeds[r]`` everywhere)."""

    kind: str  # "sweep", "compare" or "sensitivity"
    name: str
    points: tuple[Point, ...]
    seeds: tuple[int, ...]
    master_seed: int
    parameters: tuple[str, ...]
    base: Scenario
    keep_events: bool = False
    keep_cells: bool = False
    spec: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    # Replicates that differ in parameters as well as in seed (a comparison drawing from the
    # calibration posterior): replicate r's values, the same at every point, written as columns
    # of each run's row, and its validated scenario at each point, [point][replicate].
    replicate_values: tuple[dict[str, Any], ...] = ()
    replicate_scenarios: tuple[tuple[Scenario, ...], ...] = ()

    @property
    def n_runs(self) -> int:
        return len(self.points) * len(self.seeds)

    def scenario_of(self, point: int, replicate: int) -> Scenario:
        if self.replicate_scenarios:
            return self.replicate_scenarios[point][replicate]
        return self.points[point].scenario

    def tasks(self) -> Iterator[RunTask]:
        """Replicate-major order, so a partial sweep covers every point evenly."""
        for r, seed in enumerate(self.seeds):
            for p in self.points:
                yield RunTask(run_key(p.index, r), p.index, r, seed, self.scenario_of(p.index, r),
                              self.keep_events, self.keep_cells)

    def replicate_parameters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for v in self.replicate_values for k in v))

    def column_types(self) -> dict[str, pa.DataType]:
        types = {"run_key": pa.string(), "point": pa.int32(), "replicate": pa.int32(), "seed": pa.int64()}
        for k in self.parameters:
            types[k] = column_type([p.values.get(k) for p in self.points])
        for k in self.replicate_parameters():
            types[k] = column_type([v.get(k) for v in self.replicate_values])
        return types

    def design_table(self) -> pa.Table:
        types = self.column_types()
        cols: dict[str, pa.Array] = {"point": pa.array([p.index for p in self.points], type=pa.int32()),
                                     "label": pa.array([p.label for p in self.points], type=pa.string())}
        for k in self.parameters:
            cols[k] = pa.array([coerce(p.values.get(k), types[k]) for p in self.points], type=types[k])
        cols["scenario_digest"] = pa.array([scenario_digest(p.scenario) for p in self.points])
        return pa.table(cols)

    def manifest_extra(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "name": self.name, "source": self.source, "spec": self.spec,
            "master_seed": self.master_seed, "replicates": len(self.seeds), "seeds": list(self.seeds),
            "n_points": len(self.points), "n_runs": self.n_runs, "parameters": list(self.parameters),
            "points": [{"point": p.index, "label": p.label, "values": p.values,
                        "scenario_digest": scenario_digest(p.scenario)} for p in self.points],
            "replicate_parameters": list(self.replicate_parameters()),
            "replicate_values": [dict(v) for v in self.replicate_values],
        }


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


# --------------------------------------------------------------------------- worker side
@dataclass
class RunOutput:
    key: str
    point: int
    replicate: int
    seed: int
    outcomes: dict[str, float] | None
    error: str | None = None
    traceback: str | None = None
    wall_time_s: float = 0.0
    host: str = ""
    events: pa.Table | None = None
    cells: dict[str, np.ndarray] | None = None


def cell_layers(result: Any) -> dict[str, np.ndarray]:
    """Per-cell totals of a run for maps: deaths and events over the run, the end state."""
    snap = result.snapshots
    scenario = result.scenario
    kinds = [scenario.actors[f].kind if f in scenario.actors else "" for f in snap.factions]
    jihadist = np.array([k == "jihadist" for k in kinds] + [False])
    state = np.array([k == "state" for k in kinds] + [False])
    end = snap.control[-1].astype(np.int64) if len(snap.control) else np.full(snap.gid.shape, -1)
    end = np.where(end < 0, len(kinds), end)
    return {
        "gid": np.asarray(snap.gid),
        "civilian_deaths": snap.civilian_deaths.sum(axis=0).astype(np.float32),
        "violence": snap.violence.sum(axis=0).astype(np.float32),
        "displaced_end": (snap.displaced[-1] if len(snap.displaced) else np.zeros(snap.gid.shape)).astype(np.float32),
        "jihadist_control_end": jihadist[end].astype(np.float32),
        "state_control_end": state[end].astype(np.float32),
    }


def execute_task(task: RunTask) -> RunOutput:
    """Run one (scenario, seed) and summarise it; errors are returned, never raised."""
    from sahel_sim.outcomes import summarise
    from sahel_sim.run import run

    t0 = time.perf_counter()
    out = RunOutput(task.key, task.point, task.replicate, task.seed, None, host=socket.gethostname())
    try:
        result = run(task.scenario, task.seed)
        out.outcomes = summarise(result)
        if task.keep_events:
            out.events = result.events
        if task.keep_cells:
            out.cells = cell_layers(result)
    except Exception as exc:
        out.error = f"{type(exc).__name__}: {exc}"
        out.traceback = traceback.format_exc()
    out.wall_time_s = time.perf_counter() - t0
    return out


# --------------------------------------------------------------------------- driver side
class ProgressSink(Protocol):
    def start(self, *, total: int, done: int) -> None: ...

    def advance(self, *, ok: bool) -> None: ...


class _NoProgress:
    def start(self, *, total: int, done: int) -> None:
        pass

    def advance(self, *, ok: bool) -> None:
        pass


@dataclass
class PlanReport:
    out: Path
    total: int
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    wall_time_s: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    redone: int = 0

    @property
    def finished(self) -> int:
        return self.skipped + self.ok


def _check_resume(store: RunStore, plan: Plan) -> list[str]:
    """Refuse a folder holding another plan's results; returns notes for the user.

    An unreadable manifest is no reason to give up finished runs: the runs' own rows (seed,
    point, replicate, design values) and design.parquet are checked against the plan instead,
    and the manifest is rewritten. Never suggest deleting a results folder.
    """
    old = store.read_manifest()
    notes: list[str] = []
    problem = None
    if old is None or "kind" not in old:
        finished = store.finished()
        if not finished:
            return notes
        problem = _runs_differ(store, plan)
        if problem is None:
            notes.append(f"{store.root / 'manifest.json'} was missing or unreadable; rebuilt it, keeping the "
                         f"{len(finished)} finished runs (they match this {plan.kind})")
    elif old.get("kind") != plan.kind:
        problem = f"it holds a {old.get('kind')}, not a {plan.kind}"
    elif old.get("master_seed") != plan.master_seed:
        problem = f"its master seed is {old.get('master_seed')}, not {plan.master_seed}"
    else:
        digests = {p["point"]: p["scenario_digest"] for p in old.get("points", []) if isinstance(p, dict)}
        for p in plan.points:
            if p.index in digests and digests[p.index] != scenario_digest(p.scenario):
                problem = f"design point {p.index} ({p.label}) differs from the one run there"
                break
        old_values = old.get("replicate_values") or []
        new_values = json.loads(json.dumps([dict(v) for v in plan.replicate_values], default=str))
        if problem is None and any(o != n for o, n in zip(old_values, new_values, strict=False)):
            problem = "its replicates drew other parameter values"
        elif problem is None and bool(old_values) != bool(new_values) and store.finished():
            problem = ("its runs " + ("drew" if old_values else "did not draw") + " parameters from a posterior")
    if problem:
        raise ConfigError(f"{store.root}: results of a different {plan.kind} ({problem}); choose another --out")
    return notes


def _runs_differ(store: RunStore, plan: Plan) -> str | None:
    """Why the finished runs in ``store`` cannot belong to ``plan`` (None when they can)."""
    import pyarrow.parquet as pq

    try:
        design = pq.read_table(store.root / "design.parquet").to_pylist()
        digests = {int(r["point"]): r["scenario_digest"] for r in design}
    except (OSError, pa.ArrowException, KeyError, TypeError, ValueError):
        digests = {}
    for p in plan.points:
        if p.index in digests and digests[p.index] != scenario_digest(p.scenario):
            return f"design point {p.index} ({p.label}) differs from the one in design.parquet"
    table = store.read_runs()
    if table is None:
        return None
    values = {p.index: p.values for p in plan.points}
    types = plan.column_types()
    for row in table.to_pylist():
        point, rep, seed = row.get("point"), row.get("replicate"), row.get("seed")
        if point not in values or not isinstance(rep, int) or not 0 <= rep < len(plan.seeds):
            return f"run {row.get('run_key')} is not in this plan"
        if seed != plan.seeds[rep]:
            return f"run {row.get('run_key')} has seed {seed}, this plan {plan.seeds[rep]}"
        for k in plan.parameters:
            want = coerce(values[point].get(k), types[k])
            got = row.get(k)
            same = (abs(got - want) <= 1e-12 * max(1.0, abs(want))) if isinstance(want, float) and \
                isinstance(got, (int, float)) else got == want
            if not same:
                return f"run {row.get('run_key')} has {k}={got}, this plan {want}"
    return None


def execute_plan(plan: Plan, out: str | Path, *, executor: Executor, progress: ProgressSink | None = None,
                 command: str | None = None, notify: Callable[[str], None] | None = None) -> PlanReport:
    """Run every run of ``plan`` not yet finished in ``out``; write each as it completes.

    Safe to interrupt at any point: finished runs are on disk and a rerun skips them.
    Failed runs are recorded in ``failed/`` and tried again on the next rerun. The folder is
    locked while the plan runs (a second sweep on it is refused, naming the holder); damaged
    run files are set aside and redone, each reported through ``notify`` and in the report.
    """
    from sahel_sim.io.lock import FolderLock

    with FolderLock(out, command=command):
        return _execute_locked(plan, out, executor=executor, progress=progress, command=command, notify=notify)


def _execute_locked(plan: Plan, out: str | Path, *, executor: Executor, progress: ProgressSink | None,
                    command: str | None, notify: Callable[[str], None] | None) -> PlanReport:
    from sahel_sim.io.manifest import build_manifest

    progress = progress or _NoProgress()
    store = RunStore(out)
    store.open()
    notes = _check_resume(store, plan)
    damaged = store.verify()
    notes += damaged
    for note in notes:
        (notify or (lambda _m: None))(note)
    extra = {**plan.manifest_extra(), "executor": executor.describe(), "command": command, "status": "running"}
    store.write_manifest(build_manifest(scenario=plan.base, seed=plan.master_seed, extra=extra))
    store.write_design(plan.design_table())

    done = store.finished()
    todo = [t for t in plan.tasks() if t.key not in done]
    report = PlanReport(out=Path(out), total=plan.n_runs, skipped=plan.n_runs - len(todo), notes=notes,
                        redone=len(damaged))
    types = plan.column_types()
    values = {p.index: p.values for p in plan.points}
    rep_keys = plan.replicate_parameters()
    t0 = time.perf_counter()
    progress.start(total=plan.n_runs, done=report.skipped)
    status = "interrupted"
    try:
        for c in executor.map_unordered(execute_task, todo):
            task: RunTask = c.item
            res: RunOutput | None = c.value
            if res is not None and res.error is None and res.outcomes is not None:
                row: dict[str, Any] = {"run_key": task.key, "point": task.point, "replicate": task.replicate,
                                       "seed": task.seed}
                row.update({k: coerce(values[task.point].get(k), types[k]) for k in plan.parameters})
                if rep_keys:
                    rv = plan.replicate_values[task.replicate]
                    row.update({k: coerce(rv.get(k), types[k]) for k in rep_keys})
                row.update(res.outcomes)
                store.write_run(row, types, events=res.events, cells=res.cells,
                                metadata={"wall_time_s": f"{res.wall_time_s:.4f}", "host": res.host})
                report.ok += 1
            else:
                err = res.error if res is not None else f"{type(c.error).__name__}: {c.error}"
                tb = res.traceback if res is not None else "".join(traceback.format_exception(c.error))
                info = {"run_key": task.key, "point": task.point, "replicate": task.replicate, "seed": task.seed,
                        "error": err, "traceback": tb}
                store.write_failure(task.key, info)
                report.failed += 1
                report.failures.append(info)
            progress.advance(ok=res is not None and res.error is None)
        status = "complete" if report.failed == 0 else "complete with failures"
    finally:
        report.wall_time_s = time.perf_counter() - t0
        store.consolidate()
        extra.update(status=status, finished_runs=len(store.finished()), failed_runs=len(store.failed()),
                     wall_time_s=round(report.wall_time_s, 3))
        store.write_manifest(build_manifest(scenario=plan.base, seed=plan.master_seed, extra=extra))
    return report


def load_outcomes(out: str | Path):
    """The tidy outcomes table of a results folder as a pandas DataFrame."""
    import pandas as pd

    path = Path(out) / "outcomes.parquet"
    if not path.exists():
        raise ConfigError(f"{out}: no outcomes.parquet (is this a sweep folder? has any run finished?)")
    return pd.read_parquet(path)


