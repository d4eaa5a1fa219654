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
    index.jsonl          one line per finished run: the SHA-256 of each of its files
    damaged/             run files that failed their check, moved aside (they are redone)
    .lock                the advisory lock of the process working in the folder

Every file is written to a temporary name in its folder, synced and moved into place with
``os.replace`` (:func:`sahel_sim.io.atomic.write_atomic`); a run's row is written after its
other files and its index line last. :meth:`RunStore.verify` (run when a sweep starts) checks
every run's files against the index, moves damaged ones aside so the run is redone, and
indexes run files written before the index existed (or whose index line was lost in a crash)
once they read back. After a crash, a kill or Ctrl-C the rerun does what is missing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
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
INDEX = "index.jsonl"
ID_COLUMNS = ("run_key", "point", "replicate", "seed")


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _unreadable_row(path: Path, key: str) -> str | None:
    """Why a run file is not one readable row of run ``key`` (None when it is)."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        return f"runs/{path.name} cannot be read ({exc.__class__.__name__})"
    if table.num_rows != 1 or "run_key" not in table.column_names or table["run_key"][0].as_py() != key:
        return f"runs/{path.name} is not the row of run {key}"
    return None


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
        self.damaged_dir = self.root / "damaged"
        self.index_path = self.root / INDEX

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

    # ------------------------------------------------------------------ integrity
    def _run_files(self, key: str) -> list[Path]:
        return [p for p in (self.runs_dir / f"{key}.parquet", self.events_dir / f"{key}.parquet",
                            self.cells_dir / f"{key}.npz") if p.exists()]

    def read_index(self) -> dict[str, dict[str, str]]:
        """Run key -> {relative path: sha256}; a torn or garbled line (a crash mid-append) is skipped."""
        out: dict[str, dict[str, str]] = {}
        try:
            text = self.index_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return out
        for line in text.splitlines():
            try:
                entry = json.loads(line)
                out[str(entry["key"])] = {str(k): str(v) for k, v in entry["files"].items()}
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
        return out

    def _append_index(self, key: str, files: Mapping[str, str]) -> None:
        line = json.dumps({"key": key, "files": dict(files)}, sort_keys=True) + "\n"
        with open(self.index_path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def verify(self) -> list[str]:
        """Check every run file; move damaged runs' files to ``damaged/`` so they are redone.

        A run listed in the index must match its checksums. A run file not in the index (a
        folder from before the index, or a crash between the row and its index line) is indexed
        if it reads back as one row of its own key, else treated as damaged. Returns one line
        per damaged run. The index is rewritten, compacted, when anything changed.
        """
        index = self.read_index()
        problems: list[str] = []
        changed = False
        keys = sorted(p.stem for p in self.runs_dir.glob("*.parquet")) if self.runs_dir.exists() else []
        for key in keys:
            entry = index.get(key)
            reason = None
            if entry is not None:
                for rel, digest in entry.items():
                    path = self.root / rel
                    if not path.exists():
                        reason = f"{rel} is missing"
                    elif file_sha256(path) != digest:
                        reason = f"{rel} does not match its checksum"
                    if reason:
                        break
            else:
                reason = _unreadable_row(self.runs_dir / f"{key}.parquet", key)
                if reason is None:
                    index[key] = {str(p.relative_to(self.root)): file_sha256(p) for p in self._run_files(key)}
                    changed = True
            if reason is not None:
                self._set_aside(key)
                index.pop(key, None)
                problems.append(f"run {key}: {reason}; moved to damaged/, it will be redone")
                changed = True
        stale = set(index) - set(keys)
        for key in stale:
            del index[key]
        if changed or stale:
            text = "".join(json.dumps({"key": k, "files": v}, sort_keys=True) + "\n" for k, v in sorted(index.items()))
            write_atomic(self.index_path, text)
        return problems

    def _set_aside(self, key: str) -> None:
        self.damaged_dir.mkdir(parents=True, exist_ok=True)
        for path in self._run_files(key):
            shutil.move(path, self.damaged_dir / f"{path.parent.name}-{path.name}")

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
        self._append_index(key, {str(p.relative_to(self.root)): file_sha256(p) for p in self._run_files(key)})
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
        tables = []
        for f in files:
            try:
                tables.append(pq.read_table(f).replace_schema_metadata(None))
            except (OSError, pa.ArrowException):  # damaged: verify() sets it aside on the next start
                continue
        if not tables:
            return None
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
