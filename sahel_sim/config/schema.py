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
from sahel_sim.geography import NEIGHBOUR_COUNTRIES, REGIONS

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


class Anchor(Strict):
    """A place an armed group recruits from: its social base (communities, areas), with source.

    Affinity at a cell is ``weight x exp(-(d / radius_km)^2)`` for the distance ``d`` from
    (lat, lon) to the cell centre; a group's affinity is the largest over its anchors."""

    place: str = Field(min_length=1, description="what the anchor is (communities, area, cercles)")
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    radius_km: Positive = Field(description="km: e-folding radius of the recruiting area")
    weight: Probability = Field(1.0, description="relative depth of the group's roots there (0-1)")
    since: Date | None = Field(None, description="first day the group draws on this base (None: from the start)")
    until: Date | None = Field(None, description="first day it no longer does (None: to the end)")
    source: str = Field(min_length=3)


class Site(Strict):
    """A base or camp of a force, with the dates it was held and their source."""

    name: str = Field(min_length=1)
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    opened: Date | None = Field(None, description="first day held (None: before the scenario)")
    closed: Date | None = Field(None, description="first day no longer held (None: still held)")
    source: str = Field(min_length=3)


class Actor(Strict):
    """One organisation. Its strength is split into units of ``unit_size`` fighters."""

    kind: ActorKind
    acled_names: list[ActorName] = Field(min_length=1)
    inter: int = Field(ge=1, le=8, description="ACLED inter code (1 state, 2 rebel, 3 political militia, 4 identity militia, 8 external)")
    part_of: ActorId | None = Field(None, description="parent organisation: ACLED actor is the parent, this one the associated actor")
    faction: ActorId | None = Field(None, description="territorial faction its presence counts for (default: itself for state, jihadist, separatist; none for foreign, peacekeeper, militia)")
    strength: Fighters = Field(description="fighters (or troops) at the scenario start date")
    strength_source: str = Field(min_length=3)
    regions: list[Region] = Field(min_length=1, description="state-side forces: regions where their units may go (changed by set_regions); armed groups: regions where deployed fighters appear")
    bases: BaseKind | None = Field(None, description="its bases are the grid's bases of this kind (FAMa garrisons, MINUSMA camps)")
    sites: list[Site] = Field(default_factory=list, description="its own bases with the dates held (Serval/Barkhane); added to ``bases``")
    social_base: list[Anchor] = Field(default_factory=list, description="armed groups: the areas and communities it recruits from, with sources")
    unit_size: UnitSize = Field(description="fighters per unit (at least 1)")
    reach_km: Positive = Field(description="km: e-folding distance of a unit's presence (patrol / influence radius); calibrated")
    strike_reach_km: Positive = Field(100.0, description="km: e-folding distance at which its units raid, ambush, mine roads and attack (targets are chosen within it); calibrated")
    move_km: NonNegative = Field(description="km: how far a unit can redeploy in one week")
    home_pull: NonNegative = Field(0.5, description="armed groups: move-score penalty per 100 km from a unit's home cell; calibrated")
    lethality: NonNegative = Field(1.0, description="relative attrition it inflicts per engagement; calibrated")
    aggression: NonNegative = Field(1.0, description="relative tempo of its attacks and operations; calibrated")
    civilian_targeting: NonNegative = Field(0.0, description="relative rate of violence against civilians; calibrated")
    recruitment_per_week: NonNegative = Field(0.0, description="armed groups: weekly recruits per 1,000 sympathisers reached; state, foreign and UN forces: weekly share of losses replaced; calibrated")
    fighters_per_thousand: Positive | None = Field(None, description="armed groups: fighters its pool sustains per 1,000 sympathisers, when it differs from recruitment.fighters_per_thousand_sympathisers (ethnic mobilisation of a separatist movement runs deeper than jihadist recruitment); calibrated")
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
    """Add fighters over some weeks: at the force's open bases in ``regions`` (state-side
    forces; afterwards it posts to threatened sectors again), or in its footprint inside
    ``regions`` (armed groups)."""

    type: Literal["deploy"]
    actor: ActorId
    strength: Positive
    over_weeks: Weeks = 1
    regions: list[Region] | None = None
    cross_border: bool = Field(False, description="armed groups: fighters who come from a base outside Mali (Liptako-Gourma) and are sustained by it, so they raise the group's ceiling and cost it no upkeep")


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


