"""Where runs execute: local worker processes or a Dask distributed cluster.

Both executors take the same picklable task function and stream ``(item, value, error)`` back
as tasks complete (a task is a chunk of runs: :func:`sahel_sim.experiments.engine.execute_chunk`).
Workers start once and take many tasks each. They keep a bounded number of tasks in flight (a
sweep of 100,000 runs does not pickle 100,000 scenarios up front). Because every run is fully
determined by its (scenario, seed), the executor changes where and when a run happens, never
its result.

``shares_filesystem`` tells the engine whether the workers can write the results folder
themselves (local processes: yes; a Dask cluster: only when told, e.g. a SLURM cluster whose
nodes mount the same scratch); ``slots`` is how many tasks run at once.

- :class:`LocalExecutor`: :class:`concurrent.futures.ProcessPoolExecutor` with a
  ``forkserver`` (POSIX) or ``spawn`` context, one worker per core by default; ``workers=0``
  runs in this process (debugging). Workers ignore Ctrl-C: the parent handles it, stops the
  workers and leaves every finished run on disk. Each worker also watches the driver and exits
  within about a second of its death, however it died (SIGKILL included), so no worker,
  forkserver or resource tracker outlives a killed sweep.
- :class:`DaskExecutor`: a :class:`distributed.Client` connected to a scheduler address (or a
  client you pass, e.g. on a ``LocalCluster``). The workers must have the same sahel-sim
  installed. :meth:`DaskExecutor.connect` fails fast on an unreachable scheduler (callers
  connect before creating an output folder); when no worker is connected the executor says
  so and gives up after ``worker_timeout_s`` with :class:`NoWorkersError` (finished runs are
  saved by the caller as they complete).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from sahel_sim.config import ConfigError

# Dask settings for the workers (and, on a LocalCluster, the scheduler) of a cluster that
# runs sahel-sim. Dask's defaults serve an interactive dashboard: every worker samples the
# stack of the thread running the task every 10 ms (the dashboard's profile page), and every
# process checks its event loop every 20 ms and its memory and CPU every 100-500 ms. A run is
# a second of single-threaded numerical work, so none of that is needed, and on 2 cores it cost
# a tenth to a fifth of the throughput of 2 workers (docs/experiments.md, "Dask settings"). Apply them with
# ``dask.config.set(DASK_SETTINGS)`` before a LocalCluster is created, or as environment
# variables (:func:`dask_environment`) where `dask worker` or a batch job starts the workers.
DASK_SETTINGS: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,          # no stack sampling every 10 ms
    "distributed.admin.tick.interval": "500ms",           # event-loop health check (default 20 ms)
    "distributed.admin.system-monitor.interval": "5s",    # CPU, memory, network counters (default 500 ms)
    "distributed.worker.memory.monitor-interval": "1s",   # memory limit checks (default 100 ms)
}


def dask_environment(settings: dict[str, Any] | None = None) -> dict[str, str]:
    """``settings`` (default :data:`DASK_SETTINGS`) as the environment variables Dask reads at
    start-up: ``distributed.worker.profile.enabled`` -> ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED``
    (dots become double underscores and hyphens underscores, which Dask reads as the same key;
    values are parsed as Python literals where they are ones)."""
    out = {}
    for key, value in (DASK_SETTINGS if settings is None else settings).items():
        name = "DASK_" + "__".join(part.upper().replace("-", "_") for part in key.split("."))
        out[name] = str(value)  # False -> "False": Dask reads it back as the literal
    return out


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


class NoWorkersError(RuntimeError):
    """A Dask cluster had no worker for longer than the executor's ``worker_timeout_s``."""


def _worker_profiling(dask_worker: Any) -> bool:
    """Run on a Dask worker (``client.run``): whether Dask's statistical profiler samples the
    stack of its running task (``distributed.worker.profile.enabled``)."""
    return "profile" in getattr(dask_worker, "periodic_callbacks", {})


