"""Calibration targets: the documented trends (``calibration/targets.yaml``) and how far a
simulation is from them.

Each target couples a statistic (:mod:`sahel_sim.stats`) with a documented value, a tolerance
range and its source. A simulated value's *scaled miss* is 0 at the documented value and 1 at
the edge of the tolerance range, measured on a log scale for counts, ratios and stocks and
linearly for shares, separately on each side (tolerances are asymmetric because ACLED levels
are undercounts)::

    d = (f(sim) - f(value)) / (f(high) - f(value))   if sim >= value
    d = (f(value) - f(sim)) / (f(value) - f(low))    otherwise

A target is *hit* when the median over replicate runs lies within the tolerance (|d| <= 1).

Targets come in *families*: the points of one documented series or one kind of evidence (the
DTM's IDP stocks, ACLED's yearly counts, ACLED's admin1 mixes, the dated control facts...). The
calibration distance weighs families, not rows: it is the root of the mean over families of
each family's weighted mean squared scaled miss, so the six points of one IDP series weigh as
much together as the three admin1 mixes together, and adding a point to a series does not
tilt the fit towards that series. A target without a ``family`` is its own family.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sahel_sim.config import ConfigError
from sahel_sim.config.errors import show
from sahel_sim.stats import Statistic

MISSING_PENALTY = 5.0  # scaled miss of a statistic a run could not compute (e.g. 0/0)
TARGET_KEYS = {"id", "description", "documented", "value", "tolerance", "scale", "period", "statistic", "source",
               "exactness", "notes", "weight", "family"}
SOURCE_KEYS = {"publisher", "title", "date", "via"}


@dataclass(frozen=True)
class Target:
    id: str
    description: str
    documented: str
    value: float
    low: float
    high: float
    scale: str
    period_from: dt.date
    period_to: dt.date
    statistic: Statistic
    source: Mapping[str, str]
    exactness: str
    notes: str = ""
    weight: float = 1.0
    family: str = ""  # the series or kind of evidence it belongs to ("" : its own family)

    @property
    def family_id(self) -> str:
        return self.family or self.id

    def _f(self, x: float) -> float:
        return math.log(x) if self.scale == "log" else x

    def scaled_miss(self, simulated: float) -> float:
        """Signed miss: 0 at the documented value, +-1 at the tolerance edges."""
        if simulated is None or not np.isfinite(simulated) or (self.scale == "log" and simulated <= 0):
            return float("nan")
        f, v = self._f(simulated), self._f(self.value)
        if simulated >= self.value:
            return (f - v) / (self._f(self.high) - v)
        return -(v - f) / (v - self._f(self.low))

    def hit(self, simulated: float) -> bool:
        return bool(np.isfinite(simulated) and self.low <= simulated <= self.high)

    @property
    def source_text(self) -> str:
        s = self.source
        return f"{s['publisher']}, \u201c{s['title']}\u201d, {s['date']}"


@dataclass(frozen=True)
class TargetSet:
    targets: tuple[Target, ...]
    path: str = ""

    def __iter__(self):
        return iter(self.targets)

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.targets]

    def statistics(self) -> dict[str, Statistic]:
        return {t.id: t.statistic for t in self.targets}

    def statistics_digest(self) -> str:
        """A digest of what the targets measure (ids, statistic kinds and specs): runs whose
        statistics were computed under another digest cannot be reused."""
        import hashlib
        import json

        text = json.dumps([[t.id, t.statistic.kind, t.statistic.spec] for t in self.targets], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def select(self, ids: Iterable[str] | None = None, *, until: dt.date | None = None,
               after: dt.date | None = None) -> TargetSet:
        """Targets by id and/or by period: ``until`` keeps those ending on or before the date,
        ``after`` those ending after it (the out-of-sample split)."""
        keep = list(self.targets)
        if ids is not None:
            wanted = list(ids)
            unknown = set(wanted) - set(self.ids)
            if unknown:
                raise ConfigError(f"{self.path}: unknown target id(s) {', '.join(sorted(unknown))}")
            keep = [t for t in keep if t.id in wanted]
        if until is not None:
            keep = [t for t in keep if t.period_to <= until]
        if after is not None:
            keep = [t for t in keep if t.period_to > after]
        return TargetSet(tuple(keep), self.path)

    def families(self) -> dict[str, list[Target]]:
        """The targets of each family, families in order of first appearance."""
        out: dict[str, list[Target]] = {}
        for t in self.targets:
            out.setdefault(t.family_id, []).append(t)
        return out

    def distance(self, stats: Mapping[str, float]) -> float:
        """Scaled misses of ``stats`` (id -> value, e.g. replicate means) combined by family:
        the root of the mean over families of each family's weighted mean squared scaled miss
        (a statistic a run could not compute counts as a miss of ``MISSING_PENALTY``)."""
        per_family = []
        for members in self.families().values():
            total = weights = 0.0
            for t in members:
                d = t.scaled_miss(stats.get(t.id, float("nan")))
                d = MISSING_PENALTY if not np.isfinite(d) else d
                total += t.weight * d * d
                weights += t.weight
            if weights > 0:
                per_family.append(total / weights)
        return math.sqrt(sum(per_family) / len(per_family)) if per_family else 0.0

    def misses(self, stats: Mapping[str, float]) -> int:
        """How many targets ``stats`` leaves outside their tolerance (a statistic a run could not
        compute counts as a miss): the count the validation report's headline is made of."""
        return sum(not t.hit(float(stats.get(t.id, float("nan")))) for t in self.targets)

    def table(self, replicate_stats: Sequence[Mapping[str, float]]) -> pd.DataFrame:
        """Per target: documented value and tolerance, simulated median and 90% interval over
        the replicates, scaled miss of the median, and hit or miss."""
        frame = pd.DataFrame(list(replicate_stats), columns=self.ids)
        rows = []
        for t in self.targets:
            col = frame[t.id].to_numpy(dtype=np.float64) if len(frame) else np.array([])
            ok = col[np.isfinite(col)]
            if ok.size:
                q05, med, q95 = np.quantile(ok, [0.05, 0.5, 0.95])
            else:
                q05 = med = q95 = float("nan")
            rows.append({"id": t.id, "description": t.description, "documented": t.documented, "value": t.value,
                         "low": t.low, "high": t.high, "median": med, "q05": q05, "q95": q95, "n": int(ok.size),
                         "scaled_miss": t.scaled_miss(med), "hit": t.hit(med),
                         "period": f"{t.period_from:%Y-%m}..{t.period_to:%Y-%m}", "source": t.source_text,
                         "family": t.family_id})
        return pd.DataFrame(rows)


