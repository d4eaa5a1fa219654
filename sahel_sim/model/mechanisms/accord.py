"""Who fights whom this week: the Algiers accord, its guarantor, the JNIM-IS Sahel rivalry
(ODD M7).

While an agreement is in force its signatories are not hostile to one another (each dated
agreement names its own: the 2013 and 2014 ceasefires bound the government and the northern
movements, the Algiers accord also the Platform); without its guarantor it collapses
with a weekly hazard (Ber, August 2023). From ``rivalry.start_date`` the two jihadist
families fight each other.

Sources: Walter (1997) *International Organization* 51(3); Fortna (2004) *International
Studies Quarterly* 48(2); Nsaibia & Weiss (2020) *CTC Sentinel* 13(7). Constants: the
``accord`` and ``rivalry`` blocks.
"""

from __future__ import annotations

import numpy as np


def hostility(base: np.ndarray, *, accord_sides: tuple[np.ndarray, ...] | None,
              rival_sides: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """The (A, A) hostility matrix this week from the scenario's enmities, lifted between every
    pair of the signatories' sides (boolean actor masks) while the agreement holds, and set
    between rivals once their war has begun."""
    h = base.copy()
    if accord_sides is not None:
        for i, a in enumerate(accord_sides):
            for b in accord_sides[i + 1:]:
                h[np.ix_(a, b)] = False
                h[np.ix_(b, a)] = False
    if rival_sides is not None:
        a, b = rival_sides
        h[np.ix_(a, b)] = True
        h[np.ix_(b, a)] = True
    np.fill_diagonal(h, False)
    return h


def guarantor_present(strength: float, peak: float, min_share: float) -> bool:
    """Whether the guarantor still guarantees: at least ``min_share`` of its peak strength. A
    guarantor that has not yet deployed has not withdrawn: an accord signed before it arrives
    (the Ouagadougou agreement of June 2013, two weeks before MINUSMA) holds meanwhile."""
    return peak <= 0 or strength >= min_share * peak
