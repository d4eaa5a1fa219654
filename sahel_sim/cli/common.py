"""Arguments and helpers shared by subcommands."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path


def add_scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", type=Path, help="scenario YAML file (e.g. scenarios/historical.yaml)")
    p.add_argument("--set", action="append", metavar="KEY.PATH=VALUE",
                   help="override a scenario value, validated like the file (repeatable), "
                        "e.g. --set mechanisms.combat.battle_rate_per_week=0.3")


@contextlib.contextmanager
def progress_bar(label: str, *, enabled: bool = True) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a terminal; nothing when output is piped or ``enabled`` is False."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("weeks"),
                  TimeRemainingColumn(), transient=True) as prog:
        task = prog.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            prog.update(task, completed=done, total=total)

        yield update


def add_executor_args(p: argparse.ArgumentParser) -> None:
    """Where runs execute: the options of every many-run command (sweep, compare, sensitivity,
    validate, calibrate), which all go through the one experiment engine."""
    g = p.add_argument_group("where runs execute")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: all cores; 0 runs in this process)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://host:8786 (see docs/experiments.md for SLURM)")
    g.add_argument("--connect-timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for the Dask scheduler to answer (default: %(default)s)")
    g.add_argument("--worker-timeout", type=float, default=600.0, metavar="S",
                   help="give up after S seconds with no Dask worker connected, keeping the runs done "
                        "(default: %(default)s)")
    g.add_argument("--shared-store", action="store_true",
                   help="Dask workers write their runs into the results folder themselves (it must be on a file "
                        "system every worker mounts at the same path, e.g. cluster scratch); local workers always do")
    g.add_argument("--chunk-size", type=int, default=None, metavar="N",
                   help="runs sent to a worker per task (default: 1 for short plans, up to 4 for long ones)")


def note(text: str) -> None:
    print(f"sahel-sim: note: {text}", file=sys.stderr, flush=True)


def make_executor(args: argparse.Namespace, *, default_workers: int | None = None, scheduler: str | None = None):
    """The executor the options ask for: local processes by default, Dask with --scheduler
    (or ``scheduler``, e.g. from a calibration config)."""
    from sahel_sim.config import ConfigError
    from sahel_sim.experiments.executors import DaskExecutor, LocalExecutor

    if args.chunk_size is not None and args.chunk_size < 1:
        raise ConfigError(f"--chunk-size: expected 1 or more runs per task, got {args.chunk_size}")
    address = args.scheduler or scheduler
    if address is not None:
        if args.workers is not None and args.scheduler is not None:
            raise ConfigError("--workers and --scheduler: give one (the cluster decides its workers)")
        for opt in ("connect_timeout", "worker_timeout"):
            value = getattr(args, opt)
            if not 0 < value <= 86_400:
                raise ConfigError(f"--{opt.replace('_', '-')}: expected seconds between 0 and 86400, got {value:g}")
        return DaskExecutor(address, connect_timeout_s=args.connect_timeout, worker_timeout_s=args.worker_timeout,
                            notify=note, shared_filesystem=args.shared_store)
    if args.shared_store:
        raise ConfigError("--shared-store: only with --scheduler (local workers always write their runs)")
    return LocalExecutor(args.workers if args.workers is not None else default_workers)