class SetRegions(_Intervention):
    """The regions a state-side force can enter from this date (FAMa out of Kidal 2014-2023)."""

    type: Literal["set_regions"]
    actor: ActorId
    regions: list[Region] = Field(min_length=1)


class CloseBases(_Intervention):
    """Bases a force loses or abandons on this date; their units fall back to the nearest base
    it still holds (the northern garrisons in 2012)."""

    type: Literal["close_bases"]
    actor: ActorId
    bases: list[str] = Field(min_length=1, description="base names (grid bases of the actor's kind, or its sites)")


class OpenBases(_Intervention):
    """Bases a force (re)takes on this date; reinforcements can be posted there again."""

    type: Literal["open_bases"]
    actor: ActorId
    bases: list[str] = Field(min_length=1)


class SignAccord(_Intervention):
    """An agreement comes into force: its signatories' sides stop fighting one another until it
    ends or collapses without its guarantor."""

    type: Literal["sign_accord"]
    parties: list[ActorId] | None = Field(None, min_length=2, description="signatories; default mechanisms.accord.parties")


class EndAccord(_Intervention):
    type: Literal["end_accord"]


class Coup(_Intervention):
    type: Literal["coup"]
    legitimacy_shock: Probability = Field(description="drop in state legitimacy (0-1)")


class Merge(_Intervention):
    """An armed group joins another on this date (MUJAO into al-Mourabitoun, August 2013): its
    units, fighters, funds and cross-border support pass to ``into``, where they stand."""

    type: Literal["merge"]
    actor: ActorId
    into: ActorId


class Split(_Intervention):
    """An armed group forms out of another on this date (IS Sahel out of al-Mourabitoun, May
    2015): ``strength`` fighters leave ``parent``'s units in ``regions`` (all its units if
    none), in proportion to each unit's fighters, and stand where they stood."""

    type: Literal["split"]
    actor: ActorId
    parent: ActorId
    strength: Positive
    regions: list[Region] | None = None


INTERVENTION_TYPES: tuple[str, ...] = ("deploy", "withdraw", "set_strength", "restrict_movement", "set_regions",
                                       "close_bases", "open_bases", "sign_accord", "end_accord", "coup", "merge",
                                       "split")

