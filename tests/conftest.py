"""Shared fixtures: bundled scenario paths and short-window scenarios for fast tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BUNDLED = sorted(p for p in SCENARIOS.glob("*.yaml"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def historical_path() -> Path:
    return SCENARIOS / "historical.yaml"


@pytest.fixture(scope="session")
def short_scenario():
    """The historical scenario cut to 2012-2014 (fast, still crosses Serval and MINUSMA)."""
    from sahel_sim.config import load_scenario

    return load_scenario(SCENARIOS / "historical.yaml", ["end_date=2014-06-30"])
