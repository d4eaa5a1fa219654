"""An advisory lock on a results folder, so two sweeps never work in one folder at once.

The lock is ``fcntl.flock`` on ``<folder>/.lock`` (POSIX; released by the kernel when the
holder exits, even on SIGKILL, so a crash never leaves a stale lock). The file records the
holder's pid, host, start time and command, so the refusal can say who holds the folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from sahel_sim.config import ConfigError

LOCK_NAME = ".lock"


class FolderLock:
    """``with FolderLock(folder, command=...):`` holds the folder or raises :class:`ConfigError`."""

    def __init__(self, folder: str | Path, *, command: str | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.command = command or " ".join(sys.argv)
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no advisory locks, carry on
            self._fd = fd
            return self
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise ConfigError(f"{self.folder}: in use by another sahel-sim ({holder}); wait until it ends, "
                              "or choose another --out") from None
        except OSError as exc:  # a file system without locks (some network mounts)
            os.close(fd)
            raise ConfigError(f"{self.folder}: cannot lock the folder ({exc.strerror}); "
                              "use a folder on a local disk") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "command": self.command[:500]}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _read_holder(fd: int, *, attempts: int = 20, pause_s: float = 0.025) -> str:
    """Who holds the lock. A holder writes its pid just after it takes the lock, so a refusal
    that lands between the two waits up to ``attempts * pause_s`` seconds for the record."""
    for attempt in range(attempts):
        try:
            info = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
            return f"pid {info['pid']} on host {info['host']} since {info['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            if attempt + 1 < attempts:
                time.sleep(pause_s)
    return "a process that has not written its pid"
