"""The scenario schema: every key a scenario file may hold, its type, units and meaning.

A scenario is closed (unknown keys are errors) and frozen. Cross-field rules (dates ordered,
actors and regions that exist, interventions naming known actors) live in validators here, so
YAML files, ``--set`` overrides, sweep points and calibration candidates are all checked by
the same code (see :func:`sahel_sim.config.loader.validate_scenario`).

Each mechanism block documents its parameters; docs/ODD.md gives the literature behind them.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sahel_sim.config.types import (
    ARMED_GROUP_KINDS,
    MAX_TEXT_CHARS,
    ActorId,
    ActorKind,
    Date,
    FileName,
    NonNegative,
    Positive,
    Probability,
    Strict,
    Weeks,
)
from sahel_sim.geography import REGIONS

Region = Literal[*REGIONS]  # type: ignore[valid-type]
BaseKind = Literal["fama_garrison", "minusma_camp"]

MAX_FIGHTERS = 1_000_000
"""Largest strength of one actor (the largest force in the record is about 25,000)."""
MAX_UNITS_PER_ACTOR = 20_000
"""Most units one actor may be split into (strength / unit_size): keeps a run in memory."""
MAX_POPULATION = 500_000_000
"""Largest national population (Mali: about 22 million in 2024)."""
MAX_RUN_WEEKS = 2_600
"""Longest run, start to end date (50 years; the historical scenario is 13)."""

Fighters = Annotated[float, Field(ge=0.0, le=MAX_FIGHTERS, allow_inf_nan=False)]
UnitSize = Annotated[float, Field(ge=1.0, le=MAX_FIGHTERS, allow_inf_nan=False)]


# --------------------------------------------------------------------------- actors
class ActorName(Strict):
    """The name ACLED gives an actor from a date on (ACLED renames FAMa at each regime)."""

    from_date: Date = Field(alias="from")
    name: str = Field(min_length=1)


class Actor(Strict):
    """One organisation. Its strength is split into units of ``unit_size`` fighters."""

    kind: ActorKind
    acled_names: list[ActorName] = Field(min_length=1)
    inter: int = Field(ge=1, le=8, description="ACLED inter code (1 state, 2 rebel, 3 political militia, 4 identity militia, 8 external)")
    part_of: ActorId | None = Field(None, description="parent organisation: ACLED actor is the parent, this one the associated actor")
    faction: ActorId | None = Field(None, description="territorial faction its presence counts for (default: itself for state, jihadist, separatist)")
    strength: Fighters = Field(description="fighters (or troops) at the scenario start date")
    strength_source: str = Field(min_length=3)
    regions: list[Region] = Field(min_length=1, description="regions where its units start and operate")
    bases: BaseKind | None = Field(None, description="start units at the grid's bases of this kind")
    unit_size: UnitSize = Field(description="fighters per unit (at least 1)")
    reach_km: Positive = Field(description="e-folding distance of a unit's presence (patrol / influence radius)")
    move_km: NonNegative = Field(description="how far a unit can redeploy in one week")
    home_pull: NonNegative = Field(0.5, description="how strongly units stay near their home cell (score per 100 km)")
    lethality: NonNegative = Field(1.0, description="relative attrition it inflicts per engagement")
    aggression: NonNegative = Field(1.0, description="relative rate of offensive actions")
    civilian_targeting: NonNegative = Field(0.0, description="relative rate of violence against civilians")
    recruitment_per_week: NonNegative = Field(0.0, description="armed groups: recruits per week per 1,000 sympathetic, exposed people; state, foreign and UN forces: weekly share of losses replaced")
    enemies: list[ActorId] = Field(default_factory=list)
    embedded_with: ActorId | None = Field(None, description="mercenaries move with this actor's mobile units")
    mobile_share: Probability = Field(1.0, description="share of units that move (the rest hold their base)")
    max_strength: Annotated[float, Field(gt=0.0, le=MAX_FIGHTERS, allow_inf_nan=False)] | None = Field(
        None, description="ceiling on strength (recruitment stops there)")

    @model_validator(mode="after")
    def _units_fit(self) -> Actor:
        most = max(self.strength, self.max_strength or 0.0)
        units = math.ceil(most / self.unit_size)
        if units > MAX_UNITS_PER_ACTOR:
            raise ValueError(f"strength {most:,.0f} in units of {self.unit_size:g} makes {units:,} units; "
                             f"at most {MAX_UNITS_PER_ACTOR:,} (raise unit_size)")
        return self


# --------------------------------------------------------------------------- interventions
class _Intervention(Strict):
    date: Date
    source: str = Field(min_length=3, description="publisher and title that document the date and figures")
    note: str = ""


class Deploy(_Intervention):
    type: Literal["deploy"]
    actor: ActorId
    strength: Positive
    over_weeks: Weeks = 1
    regions: list[Region] | None = None


class Withdraw(_Intervention):
    type: Literal["withdraw"]
    actor: ActorId
    over_weeks: Weeks = 1
    follow_base_closures: bool = Field(False, description="close camps on their documented closure dates")


class SetStrength(_Intervention):
    type: Literal["set_strength"]
    actor: ActorId
    strength: NonNegative
    over_weeks: Weeks = 1


class RestrictMovement(_Intervention):
    type: Literal["restrict_movement"]
    actor: ActorId
    reach_factor: Probability = Field(description="multiplies the actor's reach; 1 lifts restrictions")


class SignAccord(_Intervention):
    type: Literal["sign_accord"]


class EndAccord(_Intervention):
    type: Literal["end_accord"]


class Coup(_Intervention):
    type: Literal["coup"]
    legitimacy_shock: Probability = Field(description="drop in state legitimacy (0-1)")


Intervention = Annotated[
    Deploy | Withdraw | SetStrength | RestrictMovement | SignAccord | EndAccord | Coup,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------- mechanisms
class Vacuum(Strict):
    """Security vacuum and territorial control (mechanism 1)."""

    security_half_strength: Positive = Field(150.0, description="presence (troop-equivalents) that secures a cell to 63%")
    peacekeeper_weight: Probability = Field(0.6, description="how much peacekeeper presence counts toward security")
    ungoverned_pressure: Positive = Field(30.0, description="pressure (troop-equivalents) of 'nobody': a faction needs more than this to govern a cell")
    influence_rate_per_week: Probability = Field(0.08, description="speed at which influence follows local pressure")
    spread_weight: NonNegative = Field(0.5, description="weight of neighbouring cells' influence (spread along adjacency)")
    town_attraction: NonNegative = Field(0.6, description="weight of population (towns, routes) in armed-group moves")
    control_threshold: Probability = Field(0.5, description="influence needed to count a cell as controlled")
    start_with_state_control: bool = Field(False, description="the state holds every cell at the start date (as in January 2012) instead of the settled balance of forces")
    overtake_margin: Probability = Field(0.1, description="hysteresis: lead a challenger needs over the incumbent (and slack the incumbent keeps below the threshold) for a cell to change hands")


class Combat(Strict):
    """Engagements and stochastic attrition (mechanism 2)."""

    battle_rate_per_week: NonNegative = Field(0.25, description="armed clashes per week for a full-capacity attacker meeting a full target")
    remote_violence_ratio: NonNegative = Field(0.45, description="IED / shelling events per armed clash")
    strike_rate_per_week: NonNegative = Field(0.15, description="air/drone strikes per week per 1,000 foreign troops (spread where they find targets)")
    capacity_half_fighters: Positive = Field(150.0, description="fighters at which attack capacity reaches one half")
    target_half_presence: Positive = Field(80.0, description="presence at which target availability reaches one half")
    attrition_per_engagement: NonNegative = Field(0.01, description="losses per engagement per sqrt(fighters x fighters)")
    fatality_dispersion: Positive = Field(0.8, description="negative-binomial shape of fatalities (smaller = heavier tail)")


class Civilians(Strict):
    """Violence against civilians (mechanism 3)."""

    coercion_rate_per_week: NonNegative = Field(0.5, description="armed-group attacks on civilians per week at full capacity in a hostile community")
    state_harm_rate_per_week: NonNegative = Field(0.15, description="state abuses per week per full mobile column in a suspect community")
    fatalities_per_attack: Positive = Field(3.0, description="mean civilians killed per attack")
    mercenary_fatality_multiplier: NonNegative = Field(3.0, description="mean deaths per event when mercenaries take part")
    abduction_share: Probability = Field(0.15, description="share of attacks on civilians that are abductions")


class Grievance(Strict):
    """Grievance, support and recruitment (mechanism 4)."""

    harm_sensitivity: NonNegative = Field(4.0, description="grievance gained per civilian killed per 1,000 residents")
    spillover: Probability = Field(0.3, description="share of the effect felt in neighbouring cells")
    decay_per_week: Probability = Field(0.01, description="weekly relaxation toward the baseline")
    baseline: Probability = Field(0.3, description="grievance with a fully legitimate state")
    legitimacy_start: Probability = Field(0.7, description="state legitimacy at the start date")
    legitimacy_recovery_per_week: Probability = Field(0.002)
    support_rate_per_week: Probability = Field(0.05, description="speed at which support follows presence, protection and grievance")
    state_absence_weight: NonNegative = Field(1.0, description="how much the security vacuum adds to recruitment")
    fighters_per_thousand_sympathisers: Positive = Field(0.8, description="logistic ceiling on a group's strength per 1,000 sympathetic residents within its reach")


class Peacekeeping(Strict):
    """Protection of civilians, deterrence, attacks on peacekeepers (mechanism 5)."""

    protection: Probability = Field(0.6, description="share of attacks on civilians prevented under full protection")
    deterrence: Probability = Field(0.35, description="share of armed-group attacks on others deterred under full protection")
    protection_half_presence: Positive = Field(300.0, description="peacekeeper presence at which protection reaches 63%")
    attack_rate_per_week: NonNegative = Field(0.12, description="attacks on peacekeepers per week at full capacity and exposure")


class Accord(Strict):
    """The Algiers accord and its guarantor (mechanism 6)."""

    parties: list[ActorId] = Field(default_factory=lambda: ["CMA", "FAMa"], min_length=2)
    guarantor: ActorId | None = "MINUSMA"
    in_force_at_start: bool = False
    guarantor_min_share: Probability = Field(0.5, description="guarantor strength share of its peak below which it no longer guarantees")
    collapse_hazard_per_week: Probability = Field(0.08, description="weekly chance the accord collapses without its guarantor")


class Rivalry(Strict):
    """JNIM - IS Sahel rivalry (mechanism 7)."""

    actors: list[ActorId] = Field(default_factory=lambda: ["JNIM", "ISGS"], min_length=2, max_length=2)
    start_date: Date = Field(description="when the rivals begin fighting each other")
    battle_rate_per_week: NonNegative = Field(0.3, description="clashes per week between rivals at full capacity and exposure (replaces combat.battle_rate_per_week for the rival pair)")
    protection_support_gain: NonNegative = Field(0.05, description="support gained per week by the side fighting the rival in a cell")


class Displacement(Strict):
    """Flight and return (mechanism 8)."""

    flee_per_death: NonNegative = Field(25.0, description="people who flee per person killed in their cell")
    flee_per_event: NonNegative = Field(150.0, description="people who flee per violent event in their cell")
    flee_share_on_takeover: Probability = Field(0.1, description="share of residents who flee when an armed group takes control of their cell")
    max_flee_share_per_week: Probability = 0.25
    abroad_share_near_border: Probability = Field(0.5, description="share who cross the border from a border cell")
    abroad_decay_km: Positive = Field(150.0, description="distance to the border over which the cross-border share falls by e")
    flee_range_km: Positive = 250.0
    return_rate_per_week: Probability = 0.01
    calm_events_per_week: Positive = Field(0.1, description="smoothed violent events per week at which returns run at half their rate")
    violence_memory_weeks: Positive = 8.0


class Southward(Strict):
    """Southward spread after consolidation in the centre (mechanism 9)."""

    core_regions: list[Region] = Field(default_factory=lambda: ["Mopti", "Segou"])
    consolidation_threshold: Probability = Field(0.25, description="share of core cells under jihadist influence that starts the drift")
    drift_per_degree: NonNegative = Field(2.0, description="move-score bonus per degree of latitude south, at full consolidation")


class Funding(Strict):
    """Armed-group finances: taxation of controlled people pays for fighters."""

    tax_per_capita_per_week: NonNegative = Field(0.0015, description="income units per controlled person per week")
    upkeep_per_fighter_per_week: NonNegative = Field(0.3)
    recruit_cost: NonNegative = Field(20.0)
    desertion_when_broke: Probability = Field(0.01, description="weekly share of fighters lost while funds are negative")


class Mechanisms(Strict):
    vacuum: Vacuum = Vacuum()
    combat: Combat = Combat()
    civilians: Civilians = Civilians()
    grievance: Grievance = Grievance()
    peacekeeping: Peacekeeping = Peacekeeping()
    accord: Accord = Accord()
    rivalry: Rivalry
    displacement: Displacement = Displacement()
    southward: Southward = Southward()
    funding: Funding = Funding()


class Population(Strict):
    national_total: Annotated[float, Field(ge=1.0, le=MAX_POPULATION, allow_inf_nan=False)] = Field(
        description="people in Mali at the start date")
    source: str = Field(min_length=3)
    growth_per_year: Annotated[float, Field(ge=0.0, le=0.1)] = 0.0


class Outputs(Strict):
    snapshot_every_weeks: Weeks = Field(4, description="cell maps of control and violence every N weeks")


# --------------------------------------------------------------------------- scenario
class Scenario(Strict):
    """A complete, validated scenario: time window, actors, dated interventions, mechanisms."""

    name: FileName = Field(description="names the results folder: letters, digits, _ . - (not starting with a dot)")
    description: str = Field("", max_length=MAX_TEXT_CHARS)
    start_date: Date
    end_date: Date
    population: Population
    actors: dict[ActorId, Actor] = Field(min_length=1)
    interventions: dict[ActorId, Intervention] = Field(default_factory=dict)
    mechanisms: Mechanisms
    outputs: Outputs = Outputs()

    @field_validator("end_date")
    @classmethod
    def _end_after_start(cls, end, info):
        start = info.data.get("start_date")
        if start is not None and end <= start:
            raise ValueError(f"{end} must be after start_date ({start})")
        if start is not None and (end - start).days > 7 * MAX_RUN_WEEKS:
            raise ValueError(f"{end} is {(end - start).days / 365.25:.0f} years after start_date ({start}); "
                             f"a run lasts at most {MAX_RUN_WEEKS:,} weeks ({MAX_RUN_WEEKS // 52} years)")
        return end

    @model_validator(mode="after")
    def _actors_exist(self) -> Scenario:
        known = set(self.actors)

        def check(name: str | None, where: str) -> None:
            if name is not None and name not in known:
                raise ValueError(f"{where}: unknown actor {name!r}; known actors: {', '.join(sorted(known))}")

        for aid, actor in self.actors.items():
            check(actor.part_of, f"actors.{aid}.part_of")
            check(actor.faction, f"actors.{aid}.faction")
            check(actor.embedded_with, f"actors.{aid}.embedded_with")
            for i, enemy in enumerate(actor.enemies):
                check(enemy, f"actors.{aid}.enemies[{i}]")
            names = [n.from_date for n in actor.acled_names]
            if names != sorted(names):
                raise ValueError(f"actors.{aid}.acled_names: 'from' dates must be in order")
        for iid, iv in self.interventions.items():
            check(getattr(iv, "actor", None), f"interventions.{iid}.actor")
            strength = getattr(iv, "strength", None)
            if strength is not None:
                size = self.actors[iv.actor].unit_size
                if strength > MAX_FIGHTERS or math.ceil(strength / size) > MAX_UNITS_PER_ACTOR:
                    raise ValueError(f"interventions.{iid}.strength: {strength:,.0f} is too large (at most "
                                     f"{MAX_FIGHTERS:,} fighters and {MAX_UNITS_PER_ACTOR:,} units of {size:g})")
        acc = self.mechanisms.accord
        for i, p in enumerate(acc.parties):
            check(p, f"mechanisms.accord.parties[{i}]")
        check(acc.guarantor, "mechanisms.accord.guarantor")
        for i, a in enumerate(self.mechanisms.rivalry.actors):
            check(a, f"mechanisms.rivalry.actors[{i}]")
        return self

    # ------------------------------------------------------------------ helpers
    def actor_faction(self, actor_id: str) -> str | None:
        """The territorial faction an actor's presence counts for, or None."""
        actor = self.actors[actor_id]
        if actor.faction is not None:
            return actor.faction
        if actor.part_of is not None:
            return self.actor_faction(actor.part_of)
        if actor.kind in ("state", "jihadist", "separatist"):
            return actor_id
        return None

    def control_factions(self) -> list[str]:
        """Factions that hold territory, in actor order (state first where present)."""
        seen: list[str] = []
        for aid in self.actors:
            f = self.actor_faction(aid)
            if f is not None and f not in seen:
                seen.append(f)
        return seen

    def armed_group_ids(self) -> list[str]:
        return [a for a, v in self.actors.items() if v.kind in ARMED_GROUP_KINDS]
