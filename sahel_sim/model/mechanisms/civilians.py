"""Violence against civilians where control is contested (ODD M3).

Kalyvas's theory of selective violence: an actor kills civilians selectively where it has
dominant but incomplete control (his zones 2 and 4), where it can get denunciations and has
defectors to punish; it has no need to where its control is complete (zone 1) and cannot
where it is absent (zone 5); at parity (zone 3) selective violence is low. We model the
intensity as a function of the actor's share ``s`` of the local control held by the warring
sides, ``f(s) = (s / p)^k ((1 - s) / (1 - p))^(k (1-p)/p)`` with its peak 1 at ``s = p``
(``selective_peak_share``) and ``k = selective_sharpness``.

State and Wagner abuses are tied to counter-insurgency sweeps into contested cells (the same
function of the state's share against the jihadists), not to ambient support; militias
attack communities in proportion to their support for the jihadists (Dan Na Ambassagou and
the Dozo against Fulani communities). Choice: of the literature's mechanisms (Kalyvas 2006;
Wood 2010, rebel capability; Humphreys & Weinstein 2006, group structure) we take Kalyvas's
because the issue is *where* violence falls, which his theory predicts from control alone.

Sources: Kalyvas (2006) *The Logic of Violence in Civil War*, ch. 7; Raleigh (2012)
*International Interactions* 38(4); for Mali, Human Rights Watch (2022) on Moura and ACLED
(2022) "Wagner Group operations in Africa" (sweeps into contested villages). Constants: the
``civilians`` block.
"""

from __future__ import annotations

import numpy as np

from sahel_sim.model.mechanisms._compiled import njit
from sahel_sim.model.mechanisms.strikes import civilian_rates


def control_share(own: np.ndarray, rivals: np.ndarray) -> np.ndarray:
    """An actor's share of the control held by itself and its enemies in each cell (0 where
    neither holds any)."""
    total = own + rivals
    return own / np.maximum(total, 1e-9)


def selective_violence(share: np.ndarray, peak: float, sharpness: float = 3.0) -> np.ndarray:
    """Kalyvas intensity (0-1) of selective violence at control share ``share``; 1 at ``peak``,
    0 at no and at full control; ``sharpness`` is the exponent k."""
    s = np.clip(share, 0.0, 1.0)
    out = np.zeros_like(s)
    inside = np.flatnonzero((s > 0.0) & (s < 1.0))
    if inside.size:
        x = s[inside]
        a = sharpness
        b = sharpness * (1.0 - peak) / peak
        out[inside] = np.exp(a * np.log(x / peak) + b * np.log((1.0 - x) / (1.0 - peak)))
    return out


def civilian_targets(population: np.ndarray, half: float) -> np.ndarray:
    """How many civilian targets a cell offers (0-1): ``pop / (pop + half)``."""
    return population / (population + half)


@njit
def selective_curve(influence, own, rivals, peak, sharpness):  # pragma: no cover - compiled
    """:func:`selective_violence` of :func:`control_share` of the factions ``own`` against the
    factions ``rivals`` (rows of ``influence``), compiled (``_compiled.py``)."""
    n = influence.shape[1]
    out = np.zeros(n)
    b = sharpness * (1.0 - peak) / peak
    for j in range(n):
        o = 0.0
        for f in own:
            o += influence[f, j]
        r = 0.0
        for f in rivals:
            r += influence[f, j]
        s = min(max(o / max(o + r, 1e-9), 0.0), 1.0)
        if 0.0 < s < 1.0:
            out[j] = np.exp(sharpness * np.log(s / peak) + b * np.log((1.0 - s) / (1.0 - peak)))
    return out


@njit
def civilian_channel_rates(R, attackers, budgets, population, pk_cover, protection, population_half,
                           opportunity_half, is_militia, support, faction_is_jihadist, influence, roles, peak,
                           sharpness):  # pragma: no cover - compiled
    """Expected attacks on civilians per (attacker, cell) of every attacker at once, compiled
    (``_compiled.py``): each attacker's budget spread (``strikes.civilian_rates``) over its
    reach times :func:`civilian_targets` (less where peacekeepers protect: ``1 - protection x
    pk_cover``) times its intensity. A militia's intensity is the jihadists' support (the
    communities it suspects); any other attacker's is :func:`selective_curve` of the factions
    ``roles[a] == 1`` (its own) against those with ``roles[a] == 2`` (its enemies'), each
    added in faction order. Attackers with the same roles share one curve."""
    k = attackers.size
    F, n = influence.shape
    targets = np.empty(n)
    for j in range(n):
        targets[j] = population[j] / (population[j] + population_half) * (1.0 - protection * pk_cover[j])
    intensity = np.empty((k, n))
    militia_row = -1
    for r in range(k):
        a = attackers[r]
        done = False
        if is_militia[a]:
            if militia_row >= 0:
                intensity[r] = intensity[militia_row]
                done = True
            else:
                militia_row = r
                first = True
                for f in range(F):
                    if faction_is_jihadist[f]:
                        if first:
                            intensity[r] = support[f]
                            first = False
                        else:
                            for j in range(n):
                                intensity[r, j] = intensity[r, j] + support[f, j]
                if first:
                    intensity[r] = 0.0
                done = True
        else:
            for q in range(r):  # an earlier attacker on the same sides: the same curve
                b = attackers[q]
                if is_militia[b]:
                    continue
                same = True
                for f in range(F):
                    if roles[a, f] != roles[b, f]:
                        same = False
                        break
                if same:
                    intensity[r] = intensity[q]
                    done = True
                    break
        if not done:
            own = np.flatnonzero(roles[a] == 1)
            rivals = np.flatnonzero(roles[a] == 2)
            intensity[r] = selective_curve(influence, own, rivals, peak, sharpness)
    return civilian_rates(R, attackers, budgets, targets, intensity, opportunity_half)
