"""Mesa agents: the organisations that decide.

An organisation (``Force`` and its subclasses) is one decision maker per scenario actor: JNIM,
FAMa, Barkhane... It commands units, each a group of fighters at a cell with a home cell,
held as small arrays so that a week's decisions are made for all units at once. Civilian
communities do not decide anything the model does not compute in bulk, so they are per-cell
arrays of the model (population, grievance, support, displacement), not agents.

Behaviour by kind (docs/ODD.md):

- ``ArmedGroup`` (jihadist, separatist, militia): units hold their sanctuaries and reposition
  inside the group's footprint (mechanisms/movement.py);
- ``StateForce`` and ``ForeignForce``: garrisons hold open bases; mobile columns are posted to
  threatened sectors (mechanisms/posture.py);
- ``Mercenary`` (Wagner): goes where the host's columns face the most armed presence;
- ``Peacekeepers`` (MINUSMA): stay at their camps.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sahel_sim.config.schema import Actor
from sahel_sim.model import sampling
from sahel_sim.model.mechanisms import movement, posture

if TYPE_CHECKING:
    from sahel_sim.model.model import SahelModel

_NO_CELLS = np.zeros(0, dtype=np.int64)
MIN_UNIT_FIGHTERS = 5.0  # units below this are dissolved (book-keeping floor, not behaviour)


class Force(mesa.Agent):
    """An organisation with units and (for state-side and UN forces) bases."""

    kind: str = ""

    def __init__(self, model: SahelModel, actor_id: str, spec: Actor) -> None:
        super().__init__(model)
        self.actor_id = actor_id
        self.spec = spec
        self.unit_cell = np.zeros(0, dtype=np.int64)
        self.unit_home = np.zeros(0, dtype=np.int64)
        self.unit_fighters = np.zeros(0, dtype=np.float64)
        self.unit_mobile = np.zeros(0, dtype=bool)
        self._strength_of: np.ndarray | None = None
        self._strength = 0.0
        self.reach_factor = 1.0
        self.funds = 0.0
        self.peak_strength = 0.0
        self._ramp_weeks = 0
        self._ramp_target = 0.0
        self._ramp_cross_border = False
        self.establishment = 0.0  # authorised strength that state-side forces replenish toward
        self.external_base = 0.0  # armed groups: fighters sustained from outside the grid (dated inflows)
        self.closing_bases = False
        self.allowed_regions: list[str] = list(spec.regions)
        # bases: the grid's bases of its kind, then its own dated sites
        bases = [(b.name, model.grid.nearest_cell(b.lat, b.lon), None, b.closed) for b in model.grid.bases
                 if spec.bases is not None and b.kind == spec.bases]
        bases += [(s.name, model.grid.nearest_cell(s.lat, s.lon), s.opened, s.closed) for s in spec.sites]
        self.base_names = [b[0] for b in bases]
        self.base_cell = np.array([b[1] for b in bases], dtype=np.int64)
        self.base_opened = [b[2] for b in bases]
        self.base_closed = [b[3] for b in bases]
        self.base_open = np.array([self._site_open(i, model.start_date) for i in range(len(bases))], dtype=bool)

    # ------------------------------------------------------------------ state
    @property
    def strength(self) -> float:
        # ``unit_fighters`` is always replaced, never changed in place, so the sum is cached
        # against the array it was taken of (the schedule asks for it dozens of times a week)
        fighters = self.unit_fighters
        if self._strength_of is not fighters:
            self._strength_of = fighters
            self._strength = float(fighters.sum())
        return self._strength

    @property
    def n_units(self) -> int:
        return int(self.unit_fighters.size)

    def acled_name(self, date: dt.date) -> str:
        name = self.spec.acled_names[0].name
        for entry in self.spec.acled_names:
            if entry.from_date <= date:
                name = entry.name
        return name

    # ------------------------------------------------------------------ bases
    def _site_open(self, i: int, date: dt.date) -> bool:
        """A site is held between its opening and closing dates; grid bases (MINUSMA camps)
        close only with a withdrawal that follows their closure dates."""
        if i >= len(self.base_names) - len(self.spec.sites):
            opened, closed = self.base_opened[i], self.base_closed[i]
            return (opened is None or opened <= date) and (closed is None or date < closed)
        return True

    def update_site_dates(self, date: dt.date) -> list[int]:
        """Open and close dated sites; returns the indices of bases closed this week."""
        if not self.spec.sites:
            return []
        first_site = len(self.base_names) - len(self.spec.sites)
        closed = []
        for i in range(first_site, len(self.base_names)):
            now = self._site_open(i, date)
            if self.base_open[i] and not now:
                closed.append(i)
            self.base_open[i] = now
        if closed:
            self.fall_back(closed)
        return closed

    def set_bases_open(self, names: list[str], is_open: bool) -> list[str]:
        """Open or close bases by name; units of closed bases fall back. Returns unknown names."""
        unknown = [n for n in names if n not in self.base_names]
        idx = [self.base_names.index(n) for n in names if n in self.base_names]
        self.base_open[idx] = is_open
        if not is_open:
            self.fall_back(idx)
        else:
            self.garrison(idx)
        return unknown

    def garrison(self, base_indices: list[int]) -> None:
        """Post a garrison unit at each (re)opened base that has none, taken from the base
        with the most garrison fighters (the 2013 return to the northern towns)."""
        allowed = self.model.region_mask(self.allowed_regions)
        for i in base_indices:
            cell = self.base_cell[i]
            fixed = ~self.unit_mobile
            if not allowed[cell] or (fixed & (self.unit_home == cell)).any() or not fixed.any():
                continue
            homes, sizes = np.unique(self.unit_home[fixed], return_counts=True)
            donor = homes[np.argmax(sizes)]
            if sizes.max() < 2:
                continue
            k = np.flatnonzero(fixed & (self.unit_home == donor))[0]
            self.unit_home[k] = cell
            self.unit_cell[k] = cell

    def open_base_cells(self) -> np.ndarray:
        """Cells of the open bases inside the regions the force may enter."""
        if self.base_cell.size == 0:
            return np.zeros(0, dtype=np.int64)
        key = (self.base_open.tobytes(), tuple(self.allowed_regions))  # they change a few times a run
        if getattr(self, "_open_cells_key", None) != key:
            allowed = self.model.region_mask(self.allowed_regions)
            ok = self.base_open & allowed[self.base_cell]
            cells = np.unique(self.base_cell[ok])
            cells.flags.writeable = False
            self._open_cells_key, self._open_cells = key, cells
        return self._open_cells

    def fall_back(self, base_indices: list[int]) -> None:
        """Units homed at lost bases fall back to the nearest open base (or disband)."""
        lost = self.base_cell[base_indices]
        at = np.isin(self.unit_home, lost) | np.isin(self.unit_cell, lost)
        if not at.any():
            return
        open_cells = self.open_base_cells()
        if open_cells.size == 0:
            self.unit_fighters = np.where(at, 0.0, self.unit_fighters)
            self.prune()
            return
        d = self.model.grid.distance_km[self.unit_cell[at]][:, open_cells]
        dest = open_cells[d.argmin(axis=1)]
        self.unit_cell[at] = dest
        self.unit_home[at] = dest

    def close_units_at(self, cells: np.ndarray) -> float:
        """Withdraw the units stationed at ``cells`` (a camp handed over); returns fighters."""
        at = np.isin(self.unit_home, cells)
        gone = float(self.unit_fighters[at].sum())
        if at.any():
            self.unit_fighters = np.where(at, 0.0, self.unit_fighters)
            self.prune()
        return gone

    # ------------------------------------------------------------------ strength changes
    def add_fighters(self, amount: float, cells: np.ndarray, weights: np.ndarray,
                     rng: np.random.Generator) -> None:
        """Add ``amount`` fighters: top up units below unit size, then form new units at
        cells drawn from ``cells`` with probability proportional to ``weights``."""
        if amount <= 0:
            return
        size = self.spec.unit_size
        room = np.maximum(size - self.unit_fighters, 0.0)
        room_total = room.sum()
        if room_total > 0:
            take = min(amount, float(room_total))
            self.unit_fighters = self.unit_fighters + take * room / room_total
            amount -= take
        if amount <= 1e-9 or cells.size == 0:
            return
        n_new = int(np.ceil(amount / size))
        total = weights.sum()
        p = weights / total if total > 0 else None
        where = sampling.choice(rng, cells, n_new, p)
        fighters = np.full(n_new, amount / n_new)
        mobile = rng.random(n_new) < self.spec.mobile_share
        self.unit_cell = np.concatenate([self.unit_cell, where])
        self.unit_home = np.concatenate([self.unit_home, where])
        self.unit_fighters = np.concatenate([self.unit_fighters, fighters])
        self.unit_mobile = np.concatenate([self.unit_mobile, mobile])
        self.peak_strength = max(self.peak_strength, self.strength)

    def take_units(self, amount: float, cells_mask: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        """Detach ``amount`` fighters from the units standing in ``cells_mask`` (all units if
        None), in proportion to each unit's fighters: returns the detached parts as unit arrays
        ``(cell, home, fighters, mobile)`` (a split, a merger)."""
        sel = np.ones(self.n_units, dtype=bool) if cells_mask is None else cells_mask[self.unit_cell]
        there = float(self.unit_fighters[sel].sum())
        if amount <= 0 or there <= 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0), np.zeros(0, dtype=bool)
        share = min(1.0, amount / there)
        part = np.where(sel, self.unit_fighters * share, 0.0)
        taken = part > 0
        out = (self.unit_cell[taken], self.unit_home[taken], part[taken], self.unit_mobile[taken])
        self.unit_fighters = self.unit_fighters - part
        self.prune()
        return out

    def join_units(self, cell: np.ndarray, home: np.ndarray, fighters: np.ndarray, mobile: np.ndarray) -> None:
        """Take in units of another group where they stand (a merger, a split)."""
        self.unit_cell = np.concatenate([self.unit_cell, cell])
        self.unit_home = np.concatenate([self.unit_home, home])
        self.unit_fighters = np.concatenate([self.unit_fighters, fighters])
        self.unit_mobile = np.concatenate([self.unit_mobile, mobile])
        self.prune()
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

    @property
    def scheduled_target(self) -> float:
        """Strength this force is heading for (its current strength when nothing is scheduled)."""
        return self._ramp_target if self._ramp_weeks > 0 else self.strength

    def schedule_strength(self, target: float, weeks: int, *, cross_border: bool = False) -> None:
        """Move linearly toward ``target`` fighters over ``weeks`` weekly steps (``cross_border``:
        the arrivals are sustained from outside the grid)."""
        self._ramp_weeks = max(int(weeks), 1)
        self._ramp_target = float(target)
        self._ramp_cross_border = bool(cross_border)
        self.establishment = float(target)

    def clear_schedule(self) -> None:
        """Drop any scheduled change of strength and the establishment (a group absorbed by another)."""
        self._ramp_weeks = 0
        self._ramp_target = 0.0
        self.establishment = 0.0

    def ramp(self, model: SahelModel) -> None:
        """This week's share of a scheduled deployment or drawdown; otherwise state-side and UN
        forces replace a share (``recruitment_per_week``) of the gap to their establishment."""
        if self._ramp_weeks <= 0:
            if self.spec.kind not in ("jihadist", "separatist", "militia") and self.establishment > 0:
                gap = self.establishment - self.strength
                if gap > 1.0:
                    self._reinforce(model, gap * self.spec.recruitment_per_week)
            return
        delta = (self._ramp_target - self.strength) / self._ramp_weeks
        self._ramp_weeks -= 1
        if delta > 0:
            self._reinforce(model, delta)
            if self._ramp_cross_border:
                self.external_base += delta  # arrivals are sustained by their base across the border
        elif delta < 0:
            self.remove_fighters(-delta)
        if self._ramp_weeks == 0 and self.base_cell.size:
            model.end_deployment(self.actor_id)  # a force with bases posts to threatened sectors again

    def _reinforce(self, model: SahelModel, amount: float) -> None:
        """Add ``amount`` fighters; where they go is looked up only when they fill new units
        (topping up existing units needs no location)."""
        room = float(np.maximum(self.spec.unit_size - self.unit_fighters, 0.0).sum())
        if amount - min(amount, room) <= 1e-9:
            self.add_fighters(amount, _NO_CELLS, _NO_CELLS, model.rng)
            return
        cells, weights = model.deployment_cells(self)
        self.add_fighters(amount, cells, weights, model.rng)

    # ------------------------------------------------------------------ behaviour
    def move(self) -> None:
        raise NotImplementedError

    def step(self) -> None:  # Mesa convention; the model calls move() in actor order
        self.move()


class ArmedGroup(Force):
    """Jihadist, separatist or militia organisation: holds sanctuaries inside its footprint,
    strikes within reach, recruits from its social base, expands when saturated."""

    kind = "armed_group"

    def __init__(self, model: SahelModel, actor_id: str, spec: Actor) -> None:
        super().__init__(model, actor_id, spec)
        fund = model.config.mechanisms.funding
        self.funds = fund.war_chest_weeks * spec.strength * fund.upkeep_per_fighter_per_week

    def move(self) -> None:
        model = self.model
        ex = model.config.mechanisms.expansion
        mobile = self.unit_mobile.nonzero()[0]
        if mobile.size == 0 or self.spec.move_km <= 0:
            return
        moving = mobile[model.rng.random(mobile.size) < ex.relocate_share_per_week]
        if moving.size == 0:
            return
        a = model.actor_index[self.actor_id]
        f = model.faction_of[a]
        table = self._move_table()
        gumbel = model.rng.gumbel(0.0, ex.move_noise, size=(moving.size, table.shape[1]))
        self.unit_cell[moving] = movement.relocate(
            table, self.unit_cell, self.unit_home, moving, model.footprint[a], model.security,
            model.support[f] if f >= 0 else model._zeros, ex.state_avoidance, self.spec.home_pull,
            model.grid.distance_km, gumbel, np.bincount(self.unit_cell, minlength=model.n_cells), ex.crowding)

    def _move_table(self) -> np.ndarray:
        """The candidate cells within a week's move of each cell (-1 pads), for the current
        reach factor."""
        if getattr(self, "_move_key", None) != self.reach_factor:
            self._move_key = self.reach_factor
            self._move_cache = self.model.candidates(self.spec.move_km * self.reach_factor)
        return self._move_cache


class StateForce(Force):
    """National forces: garrisons hold their bases; mobile columns go to threatened sectors."""

    kind = "state"

    def move(self) -> None:
        model = self.model
        pos = model.config.mechanisms.posture
        mobile = self.unit_mobile.nonzero()[0]
        if mobile.size == 0 or self.spec.move_km <= 0:
            return
        cells = self.open_base_cells()
        if cells.size == 0:
            return
        allowed = model.region_mask(self.allowed_regions)
        # columns outside the regions the force may enter go back to a base at once
        outside = mobile[~allowed[self.unit_cell[mobile]]]
        moving = mobile[model.rng.random(mobile.size) < pos.reinforce_share_per_week]
        if outside.size:  # both are sorted and unique
            moving = np.union1d(moving, outside)
        if moving.size == 0:
            return
        w = posture.sector_threat(cells, model.threat, model.kernel(pos.sector_radius_km),
                                  baseline=pos.baseline_threat)
        self.unit_cell[moving] = posture.post_columns(model.rng, moving.size, cells, w)


class ForeignForce(StateForce):
    """Foreign counter-terrorism force (Serval, Barkhane): columns and air assets posted from
    its documented bases to threatened sectors."""

    kind = "foreign"


class Mercenary(Force):
    """Forces embedded with a state's mobile columns (Wagner): they go where the columns face
    the most armed-group presence."""

    kind = "mercenary"

    def move(self) -> None:
        model = self.model
        host = model.forces.get(self.spec.embedded_with or "")
        if host is None or host.n_units == 0 or self.n_units == 0:
            return
        cols = host.unit_mobile.nonzero()[0]
        if cols.size == 0:
            cols = np.arange(host.n_units)
        a = model.actor_index[self.actor_id]
        cells = host.unit_cell[cols]
        pos = model.config.mechanisms.posture
        score = model.enemy_presence(a)[cells] + pos.mercenary_suspicion_weight * model.jihadist_support[cells]
        score = score + model.rng.gumbel(0.0, pos.mercenary_choice_noise, size=score.shape)
        order = np.argsort(-score, kind="stable")
        picks = cells[order[np.arange(self.n_units) % order.size]]
        self.unit_cell = picks.astype(np.int64)


class Peacekeepers(Force):
    """UN contingents: stay at their camps and patrol within reach."""

    kind = "peacekeeper"

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
