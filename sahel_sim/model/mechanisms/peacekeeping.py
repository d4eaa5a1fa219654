"""Peacekeeping: protection of civilians, deterrence, peacekeepers as targets (ODD M6).

MINUSMA contingents sit at their camps (opened by ``deploy``, closed on the dates of the 2023
handovers). Their presence protects civilians (``protection`` of attacks on civilians
prevented under full cover), deters armed groups' attacks on others (``deterrence``) and
counts toward security; their camps and convoys are targets (mechanisms/strikes.py).

Sources: Hultman, Kathman & Shannon (2013) *AJPS* 57(4) and (2014) *APSR* 108(4); Fjelde,
Hultman & Nilsson (2019) "Protection through presence", *International Organization*
73(1). Constants: the ``peacekeeping`` block.
"""

from __future__ import annotations

import numpy as np


def cover_factors(pk_cover: np.ndarray, *, protection: float, deterrence: float) -> tuple[np.ndarray, np.ndarray]:
    """``(protect, deter)`` multipliers (0-1) of attacks on civilians and of armed attacks."""
    return 1.0 - protection * pk_cover, 1.0 - deterrence * pk_cover
