"""The results folder of a sweep (or comparison, or sensitivity analysis), written run by run.

Layout::

    manifest.json        what produced the folder: plan, seeds, versions, git commit
    design.parquet       one row per design point (its values)
    runs/<key>.parquet   one row per finished run: design values, seed, outcomes
    failed/<key>.json    runs that raised, with the error (removed if a rerun succeeds)
    events/<key>.parquet full event logs, only with ``keep_events``
    cells/<key>.npz      per-cell totals, only with ``keep_cells``
    outcomes.parquet     every finished run in one tidy table (rebuilt at the end of a sweep)
    failures.parquet     every failed run, when there are any

Every file is written to a temporary name in its folder and moved into place with
``os.replace`` (:func:`sahel_sim.io.atomic.write_atomic`), and a run's row is written last, so
a run is finished exactly when ``runs/<key>.parquet`` exists. After a crash, a kill or Ctrl-C,
:meth:`RunStore.finished` lists what is done and the rerun does the rest.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sahel_sim.io.atomic import write_atomic

OUTCOMES = "outcomes.parquet"
FAILURES = "failures.parquet"
MANIFEST = "manifest.json"
DESIGN = "design.parquet"
ID_COLUMNS = ("run_key", "point", "replicate", "seed")


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def column_type(values: list[Any]) -> pa.DataType:
    """One Arrow type for a design column: bool, int64, float64, else string."""
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


def coerce(value: Any, typ: pa.DataType) -> Any:
    if pa.types.is_string(typ):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    if pa.types.is_floating(typ):
        return float(value)
    return value


class RunStore:
    """Reads and writes one results folder (only the driver process writes)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.failed_dir = self.root / "failed"
        self.events_dir = self.root / "events"
        self.cells_dir = self.root / "cells"

    # ------------------------------------------------------------------ setup
    def open(self) -> None:
        """Create the folders and remove temporary files left by an interrupted write."""
        for d in (self.root, self.runs_dir, self.failed_dir):
            d.mkdir(parents=True, exist_ok=True)
        for d in (self.root, self.runs_dir, self.failed_dir, self.events_dir, self.cells_dir):
            for tmp in (d.glob(".*.tmp") if d.exists() else ()):
                tmp.unlink(missing_ok=True)

    def read_manifest(self) -> dict[str, Any] | None:
        p = self.root / MANIFEST
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        write_atomic(self.root / MANIFEST, json.dumps(manifest, indent=2, default=str) + "\n")

    def write_design(self, table: pa.Table) -> None:
        write_atomic(self.root / DESIGN, parquet_bytes(table))

    # ------------------------------------------------------------------ state
    def finished(self) -> set[str]:
        return {p.stem for p in self.runs_dir.glob("*.parquet")} if self.runs_dir.exists() else set()

    def failed(self) -> set[str]:
        return {p.stem for p in self.failed_dir.glob("*.json")} if self.failed_dir.exists() else set()

    # ------------------------------------------------------------------ one run
    def write_run(self, row: Mapping[str, Any], types: Mapping[str, pa.DataType], *,
                  events: pa.Table | None = None, cells: Mapping[str, np.ndarray] | None = None,
                  metadata: Mapping[str, str] | None = None) -> Path:
        """Write a finished run: extras first, its row last (the row marks it finished)."""
        key = str(row["run_key"])
        if events is not None:
            write_atomic(self.events_dir / f"{key}.parquet", parquet_bytes(events))
        if cells is not None:
            buf = io.BytesIO()
            np.savez_compressed(buf, **{k: np.asarray(v) for k, v in cells.items()})
            write_atomic(self.cells_dir / f"{key}.npz", buf.getvalue())
        fields = [pa.field(k, types.get(k, pa.float64())) for k in row]
        table = pa.table({k: pa.array([v], type=f.type) for (k, v), f in zip(row.items(), fields, strict=True)},
                         schema=pa.schema(fields, metadata=dict(metadata or {})))
        path = write_atomic(self.runs_dir / f"{key}.parquet", parquet_bytes(table))
        (self.failed_dir / f"{key}.json").unlink(missing_ok=True)
        return path

    def write_failure(self, key: str, info: Mapping[str, Any]) -> Path:
        return write_atomic(self.failed_dir / f"{key}.json", json.dumps(dict(info), indent=2, default=str) + "\n")

    def read_cells(self, key: str) -> dict[str, np.ndarray]:
        with np.load(self.cells_dir / f"{key}.npz", allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    # ------------------------------------------------------------------ whole folder
    def read_runs(self) -> pa.Table | None:
        """Every finished run, sorted by (point, replicate); None when there are none."""
        files = sorted(self.runs_dir.glob("*.parquet"))
        if not files:
            return None
        tables = [pq.read_table(f).replace_schema_metadata(None) for f in files]
        table = pa.concat_tables(tables, promote_options="default")
        return table.sort_by([("point", "ascending"), ("replicate", "ascending")])

    def read_failures(self) -> list[dict[str, Any]]:
        out = []
        for f in sorted(self.failed_dir.glob("*.json")):
            try:
                out.append(json.loads(f.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        return out

    def consolidate(self) -> Path | None:
        """Rewrite ``outcomes.parquet`` (and ``failures.parquet``) from the per-run files."""
        table = self.read_runs()
        out = None
        if table is not None:
            out = write_atomic(self.root / OUTCOMES, parquet_bytes(table))
        failures = self.read_failures()
        fpath = self.root / FAILURES
        if failures:
            cols = ("run_key", "point", "replicate", "seed", "error")
            ftable = pa.table({c: [f.get(c) for f in failures] for c in cols})
            write_atomic(fpath, parquet_bytes(ftable))
        else:
            fpath.unlink(missing_ok=True)
        return out
