"""Mesa agents: the organisations that decide, and the civilian communities.

An organisation (``Force`` and its subclasses) is one decision maker per scenario actor: JNIM,
FAMa, Barkhane... It commands units, each a group of fighters at a cell with a home base, held
as small arrays so that a week's moves are scored for all units at once. Communities are one
agent per populated cell; their state lives in the model's per-cell arrays (updated by the
kernels) and the agent exposes it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sahel_sim.config.schema import Actor

if TYPE_CHECKING:
    from sahel_sim.model.model import SahelModel

MIN_UNIT_FIGHTERS = 5.0


class Force(mesa.Agent):
    """An organisation with units. Subclasses define how units choose where to go."""

    kind: str = ""

    def __init__(self, model: SahelModel, actor_id: str, spec: Actor) -> None:
        super().__init__(model)
        self.actor_id = actor_id
        self.spec = spec
        self.unit_cell = np.zeros(0, dtype=np.int64)
        self.unit_home = np.zeros(0, dtype=np.int64)
        self.unit_fighters = np.zeros(0, dtype=np.float64)
        self.unit_mobile = np.zeros(0, dtype=bool)
        self.reach_factor = 1.0
        self.funds = 0.0
        self.peak_strength = 0.0
        # strength schedule: (weeks left, fighters to add per week)
        self._ramp_weeks = 0
        self._ramp_target = 0.0
        self.establishment = 0.0  # authorised strength that state-side forces replenish toward
        self.closing_bases = False

    # ------------------------------------------------------------------ state
    @property
    def strength(self) -> float:
        return float(self.unit_fighters.sum())

    @property
    def n_units(self) -> int:
        return int(self.unit_fighters.size)

    def acled_name(self, date: dt.date) -> str:
        name = self.spec.acled_names[0].name
        for entry in self.spec.acled_names:
            if entry.from_date <= date:
                name = entry.name
        return name

    # ------------------------------------------------------------------ strength changes
    def add_fighters(self, amount: float, cells: np.ndarray, weights: np.ndarray,
                     rng: np.random.Generator) -> None:
        """Add ``amount`` fighters: top up units below unit size, then form new units at
        cells drawn from ``cells`` with probability proportional to ``weights``."""
        if amount <= 0:
            return
        size = self.spec.unit_size
        room = np.clip(size - self.unit_fighters, 0.0, None)
        if room.sum() > 0:
            take = min(amount, float(room.sum()))
            self.unit_fighters = self.unit_fighters + take * room / room.sum()
            amount -= take
        if amount <= 1e-9 or cells.size == 0:
            return
        n_new = int(np.ceil(amount / size))
        p = weights / weights.sum() if weights.sum() > 0 else None
        where = rng.choice(cells, size=n_new, p=p)
        fighters = np.full(n_new, amount / n_new)
        mobile = rng.random(n_new) < self.spec.mobile_share
        self.unit_cell = np.concatenate([self.unit_cell, where])
        self.unit_home = np.concatenate([self.unit_home, where])
        self.unit_fighters = np.concatenate([self.unit_fighters, fighters])
        self.unit_mobile = np.concatenate([self.unit_mobile, mobile])
        self.peak_strength = max(self.peak_strength, self.strength)

    def remove_fighters(self, amount: float) -> None:
        """Remove ``amount`` fighters proportionally from all units (drawdown, desertion)."""
        total = self.strength
        if amount <= 0 or total <= 0:
            return
        keep = max(total - amount, 0.0) / total
        self.unit_fighters = self.unit_fighters * keep
        self.prune()

    def apply_losses(self, losses: np.ndarray) -> None:
        self.unit_fighters = np.maximum(self.unit_fighters - losses, 0.0)
        self.prune()

    def prune(self) -> None:
        keep = self.unit_fighters >= MIN_UNIT_FIGHTERS
        if not keep.all():
            self.unit_cell = self.unit_cell[keep]
            self.unit_home = self.unit_home[keep]
            self.unit_fighters = self.unit_fighters[keep]
            self.unit_mobile = self.unit_mobile[keep]

    def close_units_at(self, cells: np.ndarray) -> float:
        """Withdraw the units stationed at ``cells`` (a camp handed over); returns fighters."""
        at = np.isin(self.unit_home, cells)
        gone = float(self.unit_fighters[at].sum())
        if at.any():
            self.unit_fighters = np.where(at, 0.0, self.unit_fighters)
            self.prune()
        return gone

    @property
    def scheduled_target(self) -> float:
        """Strength this force is heading for (its current strength when nothing is scheduled)."""
        return self._ramp_target if self._ramp_weeks > 0 else self.strength

    def schedule_strength(self, target: float, weeks: int) -> None:
        """Move linearly toward ``target`` fighters over ``weeks`` weekly steps."""
        self._ramp_weeks = max(int(weeks), 1)
        self._ramp_target = float(target)
        self.establishment = float(target)

    def ramp(self, model: SahelModel) -> None:
        """Apply this week's share of a scheduled deployment or drawdown; otherwise
        state-side and UN forces replace losses toward their establishment strength
        (``recruitment_per_week`` is then the weekly share of the gap replaced)."""
        if self._ramp_weeks <= 0:
            if self.spec.kind not in ("jihadist", "separatist", "militia") and self.establishment > 0:
                gap = self.establishment - self.strength
                if gap > 1.0:
                    cells, weights = model.deployment_cells(self)
                    self.add_fighters(gap * self.spec.recruitment_per_week, cells, weights, model.rng)
            return
        delta = (self._ramp_target - self.strength) / self._ramp_weeks
        self._ramp_weeks -= 1
        if delta > 0:
            cells, weights = model.deployment_cells(self)
            self.add_fighters(delta, cells, weights, model.rng)
        elif delta < 0:
            self.remove_fighters(-delta)

    # ------------------------------------------------------------------ behaviour
    def cell_scores(self, model: SahelModel) -> np.ndarray:
        """Attractiveness of every cell for this organisation's mobile units (n,)."""
        raise NotImplementedError

    def drift_per_degree(self, model: SahelModel) -> float:
        return 0.0

    def move(self) -> None:
        """Each mobile unit moves to the best cell within ``move_km`` (scores + Gumbel noise)."""
        model = self.model
        mobile = np.flatnonzero(self.unit_mobile)
        if mobile.size == 0 or self.spec.move_km <= 0:
            return
        base = self.cell_scores(model)
        cand = model.candidates(self.spec.move_km * self.reach_factor)[self.unit_cell[mobile]]
        valid = cand >= 0
        safe = np.where(valid, cand, 0)
        score = base[safe]
        score -= self.spec.home_pull * model.grid.distance_km[self.unit_home[mobile][:, None], safe] / 100.0
        drift = self.drift_per_degree(model)
        if drift:
            score += drift * (model.grid.lat[self.unit_cell[mobile]][:, None] - model.grid.lat[safe])
        score += 0.3 * (safe == self.unit_cell[mobile][:, None])  # staying costs nothing
        score += model.rng.gumbel(0.0, model.move_noise, size=score.shape)
        score[~valid] = -np.inf
        self.unit_cell[mobile] = safe[np.arange(mobile.size), score.argmax(axis=1)]

    def step(self) -> None:  # Mesa convention; the model calls move() in actor order
        self.move()