Intervention = Annotated[
    Deploy | Withdraw | SetStrength | RestrictMovement | SetRegions | CloseBases | OpenBases | SignAccord
    | EndAccord | Coup | Merge | Split,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------- mechanisms
# One block per mechanism module of sahel_sim/model/mechanisms/ (docs/ODD.md maps each to its
# module and literature). Every behavioural constant is here, with its unit and either a source
# or "calibrated" (a free parameter fitted in calibration/).
class Vacuum(Strict):
    """Security, influence and territorial control (mechanisms/territory.py)."""

    security_half_strength: Positive = Field(150.0, description="troop-equivalents of state-side presence that secure a cell to 63%; calibrated")
    peacekeeper_weight: Probability = Field(0.6, description="weight of peacekeeper presence in security (0-1); calibrated")
    ungoverned_pressure: Positive = Field(30.0, description="troop-equivalents: pressure of 'nobody' that a faction must exceed to govern a cell; calibrated")
    influence_rate_per_week: Probability = Field(0.08, description="1/week: speed at which influence follows local pressure; calibrated")
    spread_weight: NonNegative = Field(0.5, description="dimensionless: weight of neighbouring cells' influence (diffusion of control along adjacency); calibrated")
    control_threshold: Probability = Field(0.5, description="influence (0-1) needed to count a cell as controlled; calibrated")
    start_with_state_control: bool = Field(False, description="the state holds every cell at the start date (as in January 2012) instead of the settled balance of forces")
    overtake_margin: Probability = Field(0.1, description="influence (0-1): hysteresis of control changes; calibrated")


class Combat(Strict):
    """Attacks, operations and stochastic attrition (mechanisms/strikes.py, mechanisms/combat.py)."""

    battle_rate_per_week: NonNegative = Field(0.25, description="attacks per week per 100 armed-group fighters at full opportunity and aggression 1; calibrated")
    operations_rate_per_week: NonNegative = Field(0.5, description="operations (clashes, strikes) per week per 1,000 state-side troops at full opportunity and aggression 1; calibrated")
    opportunity_half: Positive = Field(1.0, description="target weight (reach x availability summed over cells) at which a force spends half its attack budget; calibrated")
    target_half_presence: Positive = Field(80.0, description="troop-equivalents at which a target's availability reaches one half; calibrated")
    risk_aversion: NonNegative = Field(2.0, description="dimensionless: how strongly attackers avoid targets stronger than their own local strength; calibrated")
    remote_violence_ratio: NonNegative = Field(0.45, description="IEDs and shelling per armed attack on state-side and UN forces; calibrated")
    strike_share: Probability = Field(0.4, description="share of a foreign force's operations that are air or drone strikes; calibrated")
    attrition_per_engagement: NonNegative = Field(0.01, description="losses per engagement per sqrt(fighters x fighters); calibrated")
    remote_lethality: Probability = Field(0.35, description="IED/shelling losses as a share of a clash's; calibrated")
    strike_lethality: Probability = Field(0.8, description="air-strike losses as a share of a clash's; calibrated")
    peacekeeper_attack_lethality: Probability = Field(0.15, description="losses in attacks on peacekeepers as a share of a clash's; calibrated")
    peacekeeper_ied_share: Probability = Field(0.6, description="share of attacks on peacekeepers that are IEDs and shelling; calibrated")
    ied_civilian_share: Probability = Field(0.25, description="share of mine/IED victims who are civilians: ~25% (MINUSMA report to 31 Aug 2022, via vovworld.vn; mali_facts s2)")
    fatality_dispersion: Positive = Field(0.8, description="negative-binomial shape of fatalities (smaller = heavier tail); calibrated")
    engaged_presence_share: Probability = Field(0.3, description="share of a defender's presence in a cell engaged when its units are not in the cell itself; calibrated")
    far_strike_share: Probability = Field(0.05, description="share of a jihadist group's attack budget spent on distant high-value state targets (the capital, southern garrisons) rather than within its strike reach (Kydd & Walter 2006, 'The strategies of terrorism', International Security 31(1): attacks staged for an audience); calibrated")
    far_strike_reach_km: Positive = Field(400.0, description="km: distance scale of those distant strikes (the Bamako attacks of 2015 and 2024 and Kati 2022 came from groups based 300-600 km away); calibrated")
    far_strike_audience_power: NonNegative = Field(2.0, description="dimensionless: a distant target's value grows as the population present in its cell to this power (the audience of an attack); calibrated")


class Civilians(Strict):
    """Violence against civilians where control is contested (mechanisms/civilians.py)."""

    coercion_rate_per_week: NonNegative = Field(0.5, description="attacks on civilians per week per 100 armed-group fighters at peak contestation; calibrated")
    state_harm_rate_per_week: NonNegative = Field(0.3, description="abuses per week per 1,000 state-side troops sweeping a peak-contested area; calibrated")
    militia_rate_per_week: NonNegative = Field(0.5, description="militia attacks on communities per week per 100 militiamen near fully jihadist-supporting communities; calibrated")
    selective_peak_share: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(0.75, description="an actor's share of local control at which its selective violence peaks: Kalyvas (2006, ch. 7) places it in zones of dominant but incomplete control (zones 2 and 4)")
    selective_sharpness: Positive = Field(3.0, description="exponent k of the selective-violence curve (Kalyvas orders the zones but gives no curve); calibrated")
    fatalities_per_attack: Positive = Field(3.0, description="mean civilians killed per attack; calibrated")
    mercenary_fatality_multiplier: NonNegative = Field(3.0, description="mean deaths per event when mercenaries take part, relative; calibrated")
    abduction_share: Probability = Field(0.15, description="share of attacks on civilians that are abductions; calibrated")
    abduction_fatalities: NonNegative = Field(0.1, description="mean deaths per abduction; calibrated")
    fatality_dispersion: Positive = Field(0.48, description="negative-binomial shape of civilian deaths per attack (heavier-tailed than combat: massacres); calibrated")
    population_half: Positive = Field(5000.0, description="people: population at which a cell offers half the civilian targets of a large one; calibrated")


class Grievance(Strict):
    """Grievance and support (mechanisms/grievance.py)."""

    harm_sensitivity: NonNegative = Field(4.0, description="grievance shock per civilian killed per 1,000 residents; calibrated")
    spillover: Probability = Field(0.3, description="share of the effect felt in neighbouring cells; calibrated")
    decay_per_week: Probability = Field(0.01, description="1/week: relaxation toward the baseline; calibrated")
    baseline: Probability = Field(0.3, description="grievance (0-1) with a fully legitimate state; calibrated")
    legitimacy_start: Probability = Field(0.7, description="state legitimacy (0-1) at the start date; calibrated")
    legitimacy_recovery_per_week: Probability = Field(0.002, description="1/week: recovery of legitimacy after a coup; calibrated")
    support_rate_per_week: Probability = Field(0.05, description="1/week: speed at which support follows presence and grievance; calibrated")
    support_harm_sensitivity: NonNegative = Field(2.0, description="loss of support per civilian a faction kills per 1,000 residents; calibrated")


class Recruitment(Strict):
    """Recruitment from each group's social base, and its ceiling (mechanisms/recruitment.py)."""

    state_absence_weight: NonNegative = Field(1.0, description="dimensionless: how much the security vacuum adds to the sympathetic pool; calibrated")
    fighters_per_thousand_sympathisers: Positive = Field(0.8, description="fighters per 1,000 sympathisers: a group's ceiling from its own pool; calibrated")
    affinity_floor: Probability = Field(0.02, description="affinity (0-1) of a group for people outside its social base; calibrated")
    exposure_reach_factor: Positive = Field(2.0, description="recruiters reach people within this multiple of the unit reach; calibrated")
    demobilisation_per_week: Probability = Field(0.01, description="1/week: share of a group's fighters above its pool's ceiling who leave each week; calibrated")
    militia_alarm_km: Positive = Field(60.0, description="km: e-folding distance over which attacks by a militia's enemies alarm communities into forming it; calibrated")


class Expansion(Strict):
    """Expansion of a group's area by diffusion along roads and rivers (mechanisms/expansion.py)."""

    saturation_threshold: Probability = Field(0.8, description="strength/ceiling above which a group pushes into new areas; calibrated")
    rate_per_week: NonNegative = Field(0.02, description="1/week: diffusion of a saturated group's footprint to neighbouring cells; calibrated")
    offroad_conductance: Probability = Field(0.15, description="relative ease of expanding between adjacent cells not joined by a road or river; calibrated")
    relocate_share_per_week: Probability = Field(0.25, description="share of an armed group's mobile units that reposition each week; calibrated")
    state_avoidance: NonNegative = Field(1.5, description="move-score penalty per unit of state-side security in a cell; calibrated")
    move_noise: Positive = Field(0.35, description="Gumbel scale of the logit choice of a unit's cell (bounded rationality); calibrated")
    crowding: NonNegative = Field(1.0, description="dimensionless: weight of log(1 + the group's other units in a cell) in a unit's move score; 1 shares a cell's value equally among the units using it (the ideal free distribution, Fretwell & Lucas 1970, Acta Biotheoretica 19(1)); 0: units ignore one another")


class Posture(Strict):
    """State and foreign posture: garrisons, reinforcement of threatened sectors (mechanisms/posture.py)."""

    sector_radius_km: Positive = Field(150.0, description="km: a garrison's sector for counting threats; calibrated")
    threat_memory_weeks: Positive = Field(12.0, description="weeks: memory of attacks when judging threat; calibrated")
    reinforce_share_per_week: Probability = Field(0.1, description="share of mobile columns reassigned each week; calibrated")
    baseline_threat: NonNegative = Field(0.2, description="events/week: threat every open garrison is credited with (routine posting); calibrated")
    mercenary_suspicion_weight: NonNegative = Field(50.0, description="mercenaries' choice of the host's columns: troop-equivalents of enemy presence that full jihadist support in a cell counts for; calibrated")
    mercenary_choice_noise: Positive = Field(3.5, description="Gumbel scale (troop-equivalents) of mercenaries' choice of columns; calibrated")
    siege_weight: NonNegative = Field(0.0, description="how strongly armed enemies' presence in a state-side force's cells confines it: the share of its fighters there that projects presence beyond the cell is local / (local + siege_weight x enemy presence) (besieged garrisons: Tessalit Jan-Mar 2012, Boni 2022, Menaka 2022-23, Timbuktu 2023; geography_facts s1-s3); 0 = never confined; dimensionless; calibrated")
    area_of_operations_only: bool = Field(True, description="state-side presence and strikes stop at the regions the force operates in (``set_regions``): after the 2012 collapse the army held a line of control and did not contest the north ('our forces decided not to fight', junta via Reuters, 31 Mar 2012; front frozen until MUJAO took Douentza unopposed, 1 Sep 2012, AFP); false: presence spills over region lines by its reach")


class Peacekeeping(Strict):
    """Protection of civilians, deterrence, attacks on peacekeepers (mechanisms/peacekeeping.py)."""

    protection: Probability = Field(0.6, description="share of attacks on civilians prevented under full protection; calibrated")
    deterrence: Probability = Field(0.35, description="share of armed-group attacks on others deterred under full protection; calibrated")
    protection_half_presence: Positive = Field(300.0, description="troop-equivalents of peacekeeper presence at which protection reaches 63%; calibrated")
    target_weight: NonNegative = Field(1.0, description="relative attractiveness of peacekeepers as targets for armed groups; calibrated")


class Accord(Strict):
    """The Algiers accord and its guarantor (mechanisms/accord.py)."""

    parties: list[ActorId] = Field(default_factory=lambda: ["CMA", "FAMa"], min_length=2)
    guarantor: ActorId | None = "MINUSMA"
    in_force_at_start: bool = False
    guarantor_min_share: Probability = Field(0.5, description="guarantor strength share of its peak below which it no longer guarantees; calibrated")
    collapse_hazard_per_week: Probability = Field(0.08, description="1/week: chance the accord collapses without its guarantor; calibrated")


class Rivalry(Strict):
    """JNIM - IS Sahel rivalry (mechanisms/accord.py, hostility)."""

    actors: list[ActorId] = Field(default_factory=lambda: ["JNIM", "ISGS"], min_length=2, max_length=2)
    start_date: Date = Field(description="when the rivals begin fighting each other")
    battle_weight: NonNegative = Field(1.0, description="relative attractiveness of the rival as a target; calibrated")
    protection_support_gain: NonNegative = Field(0.05, description="1/week: support gained by the side fighting the rival in a cell; calibrated")


class Displacement(Strict):
    """Flight, routes, camps and return (mechanisms/displacement.py; the location graph is
    sahel_sim/geography/locations.py). Flee's rules are cited where they are followed
    (Suleimenova, Bell & Groen 2017; Flee's documented move rules)."""

    flee_per_death: NonNegative = Field(25.0, description="people who flee per person killed in their cell; calibrated")
    flee_per_event: NonNegative = Field(150.0, description="people who flee per violent event in their cell; calibrated")
    flee_share_on_takeover: Probability = Field(0.1, description="share of residents who flee when an armed group takes control of their cell; calibrated")
    flee_share_on_collapse: Probability = Field(0.5, description="share of residents who flee as the security vacuum rises from 0 to 1 before a full armed-group presence (the state's protection collapsing); calibrated")
    armed_presence_half: Positive = Field(50.0, description="troop-equivalents of armed-group presence at which a collapse of protection counts half; calibrated")
    takeover_memory_weeks: NonNegative = Field(0.0, description="weeks: a takeover by a group that held the cell within this span makes no flight (those who stayed under it before do not flee again each time a contested cell changes hands); 0 = every takeover; calibrated")
    collapse_memory_weeks: Positive = Field(52.0, description="weeks over which residents forget the highest security vacuum they lived through; calibrated")
    threat_radius_km: Positive = Field(60.0, description="km: e-folding distance over which violence nearby threatens a cell (about one grid cell); calibrated")
    flee_share_per_threat: NonNegative = Field(0.002, description="weekly hazard of flight per smoothed violent event a week nearby (the threat of violence); calibrated")
    max_flee_share_per_week: Probability = Field(0.25, description="cap on the weekly share of residents who flee; calibrated")
    max_move_km_per_day: Positive = Field(200.0, description="km/day: maximum move speed along routes (Flee v1's MaxMoveSpeed, Suleimenova et al. 2017)")
    detour_factor: Positive = Field(1.4, description="route km per great-circle km where no route distance is documented (detour index ~1.4: Boscoe, Henry & Zdeb 2012, Professional Geographer 64(2))")
    softening_km: NonNegative = Field(10.0, description="km added to every route distance in destination weights (Flee's 'softening', default 10)")
    distance_power: NonNegative = Field(1.0, description="exponent of route distance in destination weights (Flee's distance_power, default 1); calibrated")
    camp_weight: NonNegative = Field(2.0, description="attraction of a camp relative to a safe town of population 1 (Flee v1 CampWeight 2.0)")
    conflict_weight: Probability = Field(0.25, description="attraction of a town in full conflict relative to a safe one (Flee v1 ConflictWeight 0.25)")
    danger_events_per_week: Positive = Field(0.5, description="smoothed violent events a week near a town at which its danger reaches 63%; calibrated")
    town_population_power: NonNegative = Field(0.1, description="exponent of a town catchment's population in its attraction (Flee's pop_power_for_loc_weight 0.1); calibrated")
    foreign_weight: NonNegative = Field(0.3, description="attraction of a destination abroad for people without kin across that border (Flee's foreign_weight, default 1); calibrated")
    kin_weight: NonNegative = Field(5.0, description="extra attraction of a destination abroad for the people of a kin community whose families live across that border (refuge.kin; Flee's ethnicity matching), as a multiple of foreign_weight; calibrated")
    onward_share_per_week: Probability = Field(0.5, description="share of the displaced in a town who move on, relative to the share of its residents fleeing that week; calibrated")
    return_rate_per_week: Probability = Field(0.01, description="1/week: share of the displaced who return to a calm home; calibrated")
    refugee_return_factor: Probability = Field(0.5, description="returns from abroad relative to returns from inside Mali (Flee's camp move chance is 1/300 of a town's); calibrated")
    calm_events_per_week: Positive = Field(0.1, description="smoothed violent events per week at which returns run at half their rate; calibrated")
    violence_memory_weeks: Positive = Field(8.0, description="weeks: memory of violence in flight, returns and militia formation; calibrated")
    max_travel_weeks: int = Field(12, ge=1, le=104, description="weeks: longest journey tracked (longer routes arrive in this many weeks)")


class KinTie(Strict):
    """Communities with families across a border: people living where the community lives
    (``places``, as social-base anchors, and/or the social base of the actor ``social_base_of``)
    are drawn to destinations in ``countries`` (displacement kin weight)."""

    community: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    places: list[Anchor] = Field(default_factory=list)
    social_base_of: ActorId | None = Field(None, description="an actor whose social-base anchors also locate the community")
    countries: list[Literal[*NEIGHBOUR_COUNTRIES]] = Field(min_length=1)  # type: ignore[valid-type]
    source: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)

    @model_validator(mode="after")
    def _located(self):
        if not self.places and self.social_base_of is None:
            raise ValueError("a kin tie needs 'places' or 'social_base_of'")
        return self


