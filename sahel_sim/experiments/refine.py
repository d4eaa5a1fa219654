"""Local refinement of the calibrated parameters: a compass search on the family distance.

``sahel-sim calibrate CONFIG --refine`` starts from the scenario's current parameter values
(the incumbent: what ``parameters.yaml`` ships) and improves them by a *compass search*, the
simplest of the generating-set direct searches (Kolda, Lewis & Torczon 2003, "Optimization by
direct search: new perspectives on some classical and modern methods", *SIAM Review*
45(3):385-482, section 3.1): each poll moves one parameter at a time up and down by its step;
the best move that lowers the distance by more than ``min_improvement`` is taken, and when no
move does, every step is halved. It stops when the steps fall below ``min_step`` or after
``max_polls`` polls.

Why a local search beside the ABC: the ABC of :mod:`sahel_sim.experiments.calibrate` explores
the whole prior box with one run per candidate; with 24 parameters and tens of seconds a run,
its population has not yet reached the region of the incumbent (docs/calibration.md, section
10). The compass search needs no gradient, copes with a noisy objective through common random
numbers, and its polls run in parallel on the same executors as everything else. It returns a
point, not a posterior: the ABC stays the tool for uncertainty.

- **Space.** Each parameter moves in its prior's transformed coordinate (log for log-uniform
  priors) and stays inside the prior's box; the first step is ``step`` times the box's width.
  Candidate values are rounded to the 4 significant digits that the parameter file keeps, so
  the values written are the values that were run.
- **Objective.** The distance of :meth:`TargetSet.distance` (the calibration's family-weighted
  distance over the used targets) of the candidate's median statistics over ``seeds`` runs.
  Every candidate is run on the same seeds (common random numbers: differences between
  candidates are not differences between draws). With ``miss_penalty`` > 0 each used target
  whose median falls outside its tolerance adds that much: the distance rewards moving a
  target toward its documented value anywhere in or out of its tolerance, the validation's
  headline counts the targets inside it, and the penalty lets the search trade a little
  distance for a target brought inside.
- **No winner's curse.** The point found was selected on those seeds. It and the incumbent are
  then rerun on the calibration's fresh re-evaluation seeds (``reevaluate_seeds``), and the
  parameter file is rewritten only if the refined point is better there too.
- **Resumable and reproducible.** Each poll is one plan of the experiment engine in its own
  folder (``start/``, ``poll_001/``, ...); the polls are a deterministic function of the runs
  before them, so a rerun after an interruption replays the finished polls from their stored
  statistics and carries on.

Outputs in the output folder: ``refine.csv`` (every candidate: poll, parameter moved, values,
the objective, the family distance and the targets outside tolerance), ``refine.md`` (the path
of the search and the re-evaluation) and ``best.yaml``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sahel_sim.config import ConfigError
from sahel_sim.experiments.seeds import reevaluation_seeds, replicate_seeds


# --------------------------------------------------------------------------- the pure kernel
@dataclass
class Poll:
    """One poll: the candidates tried around ``center`` and what was decided."""

    index: int
    center: np.ndarray
    steps: np.ndarray
    candidates: np.ndarray  # rows: candidate points (transformed space)
    moves: list[tuple[int, int]]  # (coordinate, +1 or -1) of each candidate
    distances: np.ndarray
    accepted: int | None  # row of the candidate taken, or None (steps halved)
    combined: np.ndarray | None = None  # every improving move at once (the search step), if tried
    combined_distance: float = float("nan")
    combined_taken: bool = False


@dataclass
class SearchResult:
    start: np.ndarray
    start_distance: float
    best: np.ndarray
    best_distance: float
    polls: list[Poll] = field(default_factory=list)
    stopped: str = ""


def compass_candidates(center: np.ndarray, steps: np.ndarray, lower: np.ndarray,
                       upper: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The points ``center +- steps[i] e_i``, clipped into the box; a move that the box
    reduces to nothing (the centre on that bound) is left out."""
    rows, moves = [], []
    for i in range(len(center)):
        for sign in (1, -1):
            z = center.copy()
            z[i] = min(max(center[i] + sign * steps[i], lower[i]), upper[i])
            if z[i] != center[i]:
                rows.append(z)
                moves.append((i, sign))
    return (np.array(rows) if rows else np.empty((0, len(center)))), moves