class ArmedGroup(Force):
    """Jihadist, separatist or militia organisation: recruits, taxes, coerces and expands."""

    kind = "armed_group"

    def __init__(self, model: SahelModel, actor_id: str, spec: Actor) -> None:
        super().__init__(model, actor_id, spec)
        # start-up funds: two years of upkeep (war chests from ransoms and trafficking)
        self.funds = 104.0 * spec.strength * model.config.mechanisms.funding.upkeep_per_fighter_per_week

    def cell_scores(self, model: SahelModel) -> np.ndarray:
        m = model.config.mechanisms
        a = model.actor_index[self.actor_id]
        f = model.faction_of[a]
        score = 1.5 * model.vacuum
        if f >= 0:
            score = score + 1.5 * model.support[f] + 1.0 * model.influence[f]
        score = score + m.vacuum.town_attraction * np.log1p(model.population_present / 20000.0)
        # opportunity: enemies nearby but not overwhelming
        enemy = model.enemy_presence(a)
        score = score + self.spec.aggression * 0.8 * enemy / (enemy + 150.0) * (1.0 - 0.5 * model.security)
        score = score + model.operating_bonus[a]
        if self.spec.kind == "militia":
            score = score + 1.0 * model.jihadist_violence_recent
        return score

    def drift_per_degree(self, model: SahelModel) -> float:
        if self.spec.kind != "jihadist":
            return 0.0
        return model.southward_drift


