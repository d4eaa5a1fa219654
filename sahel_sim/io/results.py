"""A run's results folder: event log (CSV + Parquet), weekly series, refugees, cell snapshots,
manifest. ``write_run`` writes every file atomically (or the folder, staged); ``read_run``
loads them back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sahel_sim.io.atomic import write_atomic, write_file
from sahel_sim.io.manifest import build_manifest
from sahel_sim.run import CellSnapshots, RunResult

FILES = ("events.csv", "events.parquet", "weekly.parquet", "weekly.csv", "refugees.parquet", "snapshots.npz",
         "manifest.json")


def _parquet(table: pa.Table):
    return lambda p: pq.write_table(table, p, compression="zstd")


def _csv(table: pa.Table):
    return lambda p: pacsv.write_csv(table, p)


def _npz(snap: CellSnapshots):
    def write(p: Path) -> None:
        with open(p, "wb") as fh:
            np.savez_compressed(
                fh, dates=np.array([d.isoformat() for d in snap.dates]), gid=snap.gid,
                factions=np.array(snap.factions), control=snap.control, influence=snap.influence,
                violence=snap.violence, civilian_deaths=snap.civilian_deaths, displaced=snap.displaced,
                grievance=snap.grievance, population=snap.population)
    return write


def write_run(result: RunResult, out_dir: str | Path, *, extra_manifest: dict[str, Any] | None = None,
              staged: bool = False) -> Path:
    """Write ``result`` into ``out_dir`` (created if needed); returns the folder. Each file is
    written atomically, or, with ``staged=True`` (``out_dir`` is a folder being staged by
    :func:`sahel_sim.io.atomic.staged_folder`, which makes the whole folder atomic), once,
    in place."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write = write_file if staged else write_atomic
    write(out / "events.parquet", _parquet(result.events))
    write(out / "events.csv", _csv(result.events))
    write(out / "weekly.parquet", _parquet(result.weekly))
    write(out / "weekly.csv", _csv(result.weekly))
    write(out / "refugees.parquet", _parquet(result.refugees))
    write(out / "snapshots.npz", _npz(result.snapshots))
    manifest = build_manifest(scenario=result.scenario, seed=result.seed, extra={
        "run_id": result.run_id, "n_steps": result.n_steps, "wall_time_s": round(result.wall_time_s, 3),
        "n_events": result.events.num_rows, "files": list(FILES), **result.extra, **(extra_manifest or {})})
    write(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return out


@dataclass(frozen=True)
class LoadedRun:
    """A results folder read back: pandas frames, snapshot arrays and the manifest."""

    path: Path
    events: Any  # pandas.DataFrame
    weekly: Any
    refugees: Any
    snapshots: CellSnapshots
    manifest: dict[str, Any]


def read_snapshots(path: str | Path) -> CellSnapshots:
    import datetime as dt

    with np.load(path, allow_pickle=False) as z:
        return CellSnapshots(
            dates=tuple(dt.date.fromisoformat(str(d)) for d in z["dates"]), gid=z["gid"],
            factions=tuple(str(f) for f in z["factions"]), control=z["control"], influence=z["influence"],
            violence=z["violence"], civilian_deaths=z["civilian_deaths"], displaced=z["displaced"],
            grievance=z["grievance"], population=z["population"])


def read_run(path: str | Path) -> LoadedRun:
    """Load a folder written by :func:`write_run`."""
    p = Path(path)
    missing = [f for f in ("events.parquet", "weekly.parquet", "refugees.parquet", "snapshots.npz", "manifest.json")
               if not (p / f).exists()]
    if missing:
        from sahel_sim.config import ConfigError

        raise ConfigError(f"{p}: not a sahel-sim run folder (missing {', '.join(missing)})")
    return LoadedRun(path=p, events=pq.read_table(p / "events.parquet").to_pandas(),
                     weekly=pq.read_table(p / "weekly.parquet").to_pandas(),
                     refugees=pq.read_table(p / "refugees.parquet").to_pandas(),
                     snapshots=read_snapshots(p / "snapshots.npz"),
                     manifest=json.loads((p / "manifest.json").read_text()))
