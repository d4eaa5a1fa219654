"""The command line stays light: ``--help``, each subcommand's ``--help`` and argument errors
import neither the model (nor Mesa), matplotlib nor Dask (issue 14). Checked in a fresh
interpreter through the real entry point, so nothing imported by other tests leaks in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sahel_sim.model", "sahel_sim.run", "mesa", "matplotlib", "dask", "distributed", "pandas", "scipy",
         "pydantic")

_PROBE = """
import json, sys
from sahel_sim.cli import main
try:
    rc = main({argv!r})
except SystemExit as exc:
    rc = exc.code
print(json.dumps({{"rc": rc, "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def _probe(argv: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", _PROBE.format(argv=argv, heavy=HEAVY)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    return json.loads(proc.stdout.strip().splitlines()[-1])


SUBCOMMANDS = ("run", "map", "sweep", "compare", "sensitivity", "viz", "plot", "animate", "calibrate", "validate", "export")


@pytest.mark.parametrize("argv", [["--help"], *[[c, "--help"] for c in SUBCOMMANDS]], ids=lambda a: " ".join(a))
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    out = _probe(argv)
    assert out["rc"] == 0
    assert out["loaded"] == [], f"sahel-sim {' '.join(argv)} imported {out['loaded']}"


@pytest.mark.parametrize("argv", [
    ["run"],                                          # missing scenario
    ["run", "scenarios/historical.yaml", "--seed", "x"],  # not an integer
    ["run", "scenarios/historical.yaml", "--seed", "-1"],  # out of range (checked by the command)
    ["sweep", "--workers", "two", "s.yaml"],
    ["nosuchcommand"],
], ids=lambda a: " ".join(a))
def test_argument_errors_import_nothing_heavy(argv: list[str]) -> None:
    out = _probe(argv)
    assert out["rc"] == 2
    assert out["loaded"] == [], f"sahel-sim {' '.join(argv)} imported {out['loaded']}"


def test_every_subcommand_is_listed() -> None:
    """The list above covers the whole command surface (a new subcommand gets checked too)."""
    import argparse

    from sahel_sim.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) <= set(SUBCOMMANDS), set(sub.choices) - set(SUBCOMMANDS)
