"""The experiment engine: one plan type, one task type, one execution loop for every kind of
many-run work (sweeps, counterfactual comparisons, sensitivity analysis, validation and each
calibration generation).

- A :class:`Plan` is a list of validated design points and a list of replicate seeds (the same
  at every point; every seed comes from :mod:`sahel_sim.experiments.seeds`). It says what
  each run measures: the standard outcomes (:func:`sahel_sim.outcomes.summarise`) or, with
  ``targets``, the calibration targets' statistics (:func:`sahel_sim.stats.run_statistics`).
- A :class:`Task` is one (design point, replicate, seed, scenario). Tasks travel in chunks
  (:func:`execute_chunk`, ``chunk_size`` runs per message) to workers that start once and take
  many chunks each (:mod:`sahel_sim.experiments.executors`: local processes or Dask).
- Results stream to the resumable, checksummed store (:mod:`sahel_sim.experiments.store`)
  without a central bottleneck: where the workers share the store's file system (local
  processes always; a Dask cluster when told so) each worker writes its own runs' files and
  index lines as soon as each run ends, and only a few bytes per run travel back to the
  driver. Otherwise the driver writes what the workers send back.

Every run is fully determined by its (scenario, seed), so the executor, the number of workers,
the chunk size and the order in which runs finish change where and when a run happens, never
its result: ``outcomes.parquet`` is bit-identical across them (tested).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa

from sahel_sim.config import ConfigError, scenario_to_data
from sahel_sim.experiments.executors import Executor
from sahel_sim.experiments.store import ID_COLUMNS, RunStore, coerce, column_type

if TYPE_CHECKING:
    from sahel_sim.config import Scenario
    from sahel_sim.experiments.targets import TargetSet

KINDS = ("sweep", "compare", "sensitivity", "validation", "calibration")


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
class Task:
    """One run: what a worker needs to run it, measure it and (where it can) store it.

    ``row`` holds the identifying and design columns of the run's results row (already typed),
    ``types`` the Arrow type of every column the plan knows; ``store`` is the results folder when
    the worker writes the run itself, else None (the driver writes).
    """

    key: str
    point: int
    replicate: int
    seed: int
    scenario: Scenario
    row: dict[str, Any] = field(default_factory=dict)
    types: Mapping[str, pa.DataType] = field(default_factory=dict)
    targets: TargetSet | None = None
    keep_events: bool = False
    keep_cells: bool = False
    store: str | None = None


@dataclass(frozen=True)
class Plan:
    """What to run: ``points`` x ``seeds`` (replicate ``r`` has seed ``seeds[r]`` everywhere)."""

    kind: str  # one of KINDS
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
    # What each run measures: None, the standard outcomes; a TargetSet, its statistics.
    targets: TargetSet | None = None

    @property
    def n_runs(self) -> int:
        return len(self.points) * len(self.seeds)

    def scenario_of(self, point: int, replicate: int) -> Scenario:
        if self.replicate_scenarios:
            return self.replicate_scenarios[point][replicate]
        return self.points[point].scenario

    def tasks(self, *, store: str | None = None) -> Iterator[Task]:
        """Replicate-major order, so a partial plan covers every point evenly."""
        types = self.column_types()
        values = {p.index: p.values for p in self.points}
        rep_keys = self.replicate_parameters()
        for r, seed in enumerate(self.seeds):
            for p in self.points:
                key = run_key(p.index, r)
                row: dict[str, Any] = {"run_key": key, "point": p.index, "replicate": r, "seed": seed}
                row.update({k: coerce(values[p.index].get(k), types[k]) for k in self.parameters})
                if rep_keys:
                    rv = self.replicate_values[r]
                    row.update({k: coerce(rv.get(k), types[k]) for k in rep_keys})
                yield Task(key, p.index, r, seed, self.scenario_of(p.index, r), row, types, self.targets,
                           self.keep_events, self.keep_cells, store)

    def replicate_parameters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for v in self.replicate_values for k in v))

    @functools.cached_property
    def _types(self) -> dict[str, pa.DataType]:
        types = {"run_key": pa.string(), "point": pa.int32(), "replicate": pa.int32(), "seed": pa.int64()}
        for k in self.parameters:
            types[k] = column_type([p.values.get(k) for p in self.points])
        for k in self.replicate_parameters():
            types[k] = column_type([v.get(k) for v in self.replicate_values])
        return types

    def column_types(self) -> dict[str, pa.DataType]:
        return dict(self._types)

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
            "measures": "outcomes" if self.targets is None else "target statistics",
            "targets": None if self.targets is None else list(self.targets.ids),
            "target_statistics": None if self.targets is None else self.targets.statistics_digest(),
            "points": [{"point": p.index, "label": p.label, "values": p.values,
                        "scenario_digest": scenario_digest(p.scenario)} for p in self.points],
            "replicate_parameters": list(self.replicate_parameters()),
            "replicate_values": [dict(v) for v in self.replicate_values],
        }


# --------------------------------------------------------------------------- worker side
@dataclass
class RunOutput:
    """What comes back from a worker for one run: the measures (unless the worker stored the
    run itself, then only that it did), or the error."""

    key: str
    outcomes: dict[str, float] | None
    error: str | None = None
    traceback: str | None = None
    wall_time_s: float = 0.0
    host: str = ""
    events: pa.Table | None = None
    cells: dict[str, np.ndarray] | None = None
    stored: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and (self.stored or self.outcomes is not None)


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


@functools.cache
def _grid(national: float):
    from sahel_sim.geography import load_grid

    return load_grid(national_population=national)


def _measure(task: Task, result: Any) -> dict[str, float]:
    if task.targets is None:
        from sahel_sim.outcomes import summarise

        return summarise(result)
    from sahel_sim.stats import run_statistics

    stats = run_statistics(result, task.targets.statistics(),
                           grid=_grid(task.scenario.population.national_total))
    return {k: float(v) for k, v in stats.items()}


def execute_task(task: Task) -> RunOutput:
    """Run one (scenario, seed), measure it, and store it when ``task.store`` is set.
    Errors are returned, never raised."""
    from sahel_sim.run import run

    t0 = time.perf_counter()
    out = RunOutput(task.key, None, host=socket.gethostname())
    try:
        # the log's notes (sentences) only where the log is kept: no measure reads them
        result = run(task.scenario, task.seed, event_notes=task.keep_events)
        outcomes = _measure(task, result)
        events = result.events if task.keep_events else None
        cells = cell_layers(result) if task.keep_cells else None
        out.wall_time_s = time.perf_counter() - t0
        if task.store is not None:
            RunStore(task.store).write_run({**task.row, **outcomes}, task.types, events=events, cells=cells,
                                           metadata=_metadata(out))
            out.stored = True
        else:
            out.outcomes, out.events, out.cells = outcomes, events, cells
    except Exception as exc:
        out.error = f"{type(exc).__name__}: {exc}"
        out.traceback = traceback.format_exc()
        out.wall_time_s = time.perf_counter() - t0
    return out


def execute_chunk(tasks: Sequence[Task]) -> list[RunOutput]:
    """The function every worker runs: a chunk of tasks, one after another. A chunk shares its
    scenarios and target set in one message (pickle stores a shared object once)."""
    tune_allocator()
    return [execute_task(t) for t in tasks]


# glibc's malloc settings that, given in the environment, switch off its dynamic mmap threshold
_FIXED_MALLOC_ENV = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling for the dynamic threshold on 64-bit systems
_allocator_tuned: bool | None = None


def tune_allocator() -> bool:
    """Give glibc's mmap threshold back its dynamic ceiling in a worker whose environment fixed
    it; returns whether it did (once per process). Dask's nanny starts every worker with
    ``MALLOC_TRIM_THRESHOLD_`` set (``distributed.nanny.pre-spawn-environ``), to hand freed
    memory back to the system. Setting any malloc threshold in the environment turns off glibc's
    dynamic mmap threshold (mallopt(3)), so every block above 128 KiB the model allocates (its
    kernel rows, its weekly fields) becomes a fresh mapping, zero-filled page by page: a
    historical run took 1.3-1.4 times as long in a Dask worker as in a local one (2 cores,
    distributed 2026.8). ``M_MMAP_THRESHOLD`` at glibc's own ceiling restores the speed; the
    trim threshold stays as the cluster set it. A threshold given explicitly in the environment
    (``MALLOC_MMAP_THRESHOLD_``) is left alone."""
    global _allocator_tuned
    if _allocator_tuned is not None:
        return _allocator_tuned
    _allocator_tuned = False
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    if not any(name in os.environ for name in _FIXED_MALLOC_ENV):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - no C library to ask
        return False
    m_mmap_threshold = -3  # <malloc.h>
    _allocator_tuned = bool(mallopt(m_mmap_threshold, _MMAP_THRESHOLD_MAX))
    return _allocator_tuned


def _metadata(res: RunOutput) -> dict[str, str]:
    return {"wall_time_s": f"{res.wall_time_s:.4f}", "host": res.host}


def warm_up() -> None:
    """Import what a run needs, once per worker process (so the first task does not pay it)."""
    tune_allocator()
    import sahel_sim.outcomes
    import sahel_sim.run  # noqa: F401


# --------------------------------------------------------------------------- driver side
class ProgressSink(Protocol):
    """What the engine tells a progress display (:class:`sahel_sim.cli.progress.RunProgress`)."""

    def start(self, *, total: int, done: int, label: str = "") -> None: ...

    def advance(self, *, ok: bool) -> None: ...


class _NoProgress:
    def start(self, *, total: int, done: int, label: str = "") -> None:
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
    elif old.get("seeds") is not None and list(old["seeds"])[: len(plan.seeds)] != list(plan.seeds)[: len(old["seeds"])]:
        problem = "its replicates ran on other seeds"
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
        elif problem is None and old.get("targets") != (None if plan.targets is None else list(plan.targets.ids)) \
                and "measures" in old:
            problem = "its runs measured other targets"
        elif problem is None and plan.targets is not None and store.finished() \
                and old.get("target_statistics") != plan.targets.statistics_digest():
            problem = "its runs computed the targets' statistics under other definitions (targets.yaml changed)"
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
        if point not in values or not isinstance(rep, int) or not 0 <= rep < len(plan.seeds) \
                or row.get("run_key") != run_key(point, rep):
            return f"run {row.get('run_key')} is not in this plan"
        if seed != plan.seeds[rep]:
            return f"run {row.get('run_key')} has seed {seed}, this plan {plan.seeds[rep]}"
        for k in plan.parameters:
            if k not in row:  # written before the engine recorded design values in each row
                continue
            want = coerce(values[point].get(k), types[k])
            got = row.get(k)
            same = (abs(got - want) <= 1e-12 * max(1.0, abs(want))) if isinstance(want, float) and \
                isinstance(got, (int, float)) else got == want
            if not same:
                return f"run {row.get('run_key')} has {k}={got}, this plan {want}"
    return None


def _chunks(tasks: list[Task], size: int) -> Iterator[list[Task]]:
    for i in range(0, len(tasks), size):
        yield tasks[i:i + size]


def auto_chunk_size(n_tasks: int, slots: int) -> int:
    """Runs per message by default: one while a plan is small against its workers (balance at
    the end matters most), up to 4 for long plans (a chunk of full runs is ~10-20 s of work,
    so the per-message cost and, on Dask, scheduler traffic drop fourfold)."""
    if slots <= 0:
        return 1
    return int(max(1, min(4, n_tasks // (8 * slots))))


def execute_plan(plan: Plan, out: str | Path, *, executor: Executor, progress: ProgressSink | None = None,
                 command: str | None = None, notify: Callable[[str], None] | None = None,
                 chunk_size: int | None = None, label: str = "") -> PlanReport:
    """Run every run of ``plan`` not yet finished in ``out``; store each as it completes.

    Safe to interrupt at any point: finished runs are on disk and a rerun skips them.
    Failed runs are recorded in ``failed/`` and tried again on the next rerun. The folder is
    locked while the plan runs (a second command on it is refused, naming the holder); damaged
    run files are set aside and redone, each reported through ``notify`` and in the report.
    ``chunk_size`` runs travel to a worker per message (default: :func:`auto_chunk_size`).
    """
    from sahel_sim.io.lock import FolderLock

    if chunk_size is not None and chunk_size < 1:
        raise ConfigError(f"--chunk-size: expected 1 or more runs per task, got {chunk_size}")
    with FolderLock(out, command=command):
        return _execute_locked(plan, out, executor=executor, progress=progress, command=command, notify=notify,
                               chunk_size=chunk_size, label=label)


def _execute_locked(plan: Plan, out: str | Path, *, executor: Executor, progress: ProgressSink | None,
                    command: str | None, notify: Callable[[str], None] | None, chunk_size: int | None,
                    label: str) -> PlanReport:
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
    workers_write = bool(getattr(executor, "shares_filesystem", False))
    where = str(Path(out).resolve()) if workers_write else None
    todo = [t for t in plan.tasks(store=where) if t.key not in done]
    size = chunk_size or auto_chunk_size(len(todo), int(getattr(executor, "slots", 1) or 1))
    report = PlanReport(out=Path(out), total=plan.n_runs, skipped=plan.n_runs - len(todo), notes=notes,
                        redone=len(damaged))
    t0 = time.perf_counter()
    progress.start(total=plan.n_runs, done=report.skipped, label=label or f"{plan.kind} {plan.name}")
    status = "interrupted"
    try:
        for c in executor.map_unordered(execute_chunk, _chunks(todo, size)):
            chunk: list[Task] = c.item
            outputs: list[RunOutput] = c.value if c.error is None and c.value is not None else [None] * len(chunk)
            for task, res in zip(chunk, outputs, strict=True):
                if res is not None and res.ok:
                    if not res.stored:
                        store.write_run({**task.row, **res.outcomes}, task.types, events=res.events,
                                        cells=res.cells, metadata=_metadata(res))
                    report.ok += 1
                else:
                    err = res.error if res is not None else f"{type(c.error).__name__}: {c.error}"
                    tb = res.traceback if res is not None else "".join(traceback.format_exception(c.error))
                    info = {"run_key": task.key, "point": task.point, "replicate": task.replicate,
                            "seed": task.seed, "error": err, "traceback": tb}
                    store.write_failure(task.key, info)
                    report.failed += 1
                    report.failures.append(info)
                progress.advance(ok=res is not None and res.ok)
        status = "complete" if report.failed == 0 else "complete with failures"
    finally:
        report.wall_time_s = time.perf_counter() - t0
        store.consolidate()
        extra.update(status=status, finished_runs=len(store.finished()), failed_runs=len(store.failed()),
                     wall_time_s=round(report.wall_time_s, 3), chunk_size=size, workers_write=workers_write)
        store.write_manifest(build_manifest(scenario=plan.base, seed=plan.master_seed, extra=extra))
    return report


def read_measures(out: str | Path) -> Any:
    """Every finished run's row of a results folder as a pandas DataFrame (empty when none)."""
    import pandas as pd

    table = RunStore(out).read_runs()
    return table.to_pandas() if table is not None else pd.DataFrame(columns=list(ID_COLUMNS))