def _notify_default(text: str) -> None:
    logging.getLogger("sahel_sim").warning(text)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _driver_alive(pid: int, create_time: float | None) -> bool:
    import psutil

    try:
        proc = psutil.Process(pid)
        if create_time is not None and abs(proc.create_time() - create_time) > 1e-3:
            return False  # the pid was reused by another process
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _watch_driver(pid: int, create_time: float | None, period_s: float) -> None:
    while True:
        time.sleep(period_s)
        if not _driver_alive(pid, create_time):
            os._exit(70)  # the driver is gone: nobody will read this worker's result


def _init_worker(driver_pid: int, driver_create_time: float | None, period_s: float = 1.0) -> None:
    """Worker start-up: ignore Ctrl-C (the driver handles it) and exit when the driver dies.

    The workers' parent is the forkserver, not the driver, so the kernel's parent-death signal
    cannot be used; a daemon thread polls the driver (by pid and start time) instead.
    """
    _ignore_sigint()
    threading.Thread(target=_watch_driver, args=(driver_pid, driver_create_time, period_s), daemon=True,
                     name="sahel-sim-driver-watch").start()
    from sahel_sim.experiments.engine import warm_up

    warm_up()  # the worker imports the model once, before its first task


def _self_create_time() -> float | None:
    import psutil

    try:
        return psutil.Process(os.getpid()).create_time()
    except psutil.Error:  # pragma: no cover
        return None


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class LocalExecutor:
    """Runs tasks in local worker processes (or in this process with ``workers=0``)."""

    name = "local"
    shares_filesystem = True

    def __init__(self, workers: int | None = None, *, max_in_flight: int | None = None) -> None:
        if workers is not None and workers < 0:
            raise ConfigError(f"--workers: expected 0 or more, got {workers}")
        self.workers = default_workers() if workers is None else int(workers)
        self.max_in_flight = max_in_flight or max(2 * self.workers, 1)

    @property
    def slots(self) -> int:
        return max(self.workers, 1)

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
                                   initializer=_init_worker, initargs=(os.getpid(), _self_create_time()))
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
            if pending:  # interrupted: stop the workers now rather than after their current run
                for proc in list((getattr(pool, "_processes", None) or {}).values()):
                    proc.terminate()
            pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Runs tasks on a Dask distributed cluster.

    ``address`` is the scheduler (``tcp://host:8786``); alternatively pass a connected
    ``client`` (the caller then owns it). Tasks are submitted with ``pure=False`` and one
    retry-free attempt: a failing run is reported, not retried by Dask. With
    ``shared_filesystem=True`` the workers write their runs into the results folder themselves
    (it must be on a file system every worker mounts at the same path); otherwise they send
    the results back and the driver writes them.
    """

    name = "dask"

    def __init__(self, address: str | None = None, *, client: Any = None, max_in_flight: int | None = None,
                 connect_timeout_s: float = 30.0, worker_timeout_s: float = 600.0,
                 notify: Callable[[str], None] | None = None, shared_filesystem: bool = False) -> None:
        if address is None and client is None:
            raise ValueError("DaskExecutor needs a scheduler address or a client")
        self.address = address
        self._client = client
        self._owned = False
        self._max_in_flight = max_in_flight
        self.connect_timeout_s = connect_timeout_s
        self.worker_timeout_s = worker_timeout_s
        self.notify = notify or _notify_default
        self.shares_filesystem = bool(shared_filesystem)
        self._advised = False

    @property
    def slots(self) -> int:
        if self._client is None:
            return 1
        try:
            return max(sum(self._client.nthreads().values()), 1)
        except Exception:
            return 1

    def connect(self) -> None:
        """Connect to the scheduler now (raises :class:`ConfigError` when it cannot be reached)."""
        if self._client is None:
            self._client, self._owned = self._connect()

    def _connect(self) -> tuple[Any, bool]:
        if self._client is not None:
            return self._client, self._owned
        try:
            from distributed import Client
        except ModuleNotFoundError:  # pragma: no cover - dask is a dependency
            raise ConfigError("--scheduler needs dask[distributed]: pip install 'dask[distributed]'") from None
        try:
            return Client(self.address, timeout=self.connect_timeout_s), True
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"--scheduler {self.address}: cannot connect to a Dask scheduler there "
                              f"({exc.__class__.__name__}: {exc})") from None
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"--scheduler {self.address}: {exc}") from None

    def _n_workers(self, client: Any) -> int:
        try:
            return len(client.scheduler_info().get("workers", {}))
        except Exception:  # the scheduler itself is unreachable: count as no worker
            return 0

    def describe(self) -> dict[str, Any]:
        client = self._client
        info: dict[str, Any] = {"executor": "dask", "scheduler": self.address}
        if client is not None:
            info["scheduler"] = client.scheduler.address
            info["threads"] = sum(client.nthreads().values())
        info["workers_write"] = self.shares_filesystem
        return info

    def advise(self, client: Any) -> None:
        """Say once, through ``notify``, when connected workers run Dask's statistical profiler
        (it costs a sweep a tenth to a fifth of its runs on a small machine; ``DASK_SETTINGS``
        turns it off). Never fails: a cluster that cannot be asked is not advised."""
        if self._advised:
            return
        self._advised = True
        try:
            profiling = client.run(_worker_profiling)
        except Exception:  # an old or restricted cluster: nothing to say
            return
        on = sum(bool(v) for v in profiling.values())
        if on:
            self.notify(f"{on} of {len(profiling)} Dask workers sample the running task's stack every 10 ms "
                        "(distributed.worker.profile.enabled): on 2 cores that cost a sweep a tenth to a fifth of "
                        "its runs a minute. Start the workers with the variables of "
                        "sahel_sim.experiments.dask_environment() (docs/experiments.md, \"Dask settings\").")

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Completed]:
        from distributed import as_completed

        client, owned = self._connect()
        self.advise(client)
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
            first = item[0] if isinstance(item, (list, tuple)) and item else item
            key = f"sahel-run-{getattr(first, 'key', len(pending))}-{batch}"
            fut = client.submit(fn, item, key=key, pure=False, retries=0)
            pending[fut.key] = (fut, item)
            ac.add(fut)
            return True

        where = self.address or "the Dask cluster"
        try:
            for _ in range(limit):
                if not submit_next():
                    break
            no_worker_since: float | None = None
            last_check = 0.0
            while not ac.is_empty():
                if ac.has_ready():
                    for fut in ac.next_batch(block=False):
                        _, item = pending.pop(fut.key)
                        if fut.status == "error":
                            yield Completed(item, error=fut.exception())
                        elif fut.status == "cancelled":
                            yield Completed(item, error=RuntimeError("task cancelled by the Dask cluster"))
                        else:
                            yield Completed(item, fut.result())
                        fut.release()
                        submit_next()
                    continue
                now = time.monotonic()
                if now - last_check >= 2.0:
                    last_check = now
                    if self._n_workers(client) > 0:
                        if no_worker_since is not None:
                            self.notify(f"a Dask worker is connected to {where} again; continuing")
                        no_worker_since = None
                    elif no_worker_since is None:
                        no_worker_since = now
                        self.notify(f"no Dask worker is connected to {where}; waiting up to "
                                    f"{self.worker_timeout_s:g} s for one (--worker-timeout)")
                    elif now - no_worker_since > self.worker_timeout_s:
                        raise NoWorkersError(f"no Dask worker connected to {where} for {self.worker_timeout_s:g} s; "
                                             "gave up (finished runs are saved; rerun the same command to resume)")
                time.sleep(0.05)
        finally:
            if pending:
                ac.clear()
                client.cancel([f for f, _ in pending.values()])
            if owned:
                client.close()
                self._client, self._owned = None, False
