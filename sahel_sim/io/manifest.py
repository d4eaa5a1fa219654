"""Run manifests: what produced a results folder (scenario, seed, versions, git commit)."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sahel_sim.config import Scenario, scenario_to_data

_PACKAGES = ("sahel-sim", "mesa", "numpy", "scipy", "pyarrow", "pydantic", "pandas", "matplotlib")


def package_versions() -> dict[str, str]:
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(repo: Path | None = None) -> str:
    """The source tree's commit (with ``-dirty`` when it has local changes), or ``unknown``."""
    here = repo or Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def short_commit(repo: Path | None = None) -> str:
    """``git_commit`` with the hash cut to 12 characters (for the stamps of generated docs)."""
    full = git_commit(repo)
    return full if full == "unknown" else full[:12] + ("-dirty" if full.endswith("-dirty") else "")


def build_manifest(*, scenario: Scenario | None = None, seed: int | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest every results folder carries."""
    manifest: dict[str, Any] = {
        "tool": "sahel-sim",
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": package_versions(),
    }
    if seed is not None:
        manifest["seed"] = int(seed)
    if scenario is not None:
        manifest["scenario_name"] = scenario.name
        manifest["scenario"] = scenario_to_data(scenario)
    if extra:
        manifest.update(extra)
    return manifest