def compass_search(evaluate: Callable[[np.ndarray, str], np.ndarray], start: np.ndarray, lower: np.ndarray,
                   upper: np.ndarray, *, step: float = 0.125, min_step: float = 0.015, max_polls: int = 12,
                   min_improvement: float = 0.0,
                   on_poll: Callable[[Poll, float], None] | None = None) -> SearchResult:
    """Minimise ``evaluate`` (rows of points and a tag such as ``"poll_003"`` -> the points'
    values) by compass search from ``start`` inside the box ``[lower, upper]``. Steps start at
    ``step`` times each coordinate's width. A poll tries every coordinate up and down; when
    moves along two or more coordinates improve on the centre by more than
    ``min_improvement``, the point that makes all of them at once is tried too (a *search
    step* of generalised pattern search: Audet & Dennis 2006, *SIAM J. Optim.* 17(1), any
    finite set of mesh points may be tried before or after the poll). The best of these is
    taken if it improves by more than ``min_improvement``; otherwise every step is halved.
    Stops when every step is below ``min_step`` times its width, or after ``max_polls``."""
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    width = upper - lower
    if (width <= 0).any():
        raise ValueError("every coordinate needs lower < upper")
    center = np.clip(np.asarray(start, float), lower, upper)
    f = float(np.asarray(evaluate(center[None, :], "start"), float)[0])
    result = SearchResult(start=center.copy(), start_distance=f, best=center.copy(), best_distance=f)
    steps = step * width
    for index in range(1, max_polls + 1):
        if (steps < min_step * width).all():
            result.stopped = f"steps below {min_step:g} of the prior widths"
            break
        cand, moves = compass_candidates(center, steps, lower, upper)
        if not len(cand):
            steps = steps / 2
            continue
        tag = f"poll_{index:03d}"
        d = np.asarray(evaluate(cand, tag), float)
        d = np.where(np.isfinite(d), d, np.inf)
        j = int(np.argmin(d))
        accepted = j if d[j] < f - min_improvement else None
        poll = Poll(index, center.copy(), steps.copy(), cand, moves, d, accepted)
        better: dict[int, int] = {}  # coordinate -> row of its better improving move
        for r, (i, _) in enumerate(moves):
            if d[r] < f - min_improvement and (i not in better or d[r] < d[better[i]]):
                better[i] = r
        if len(better) >= 2:
            z = center.copy()
            for i, r in better.items():
                z[i] = cand[r][i]
            poll.combined = z
            poll.combined_distance = float(np.asarray(evaluate(z[None, :], f"{tag}_combined"), float)[0])
            if np.isfinite(poll.combined_distance) and poll.combined_distance < d[j]:
                poll.combined_taken = True
        result.polls.append(poll)
        if poll.combined_taken:
            center, f = poll.combined.copy(), poll.combined_distance
        elif accepted is not None:
            center, f = cand[j].copy(), float(d[j])
        else:
            steps = steps / 2
        if on_poll is not None:
            on_poll(poll, f)
    else:
        result.stopped = f"{max_polls} polls"
    result.best, result.best_distance = center, f
    return result


# --------------------------------------------------------------------------- on the model
def round_sig(x: float, digits: int = 4) -> float:
    """``x`` to ``digits`` significant digits (what the parameter file keeps)."""
    return float(f"{float(x):.{digits}g}")


@dataclass
class RefineOutcome:
    keys: list[str]
    search: SearchResult
    start_values: dict[str, float]
    best_values: dict[str, float]
    table: pd.DataFrame  # every candidate run
    # on fresh seeds: {"start": objective, "refined": objective, "start_misses": n, "refined_misses": n}
    reevaluated: dict[str, float | int | None] | None

    @property
    def improved(self) -> bool:
        if self.reevaluated is None:
            return self.search.best_distance < self.search.start_distance
        return self.reevaluated["refined"] < self.reevaluated["start"]