class Closure(Strict):
    """A dated closure: a border (every route into ``country``) or a location (a camp or
    crossing of sahel_sim/geography/data/locations.json, by name). ``end`` None: never reopens."""

    type: Literal["border", "location"]
    country: Literal[*NEIGHBOUR_COUNTRIES] | None = None  # type: ignore[valid-type]
    location: str | None = None
    start: Date
    end: Date | None = None
    source: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)

    @model_validator(mode="after")
    def _target(self):
        if self.type == "border" and self.country is None:
            raise ValueError("a border closure needs 'country'")
        if self.type == "location" and not self.location:
            raise ValueError("a location closure needs 'location'")
        if self.end is not None and self.end <= self.start:
            raise ValueError("'end' must be after 'start'")
        return self


class Refuge(Strict):
    """Scenario data of displacement: kin across borders and dated closures of borders and camps."""

    kin: list[KinTie] = Field(default_factory=list)
    closures: list[Closure] = Field(default_factory=list)


class Funding(Strict):
    """Armed-group finances: taxation of controlled people pays for fighters (mechanisms/recruitment.py)."""

    tax_per_capita_per_week: NonNegative = Field(0.0015, description="income units per controlled person per week; calibrated")
    upkeep_per_fighter_per_week: NonNegative = Field(0.3, description="income units per fighter per week; calibrated")
    recruit_cost: NonNegative = Field(20.0, description="income units per recruit; calibrated")
    desertion_when_broke: Probability = Field(0.01, description="1/week: share of fighters lost while funds are negative; calibrated")
    unaligned_tax_share: Probability = Field(0.2, description="share of the taxable income near its units that a faction-less paid group raises (militias are volunteers and do not pay or tax); calibrated")
    war_chest_weeks: NonNegative = Field(104.0, description="weeks of upkeep a group holds at the start (ransoms, trafficking); calibrated")


