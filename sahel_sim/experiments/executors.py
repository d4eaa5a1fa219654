"""Where runs execute: local worker processes or a Dask distributed cluster.

Both executors take the same picklable task function and stream ``(item, value, error)`` back
as runs complete, so the caller writes each result as soon as it exists. They keep a bounded
number of tasks in flight (a sweep of 100,000 runs does not pickle 100,000 scenarios up front).
Because every run is fully determined by its (scenario, seed), the executor changes where and
when a run happens, never its result.

- :class:`LocalExecutor`: :class:`concurrent.futures.ProcessPoolExecutor` with a
  ``forkserver`` (POSIX) or ``spawn`` context, one worker per core by default; ``workers=0``
  runs in this process (debugging). Workers ignore Ctrl-C: the parent handles it, shuts the
  pool down and leaves every finished run on disk.
- :class:`DaskExecutor`: a :class:`distributed.Client` connected to a scheduler address (or a
  client you pass, e.g. on a ``LocalCluster``). The workers must have the same sahel-sim
  installed.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from sahel_sim.config import ConfigError


@dataclass(frozen=True)
class Completed:
    """One finished task: its input, and either its value or the exception it raised."""

    item: Any
    value: Any = None
    error: BaseException | None = None


class Executor(Protocol):
    name: str

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Completed]: ...

    def describe(self) -> dict[str, Any]: ...


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class LocalExecutor:
    """Runs tasks in local worker processes (or in this process with ``workers=0``)."""

    name = "local"

    def __init__(self, workers: int | None = None, *, max_in_flight: int | None = None) -> None:
        if workers is not None and workers < 0:
            raise ConfigError(f"--workers: expected 0 or more, got {workers}")
        self.workers = default_workers() if workers is None else int(workers)
        self.max_in_flight = max_in_flight or max(2 * self.workers, 1)

    def describe(self) -> dict[str, Any]:
        return {"executor": "local", "workers": self.workers}

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Completed]:
        if self.workers == 0:
            for item in items:
                try:
                    yield Completed(item, fn(item))
                except Exception as exc:
                    yield Completed(item, error=exc)
            return
        method = "forkserver" if sys.platform != "win32" and "forkserver" in mp.get_all_start_methods() else "spawn"
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context(method),
                                   initializer=_ignore_sigint)
        pending: dict[Future, Any] = {}
        it = iter(items)
        try:
            def top_up() -> None:
                while len(pending) < self.max_in_flight:
                    try:
                        item = next(it)
                    except StopIteration:
                        return
                    pending[pool.submit(fn, item)] = item

            top_up()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    item = pending.pop(fut)
                    exc = fut.exception()
                    yield Completed(item, error=exc) if exc is not None else Completed(item, fut.result())
                top_up()
        finally:
            for fut in pending:
                fut.cancel()
            pool.shutdown(wait=not pending, cancel_futures=True)


class DaskExecutor:
    """Runs tasks on a Dask distributed cluster.

    ``address`` is the scheduler (``tcp://host:8786``); alternatively pass a connected
    ``client`` (the caller then owns it). Tasks are submitted with ``pure=False`` and one
    retry-free attempt: a failing run is reported, not retried by Dask.
    """

    name = "dask"

    def __init__(self, address: str | None = None, *, client: Any = None, max_in_flight: int | None = None,
                 connect_timeout_s: float = 30.0) -> None:
        if address is None and client is None:
            raise ValueError("DaskExecutor needs a scheduler address or a client")
        self.address = address
        self._client = client
        self._max_in_flight = max_in_flight
        self.connect_timeout_s = connect_timeout_s

    def _connect(self) -> tuple[Any, bool]:
        if self._client is not None:
            return self._client, False
        try:
            from distributed import Client
        except ModuleNotFoundError:  # pragma: no cover - dask is a dependency
            raise ConfigError("--scheduler needs dask[distributed]: pip install 'dask[distributed]'") from None
        try:
            return Client(self.address, timeout=self.connect_timeout_s), True
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"--scheduler {self.address}: cannot connect to a Dask scheduler there "
                              f"({exc.__class__.__name__}: {exc})") from None
        except ValueError as exc:
            raise ConfigError(f"--scheduler {self.address}: {exc}") from None

    def describe(self) -> dict[str, Any]:
        client = self._client
        info: dict[str, Any] = {"executor": "dask", "scheduler": self.address}
        if client is not None:
            info["scheduler"] = client.scheduler.address
            info["threads"] = sum(client.nthreads().values())
        return info

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Completed]:
        from distributed import as_completed

        client, owned = self._connect()
        try:
            threads = max(sum(client.nthreads().values()), 1)
        except Exception:
            threads = 1
        limit = self._max_in_flight or max(2 * threads, 4)
        it = iter(items)
        pending: dict[Any, Any] = {}
        ac = as_completed()
        batch = uuid.uuid4().hex[:8]

        def submit_next() -> bool:
            try:
                item = next(it)
            except StopIteration:
                return False
            key = f"sahel-run-{getattr(item, 'key', len(pending))}-{batch}"
            fut = client.submit(fn, item, key=key, pure=False, retries=0)
            pending[fut.key] = (fut, item)
            ac.add(fut)
            return True

        try:
            for _ in range(limit):
                if not submit_next():
                    break
            for fut in ac:
                _, item = pending.pop(fut.key)
                if fut.status == "error":
                    yield Completed(item, error=fut.exception())
                elif fut.status == "cancelled":
                    yield Completed(item, error=RuntimeError("task cancelled by the Dask cluster"))
                else:
                    yield Completed(item, fut.result())
                fut.release()
                submit_next()
        finally:
            if pending:
                ac.clear()
                client.cancel([f for f, _ in pending.values()])
            if owned:
                client.close()
