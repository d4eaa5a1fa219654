"""Where and whom each force attacks: bases and strikes are separate (ODD M2).

A force's units sit at their bases and sanctuaries; it strikes at a distance. Its *reach*
over a cell is the fighter-weighted sum of ``exp(-d / strike_reach_km)`` over its units
(0-1: the share of the force that can bring itself to bear there). Each target (an enemy
force where it is present, peacekeepers, a community) has a value; the attacker weighs value
by reach and by risk (a target much stronger than the attacker's local strength is avoided),
and spends a weekly budget proportional to its strength on the weighted targets:

    expected events at (target, cell) = budget x w(target, cell) / (half + sum of w)

so a force with few targets spends little of its budget, and one with many spends nearly all
of it, wherever its units stand. The event is logged at the target's cell: raids, ambushes
and IEDs happen where garrisons, convoys and communities are, not where the group camps.

Sources: target selection by value and risk in insurgent violence, Berman, Shapiro & Felter
(2011) "Can hearts and minds be bought?", *Journal of Political Economy* 119(4), and
Lyall (2009) *Journal of Conflict Resolution* 53(3); raiding reach of Sahelian armed groups
along roads and rivers: Raleigh, Nsaibia & Dowd (2021) "The Sahel crisis since 2012",
*African Affairs* 120(478). Constants: the ``combat`` block and each actor's
``strike_reach_km``, ``aggression``.
"""

from __future__ import annotations

import numpy as np


def reach(fighters_per_cell: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Share of a force that can strike each cell (0-1): fighter-weighted kernel over its
    occupied cells, divided by its strength."""
    occupied = np.flatnonzero(fighters_per_cell)
    total = fighters_per_cell[occupied].sum()
    if total <= 0:
        return np.zeros(kernel.shape[1])
    return (fighters_per_cell[occupied] / total) @ kernel[occupied]


def risk_factor(target_presence: np.ndarray, own_presence: np.ndarray, aversion: float) -> np.ndarray:
    """``exp(-aversion x T / (T + O + 1))``: targets stronger than the attacker's local strength
    are attacked less (1 for a lone target, ``exp(-aversion)`` for an overwhelming one)."""
    return np.exp(-aversion * target_presence / (target_presence + own_presence + 1.0))


def allocate(budget: float, weights: np.ndarray, half: float) -> np.ndarray:
    """Expected events per (target, cell): ``budget x w / (half + sum w)``."""
    total = float(weights.sum())
    if budget <= 0 or total <= 0:
        return np.zeros_like(weights)
    return budget * weights / (half + total)