class Refiner:
    """The compass search of a loaded calibration (``cal``), run through the engine."""

    def __init__(self, cal, *, executor, out: Path, progress=None, notify: Callable[[str], None] | None = None,
                 chunk_size: int | None = None) -> None:
        from sahel_sim.experiments.calibrate import _with_schema_defaults

        self.cal, self.executor, self.out = cal, executor, Path(out)
        self.progress, self.chunk_size = progress, chunk_size
        self.notify = notify or (lambda text: None)
        spec = cal.config.refine
        self.spec = spec
        self.keys = list(spec.parameters or cal.keys)
        self.priors = [cal.config.priors[k] for k in self.keys]
        resolved = _with_schema_defaults(cal.base_data)
        self.start_values = {k: float(_lookup(resolved, k)) for k in self.keys}
        outside = [f"{k} = {v:g} (prior {p.low:g}-{p.high:g})" for (k, v), p in zip(self.start_values.items(), self.priors, strict=True)
                   if not p.low <= v <= p.high]
        if outside:
            raise ConfigError(f"{cal.path}: refine: the current values must lie inside their priors: " + "; ".join(outside))
        self.lower = np.array([p.box[0] for p in self.priors])
        self.upper = np.array([p.box[1] for p in self.priors])
        self.seeds = replicate_seeds(cal.config.seed, spec.seeds)
        # (re-evaluation?, candidate values) -> (family distance, targets outside tolerance)
        self.scores: dict[tuple[bool, tuple], tuple[float, int]] = {}
        self._calls = 0
        self._rows: list[dict[str, Any]] = []

    def values_of(self, z: np.ndarray) -> dict[str, float]:
        return {k: round_sig(float(p.from_unit(np.asarray(x)))) for k, p, x in zip(self.keys, self.priors, z, strict=True)}

    def _distances(self, folder: Path, candidates: list[dict[str, float]], seeds: list[int], label: str) -> np.ndarray:
        from sahel_sim.experiments.calibrate import statistics_plan
        from sahel_sim.experiments.engine import execute_plan, read_measures

        plan = statistics_plan(self.cal.base_data, candidates, seeds, self.cal.targets, kind="calibration",
                               name=f"{self.cal.config.name} {label}", master_seed=self.cal.config.seed,
                               source=f"{self.cal.path} ({label})", parameters=self.keys)
        execute_plan(plan, folder, executor=self.executor, progress=self.progress,
                     notify=lambda text: self.notify(f"{folder.name}: {text}"), chunk_size=self.chunk_size, label=label)
        frame = read_measures(folder)
        out = np.full(len(candidates), np.nan)
        for c in range(len(candidates)):
            runs = frame[frame["point"] == c]
            if len(runs) == len(seeds):
                med = {t: float(runs[t].median()) for t in self.cal.targets.ids if t in runs}
                distance, misses = self.cal.used.distance(med), self.cal.used.misses(med)
                self.scores[(label == "re-evaluation", _key(candidates[c]))] = (distance, misses)
                out[c] = distance + self.spec.miss_penalty * misses
        return out

    def _evaluate(self, z: np.ndarray, tag: str) -> np.ndarray:
        # the incumbent runs as the base scenario (no overrides), so its runs are the scenario's own
        candidates = [{} if tag == "start" else self.values_of(row) for row in z]
        return self._distances(self.out / tag, candidates, self.seeds, tag)

    def run(self, *, reevaluate: bool = True) -> RefineOutcome:
        from sahel_sim.io.lock import FolderLock

        self.out.mkdir(parents=True, exist_ok=True)
        with FolderLock(self.out, command=f"sahel-sim calibrate {self.cal.path} --refine"):
            return self._run(reevaluate=reevaluate)

    def _run(self, *, reevaluate: bool) -> RefineOutcome:
        spec = self.spec
        start = np.array([float(p.to_unit(np.asarray(self.start_values[k]))) for k, p in zip(self.keys, self.priors, strict=True)])

        def on_poll(poll: Poll, best: float) -> None:
            what = ("every improving move at once" if poll.combined_taken else
                    "no move improves: steps halved" if poll.accepted is None else self._move_text(poll, poll.accepted))
            self.notify(f"poll {poll.index}: {len(poll.candidates)} candidates, best {np.nanmin(poll.distances):.3f}; "
                        f"{what}; {self.objective_name} now {best:.3f}")

        search = compass_search(self._evaluate, start, self.lower, self.upper, step=spec.step, min_step=spec.min_step,
                                max_polls=spec.max_polls, min_improvement=spec.min_improvement, on_poll=on_poll)
        rows = [{"poll": 0, "parameter": "", "direction": 0, "objective": search.start_distance,
                 **self._score_columns(self.start_values), "accepted": True, **self.start_values}]
        for poll in search.polls:
            for r, (i, sign) in enumerate(poll.moves):
                values = self.values_of(poll.candidates[r])
                rows.append({"poll": poll.index, "parameter": self.keys[i], "direction": sign,
                             "objective": float(poll.distances[r]), **self._score_columns(values),
                             "accepted": poll.accepted == r and not poll.combined_taken, **values})
            if poll.combined is not None:
                values = self.values_of(poll.combined)
                rows.append({"poll": poll.index, "parameter": "(improving moves combined)", "direction": 0,
                             "objective": poll.combined_distance, **self._score_columns(values),
                             "accepted": poll.combined_taken, **values})
        table = pd.DataFrame(rows)
        moved = any(p.accepted is not None or p.combined_taken for p in search.polls)
        best_values = self.values_of(search.best) if moved else dict(self.start_values)
        reevaluated = None
        cfg = self.cal.config
        if reevaluate and cfg.reevaluate_seeds and best_values != self.start_values:
            fresh = reevaluation_seeds(cfg.seed, cfg.reevaluate_seeds)
            # one folder per search length: a search resumed with more polls re-evaluates its new point apart
            folder = self.out / f"reevaluate_p{len(search.polls):03d}"
            d = self._distances(folder, [{}, best_values], fresh, "re-evaluation")
            reevaluated = {"start": float(d[0]), "refined": float(d[1]),
                           "start_misses": self.scores.get((True, ()), (None, None))[1],
                           "refined_misses": self.scores.get((True, _key(best_values)), (None, None))[1]}
        return RefineOutcome(self.keys, search, dict(self.start_values), best_values, table, reevaluated)

    @property
    def objective_name(self) -> str:
        return "objective" if self.spec.miss_penalty else "distance"

    def score_of(self, values: Mapping[str, float]) -> tuple[float, int] | None:
        """(family distance, targets outside tolerance) of a candidate on the search's seeds;
        None if it was not run. The start is run as the scenario itself (no overrides)."""
        key = () if dict(values) == dict(self.start_values) else _key(values)
        return self.scores.get((False, key))

    def _score_columns(self, values: Mapping[str, float]) -> dict[str, Any]:
        score = self.score_of(values)
        return {"distance": score[0] if score else float("nan"), "misses": score[1] if score else pd.NA}

    def _move_text(self, poll: Poll, r: int) -> str:
        i, _ = poll.moves[r]
        before = round_sig(float(self.priors[i].from_unit(np.asarray(poll.center[i]))))
        after = self.values_of(poll.candidates[r])[self.keys[i]]
        return f"{self.keys[i]} {before:g} -> {after:g}"