def _parse_date(value: Any, where: str) -> dt.date:
    from sahel_sim.config.types import parse_date

    try:
        return parse_date(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _number(value: Any, where: str) -> float:
    """A finite number (not a boolean, not text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite number, got {show(value)}")
    return float(value)


def parse_targets(data: Mapping[str, Any], *, source: str = "<targets>") -> TargetSet:
    if not isinstance(data, Mapping) or not isinstance(data.get("targets"), list) or not data["targets"]:
        raise ConfigError(f"{source}: expected a mapping with a non-empty list 'targets'")
    out: list[Target] = []
    seen: set[str] = set()
    for i, item in enumerate(data["targets"]):
        try:
            out.append(_parse_target(i, item, source, seen))
        except ConfigError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a value of the wrong kind deep inside
            raise ConfigError(f"{source}: targets[{i}]: unexpected value ({show(str(exc), limit=120)})") from None
    return TargetSet(tuple(out), source)


def _parse_target(i: int, item: Any, source: str, seen: set[str]) -> Target:
    where = f"{source}: targets[{i}]"
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: expected a mapping")
    tid = item.get("id")
    if not isinstance(tid, str) or not tid.strip() or len(tid) > 200:
        raise ConfigError(f"{where}.id: expected a short text id, got {show(tid)}")
    where = f"{source}: targets[{i}] ({tid})"
    extra = set(item) - TARGET_KEYS
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(extra))}; expected: {', '.join(sorted(TARGET_KEYS))}")
    for key in ("id", "value", "tolerance", "statistic", "source", "period", "documented", "description"):
        if key not in item:
            raise ConfigError(f"{where}.{key}: required key is missing")
    if tid in seen:
        raise ConfigError(f"{where}.id: duplicate id {tid!r}")
    seen.add(tid)
    tol = item["tolerance"]
    if not isinstance(tol, Mapping) or set(tol) != {"low", "high"}:
        raise ConfigError(f"{where}.tolerance: expected {{low: NUMBER, high: NUMBER}}")
    value = _number(item["value"], f"{where}.value")
    low, high = _number(tol["low"], f"{where}.tolerance.low"), _number(tol["high"], f"{where}.tolerance.high")
    if not low <= value <= high or low == high:
        raise ConfigError(f"{where}: value {value} must lie within tolerance [{low}, {high}]")
    scale = item.get("scale", "log")
    if scale not in ("log", "linear"):
        raise ConfigError(f"{where}.scale: expected 'log' or 'linear', got {scale!r}")
    if scale == "log" and low <= 0:
        raise ConfigError(f"{where}.tolerance.low: must be positive on a log scale")
    if value in (low, high):
        raise ConfigError(f"{where}: value must lie strictly inside the tolerance (it is where misses are 0)")
    src = item["source"]
    if not isinstance(src, Mapping) or not {"publisher", "title", "date"} <= set(src) or set(src) - SOURCE_KEYS:
        raise ConfigError(f"{where}.source: expected {{publisher, title, date[, via]}}")
    per = item["period"]
    if not isinstance(per, Mapping) or set(per) != {"from", "to"}:
        raise ConfigError(f"{where}.period: expected {{from: DATE, to: DATE}}")
    stat = item["statistic"]
    if not isinstance(stat, Mapping) or "kind" not in stat:
        raise ConfigError(f"{where}.statistic.kind: required key is missing")
    statistic = Statistic(kind=stat["kind"], spec={k: v for k, v in stat.items() if k != "kind"},
                          where=f"{where}.statistic")
    return Target(
        id=str(tid), description=str(item["description"]), documented=str(item["documented"]), value=value,
        low=low, high=high, scale=scale, period_from=_parse_date(per["from"], f"{where}.period.from"),
        period_to=_parse_date(per["to"], f"{where}.period.to"), statistic=statistic,
        source={k: str(v) for k, v in src.items()}, exactness=str(item.get("exactness", "")),
        notes=str(item.get("notes", "")), weight=_weight(item.get("weight", 1.0), f"{where}.weight"),
        family=_family(item.get("family", ""), f"{where}.family"))


def _weight(value: Any, where: str) -> float:
    w = _number(value, where)
    if w <= 0:
        raise ConfigError(f"{where}: expected a positive number, got {show(value)}")
    return w


def _family(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > 100 or (value and not value.replace("_", "").isalnum()):
        raise ConfigError(f"{where}: expected a short name of letters, digits and underscores, got {show(value)}")
    return value


def load_targets(path: str | Path) -> TargetSet:
    from sahel_sim.config.loader import read_yaml

    path = Path(path)
    return parse_targets(read_yaml(path), source=str(path))
