"""The one progress display of every many-run command (sweep, compare, sensitivity, validate,
calibrate): a rich bar with runs done, failures, elapsed and remaining time on a terminal; one
plain line per stage when output is piped; nothing with ``--quiet``. It is the
:class:`~sahel_sim.experiments.engine.ProgressSink` the engine reports to."""

from __future__ import annotations

import sys
from typing import Any


class RunProgress:
    def __init__(self, label: str = "", *, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None
        self.failed = 0

    def __enter__(self) -> RunProgress:
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("runs, [red]{task.fields[failed]} failed"), TimeElapsedColumn(),
                                      TextColumn("left"), TimeRemainingColumn(),
                                      console=Console(stderr=True), transient=False)
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def start(self, *, total: int, done: int, label: str = "") -> None:
        """A new stage (a sweep, one calibration generation): ``done`` of ``total`` runs already on disk."""
        label = label or self.label
        self.failed = 0
        if self._progress is not None:
            if self._task is not None:
                self._progress.remove_task(self._task)
            self._task = self._progress.add_task(label, total=total, completed=done, failed=0)
        elif self.enabled:
            print(f"{label}: {total - done} of {total} runs to do", file=sys.stderr, flush=True)

    def advance(self, *, ok: bool = True) -> None:
        self.failed += 0 if ok else 1
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, failed=self.failed)

    def line(self, text: str) -> None:
        """A message printed above the bar (or as a plain line)."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        elif self.enabled:
            print(text, file=sys.stderr, flush=True)