def _key(values: Mapping[str, float]) -> tuple:
    return tuple(sorted(values.items()))


def _lookup(data: Mapping[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        node = node[part]
    return node


# --------------------------------------------------------------------------- report
def refine_report(cal, refiner: Refiner, outcome: RefineOutcome, *, command: str | None = None,
                  started: dt.datetime | None = None) -> str:
    """Markdown: the search's path, the values found against the start, and the re-evaluation.
    ``command`` (the command line) and ``started`` (when the command began) go into the stamp,
    with the source tree's commit."""
    from sahel_sim.io.manifest import short_commit

    s = outcome.search
    spec = cal.config.refine
    n_cand = 1 + sum(len(p.candidates) + (p.combined is not None) for p in s.polls)
    now = dt.datetime.now(dt.UTC)
    span = f", {started:%H:%M}-{now:%H:%M} UTC" if started is not None else ""
    lines = [f"# Local refinement of the parameters: {cal.config.name}", "",
             f"Produced on {now:%Y-%m-%d %H:%M} UTC by `{command or f'sahel-sim calibrate {cal.path.name} --refine'}` "
             f"(commit `{short_commit()}`{span}, {_executor_text(refiner.executor)}).",
             "",
             f"Compass search (Kolda, Lewis & Torczon 2003) over {len(outcome.keys)} parameters in their priors' "
             f"transformed coordinates, first step {spec.step:g} of each prior's width, each candidate scored by the "
             f"family-weighted distance of its median statistics over {spec.seeds} common seeds "
             f"(master seed {cal.config.seed}), on {len(cal.used)} targets"
             + (f", plus {spec.miss_penalty:g} for each target whose median is outside its tolerance"
                if spec.miss_penalty else "") + f". Stopped: {s.stopped}.", "",
             f"{'Objective' if spec.miss_penalty else 'Distance'} on the search seeds: start {s.start_distance:.3f}, "
             f"refined {s.best_distance:.3f} ({n_cand} candidates, {n_cand * spec.seeds} runs)"
             + (f"; targets outside tolerance: start {_misses_text(refiner.score_of(outcome.start_values))}, "
                f"refined {_misses_text(refiner.score_of(outcome.best_values))}" if spec.miss_penalty else "")
             + ".", ""]
    if outcome.reevaluated is not None:
        r = outcome.reevaluated
        verdict = "the refined values are better" if outcome.improved else "the start is at least as good"
        misses = (f" (targets outside tolerance: start {r['start_misses']}, refined {r['refined_misses']})"
                  if spec.miss_penalty else "")
        lines += [f"On {cal.config.reevaluate_seeds} fresh seeds (not used by the search): start {r['start']:.3f}, "
                  f"refined {r['refined']:.3f}{misses}: {verdict}.", ""]
    lines += ["## Path", "", f"| poll | candidates | best candidate | taken | {refiner.objective_name} after |",
              "|---:|---:|---:|---|---:|"]
    f = s.start_distance
    for p in s.polls:
        if p.combined_taken:
            f = p.combined_distance
            taken = "improving moves combined: " + ", ".join(
                f"{outcome.keys[i]} {'up' if p.combined[i] > p.center[i] else 'down'}"
                for i in range(len(p.center)) if p.combined[i] != p.center[i])
        elif p.accepted is not None:
            f = float(p.distances[p.accepted])
            i, sign = p.moves[p.accepted]
            taken = f"{outcome.keys[i]} {'up' if sign > 0 else 'down'}"
        else:
            taken = "none (steps halved)"
        best = min(float(np.min(p.distances)), p.combined_distance if p.combined is not None else np.inf)
        lines.append(f"| {p.index} | {len(p.candidates) + (p.combined is not None)} | {best:.3f} | {taken} | {f:.3f} |")
    lines += ["", "## Values", "", "| parameter | prior | start | refined |", "|---|---|---:|---:|"]
    for k, p in zip(outcome.keys, refiner.priors, strict=True):
        a, b = outcome.start_values[k], outcome.best_values[k]
        mark = "" if math.isclose(a, b, rel_tol=1e-9) else " *"
        lines.append(f"| {k} | {p.distribution} {p.low:g}-{p.high:g} | {a:g} | {b:g}{mark} |")
    lines += ["", "(* moved)", ""]
    return "\n".join(lines)


def _executor_text(executor: Any) -> str:
    d = executor.describe()
    workers = f", {d['workers']} workers" if "workers" in d else ""
    return f"{d.get('executor', 'unknown')} executor{workers}"


def _misses_text(score: tuple[float, int] | None) -> str:
    return "not run" if score is None else str(score[1])
