"""The ``sahel-sim`` process's own housekeeping: its garbage collector and Arrow's allocator
(issue 14, the command line's own cost; measured in docs/experiments.md, "Command-line overhead").

Only the console command's own process does any of this (:func:`sahel_sim.cli.entry`, which
``python -m sahel_sim`` also runs): :func:`sahel_sim.cli.main` called inside another program
(the tests, a notebook) leaves that program's collector and allocator alone.

- Arrow's allocator: the system one (glibc malloc), which hands freed memory back, where Arrow's
  default (mimalloc) keeps what the event log and the results tables took: 21 MB less peak
  memory for ``sahel-sim run`` on the historical scenario. ``ARROW_DEFAULT_MEMORY_POOL`` set by
  the user wins.
- The collector: importing the model (Mesa with pandas, networkx and scipy; pydantic; pyarrow)
  creates about 190,000 tracked objects that live as long as the process, and no garbage, yet
  the collector walks them again and again while they are created (0.2-0.3 s) and in every full
  collection after (0.15 s each). It is paused during those imports and the objects are then
  frozen (:func:`gc.freeze`): later collections walk only what the run creates.
- At exit the interpreter collects everything, several times, before it frees the modules:
  0.7-0.9 s after a run. The command has written and closed its files by then, so every object
  is frozen first and those collections find nothing to walk. ``atexit`` handlers and
  ``weakref.finalize`` callbacks (temporary folders, Dask) run as before.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator

_OWNED = False


def own_process() -> None:
    """This process is the command's own and ends with it: apply the settings above. Call it
    before anything imports pyarrow."""
    global _OWNED
    _OWNED = True
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


@contextlib.contextmanager
def importing() -> Iterator[None]:
    """Around a command's heavy imports: no collection while they run, their objects frozen
    after (in the command's own process; elsewhere nothing changes)."""
    if not _OWNED:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def collect_run() -> None:
    """Collect what a finished run leaves (the model and its agents refer to each other, so
    they wait for a full collection) before its results are written: its arrays are then not
    resident while the files are. Cheap once the imports are frozen (:func:`importing`)."""
    gc.collect()


def before_exit() -> None:
    """The command is done and its files are closed: freeze every object, so that the
    interpreter's collections at exit have nothing to walk."""
    if _OWNED:
        gc.freeze()
