#!/usr/bin/env python3
"""Run a command inside the project's virtual environment, creating it first if needed.

This is the newcomer's entry point: it needs nothing but Python >= 3.12.

    python3 scripts/venv_run.py sahel-sim run scenarios/historical.yaml
    python3 scripts/venv_run.py pytest

On first use it creates ``.venv/`` next to ``pyproject.toml`` and installs the package in
editable mode with its ``dev`` extra (tests, browser app, build-time data tools). It
reinstalls only when ``pyproject.toml`` or the Python version changes (a stamp file in the
venv records what was installed). Set ``SAHEL_VENV`` to use another location.

Standard library only, on purpose.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_PYTHON = (3, 12)


def _venv_dir() -> Path:
    return Path(os.environ.get("SAHEL_VENV", ROOT / ".venv"))


def _bin(venv_dir: Path, name: str) -> Path:
    sub = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return venv_dir / sub / f"{name}{suffix}"


def _wanted_stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_venv() -> Path:
    venv_dir = _venv_dir()
    python = _bin(venv_dir, "python")
    if not python.exists():
        print(f"[venv_run] creating {venv_dir} with Python {sys.version.split()[0]}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    stamp = venv_dir / ".sahel-sim-stamp"
    wanted = _wanted_stamp()
    if not stamp.exists() or stamp.read_text() != wanted:
        print("[venv_run] installing sahel-sim[dev] (first run takes a few minutes)", flush=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"], check=True
        )
        stamp.write_text(wanted)
    return venv_dir


def main(argv: list[str]) -> int:
    if sys.version_info < MIN_PYTHON:
        print(
            f"sahel-sim needs Python >= {'.'.join(map(str, MIN_PYTHON))}; this is "
            f"{sys.version.split()[0]}. Run this script with python3.12 (or newer).",
            file=sys.stderr,
        )
        return 2
    if not argv:
        print(__doc__)
        return 2
    venv_dir = ensure_venv()
    exe = _bin(venv_dir, argv[0])
    cmd = [str(exe) if exe.exists() else argv[0], *argv[1:]]
    env = dict(os.environ)
    env["PATH"] = f"{exe.parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv_dir)
    if os.name == "nt":
        return subprocess.call(cmd, env=env)
    os.execvpe(cmd[0], cmd, env)  # replaces this process: signals and exit code pass through
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