class Mechanisms(Strict):
    vacuum: Vacuum = Vacuum()
    combat: Combat = Combat()
    civilians: Civilians = Civilians()
    grievance: Grievance = Grievance()
    recruitment: Recruitment = Recruitment()
    expansion: Expansion = Expansion()
    posture: Posture = Posture()
    peacekeeping: Peacekeeping = Peacekeeping()
    accord: Accord = Accord()
    rivalry: Rivalry
    displacement: Displacement = Displacement()
    funding: Funding = Funding()


class Population(Strict):
    national_total: Annotated[float, Field(ge=1.0, le=MAX_POPULATION, allow_inf_nan=False)] = Field(
        description="people in Mali at the start date")
    source: str = Field(min_length=3)
    growth_per_year: Annotated[float, Field(ge=0.0, le=0.1)] = 0.0


class Observation(Strict):
    """How the event log records what happened: ACLED's attribution (docs/ODD.md, observation).
    The model's dynamics never read it; only the ACLED columns of the log change."""

    unattributed_share: Probability = Field(0.0, description="share of the violent events initiated by an armed group of `unattributed_kinds` that the log attributes to an unidentified armed group, as ACLED does when its sources name no perpetrator (Raleigh et al. 2010; ACLED codebook 2023, 'Unidentified Armed Group'); calibrated")
    unattributed_kinds: list[Literal["jihadist", "separatist", "militia"]] = Field(
        default_factory=lambda: ["jihadist", "militia"],
        description="kinds of actor whose events may go unattributed (states, foreign forces and peacekeepers are always named)")


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
    refuge: Refuge = Refuge()
    observation: Observation = Observation()
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
            for i, p in enumerate(getattr(iv, "parties", None) or ()):
                check(p, f"interventions.{iid}.parties[{i}]")
            for key in ("into", "parent"):
                other = getattr(iv, key, None)
                if other is None:
                    continue
                check(other, f"interventions.{iid}.{key}")
                if other == iv.actor:
                    raise ValueError(f"interventions.{iid}.{key}: {other!r} is the intervention's own actor")
                for name, where in ((iv.actor, "actor"), (other, key)):
                    if self.actors[name].kind not in ARMED_GROUP_KINDS:
                        raise ValueError(f"interventions.{iid}.{where}: {name!r} is a {self.actors[name].kind} "
                                         f"force; only armed groups ({', '.join(sorted(ARMED_GROUP_KINDS))}) merge and split")
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
