"""Run the classroom app's server in a subprocess for scripts and tests (always terminated)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class AppServerError(RuntimeError):
    """The app's server exited or did not answer; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(log_path: Path, *, timeout_s: float = 90.0) -> Iterator[str]:
    """Start the exact command ``sahel-sim viz`` runs on a free localhost port, wait until it
    answers, yield its URL, and terminate it on exit. Its output goes to ``log_path``."""
    from sahel_sim.cli.viz_cmd import viz_command, viz_env

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = viz_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(viz_command(host="127.0.0.1", port=port, open_browser=False), cwd=ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    raise AppServerError(f"app server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(url, timeout=2) as r:
                        if r.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise AppServerError(f"app server did not answer on {url}:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