class StateForce(Force):
    """National forces: garrisons hold their bases; mobile columns hunt armed groups."""

    kind = "state"

    def cell_scores(self, model: SahelModel) -> np.ndarray:
        a = model.actor_index[self.actor_id]
        threat = model.enemy_local(a)
        return (self.spec.aggression * 2.0 * threat / (threat + 100.0)
                + 0.3 * np.log1p(model.population_present / 20000.0)
                + model.operating_bonus[a])


class ForeignForce(StateForce):
    """Foreign counter-terrorism force (Serval, Barkhane): strikes where armed groups mass."""

    kind = "foreign"


class Mercenary(Force):
    """Forces embedded with a state's mobile columns (Wagner): they go where the columns go."""

    kind = "mercenary"

    def move(self) -> None:
        model = self.model
        host = model.forces.get(self.spec.embedded_with or "")
        if host is None or host.n_units == 0 or self.n_units == 0:
            return
        cols = np.flatnonzero(host.unit_mobile)
        if cols.size == 0:
            cols = np.arange(host.n_units)
        a = model.actor_index[self.actor_id]
        cells = host.unit_cell[cols]
        # accompany the columns facing the most armed-group presence, and suspect communities
        score = model.enemy_local(a)[cells] + 50.0 * model.jihadist_support[cells]
        score = score + model.rng.gumbel(0.0, 10.0 * model.move_noise, size=score.shape)
        order = np.argsort(-score, kind="stable")
        picks = cells[order[np.arange(self.n_units) % order.size]]
        self.unit_cell = picks.astype(np.int64)


class Peacekeepers(Force):
    """UN contingents: stay at their camps and patrol within reach."""

    kind = "peacekeeper"

    def cell_scores(self, model: SahelModel) -> np.ndarray:  # pragma: no cover - static units
        return np.zeros(model.n_cells)

    def move(self) -> None:
        return


FORCE_CLASSES: dict[str, type[Force]] = {
    "state": StateForce,
    "foreign": ForeignForce,
    "mercenary": Mercenary,
    "peacekeeper": Peacekeepers,
    "jihadist": ArmedGroup,
    "separatist": ArmedGroup,
    "militia": ArmedGroup,
}


class Community(mesa.Agent):
    """The civilian community of one populated cell (state held in the model's arrays)."""

    def __init__(self, model: SahelModel, cell: int) -> None:
        super().__init__(model)
        self.cell = int(cell)

    @property
    def population(self) -> float:
        return float(self.model.population_present[self.cell])

    @property
    def residents(self) -> float:
        return float(self.model.pop_home[self.cell])

    @property
    def grievance(self) -> float:
        return float(self.model.grievance[self.cell])

    @property
    def support(self) -> dict[str, float]:
        return {f: float(self.model.support[i, self.cell]) for i, f in enumerate(self.model.factions)
                if self.model.faction_is_armed[i]}

    @property
    def displaced_internal(self) -> float:
        return float(self.model.idp_origin[self.cell])

    @property
    def displaced_abroad(self) -> dict[str, float]:
        from sahel_sim.geography import NEIGHBOUR_COUNTRIES

        k = self.model.border_country_of[self.cell]
        return {NEIGHBOUR_COUNTRIES[k]: float(self.model.ref_origin[self.cell])}

    def step(self) -> None:  # communities are updated in bulk by the model's kernels
        return
