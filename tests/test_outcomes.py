"""Per-run outcomes: hand-computed values on toy tables, and consistency on a real short run."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sahel_sim.outcomes import event_outcomes, outcome_direction, summarise, weekly_outcomes


def toy_events() -> pd.DataFrame:
    rows = [  # year, type, actor1_id, actor2_id, fatalities, civilian_targeting
        (2020, "Battles", "FAMa", "JNIM", 5, ""),
        (2020, "Battles", "KatibaMacina", "JNIM", 2, ""),  # both sides JNIM (parent): counted once
        (2020, "Violence against civilians", "Militia", "", 7, "Civilian targeting"),
        (2021, "Explosions/Remote violence", "ISGS", "MINUSMA", 3, ""),
        (2021, "Violence against civilians", "KatibaMacina", "", 4, "Civilian targeting"),
        (2019, "Battles", "FAMa", "CMA", 100, ""),  # outside the years asked for: ignored
    ]
    return pd.DataFrame(rows, columns=["year", "event_type", "actor1_id", "actor2_id", "fatalities",
                                       "civilian_targeting"])


PARENT = {"FAMa": "FAMa", "JNIM": "JNIM", "KatibaMacina": "JNIM", "ISGS": "ISGS", "Militia": "Militia",
          "MINUSMA": "MINUSMA", "CMA": "CMA"}


def test_event_outcomes_hand_computed():
    o = event_outcomes(toy_events(), years=[2020, 2021, 2022], parent_of=PARENT,
                       jihadist_ids=["JNIM", "KatibaMacina", "ISGS"])
    assert o["events_2020"] == 3 and o["events_2021"] == 2 and o["events_2022"] == 0
    assert o["events_total"] == 5
    assert o["events_battles_2020"] == 2 and o["events_battles_2021"] == 0
    assert o["events_violence_against_civilians_2021"] == 1
    assert o["events_explosions_remote_violence_2021"] == 1
    assert o["mi_events_2020"] == 2 and o["mi_events_2021"] == 2
    assert o["fatalities_2020"] == 14 and o["fatalities_2021"] == 7
    assert o["civilian_targeting_fatalities_2020"] == 7 and o["civilian_targeting_fatalities_2021"] == 4
    assert o["actor_events_JNIM_2020"] == 2  # the Katiba's clash with JNIM counted once
    assert o["actor_events_JNIM_2021"] == 1
    assert o["actor_events_MINUSMA_2021"] == 1 and o["actor_events_FAMa_2020"] == 1
    assert "actor_events_KatibaMacina_2020" not in o


def test_militant_islamist_by_name_on_an_acled_export():
    ev = pd.DataFrame({"year": [2020, 2020, 2020], "event_type": ["Battles"] * 3, "fatalities": [1, 1, 1],
                       "civilian_targeting": ["", "", ""],
                       "actor1": ["Military Forces of Mali (2021-)", "JNIM: Group for Support of Islam and Muslims",
                                  "Dozo Communal Militia (Mali)"],
                       "actor2": ["Islamic State (Sahel)", "Civilians (Mali)", "Civilians (Mali)"]})
    o = event_outcomes(ev, years=[2020])
    assert o["mi_events_2020"] == 2


def toy_weekly() -> pd.DataFrame:
    weeks = [(0, dt.date(2020, 12, 21)), (1, dt.date(2020, 12, 28)), (2, dt.date(2021, 1, 4))]
    rows = []
    for w, start in weeks:
        for region, pop in (("Mopti", 100.0), ("Gao", 300.0)):
            rows.append({"week": w, "week_start": start, "region": region,
                         "fatalities_civilian": w + 1, "fatalities_combatant": 10,
                         "population": pop, "idps_hosted": 1000.0 * (w + 1), "idps_origin": 0.0,
                         "refugees_origin": 500.0, "strength_JNIM": 50.0 + w,
                         "cells_FAMa": 3, "cells_JNIM": w, "cells_uncontrolled": 7 - w,
                         "grievance_mean": 0.2 if region == "Mopti" else 0.6})
    return pd.DataFrame(rows)


def test_weekly_outcomes_hand_computed():
    o = weekly_outcomes(toy_weekly(), years=[2020, 2021])
    assert o["civilian_deaths_2020"] == 2 * (1 + 2) and o["civilian_deaths_2021"] == 2 * 3
    assert o["combatant_deaths_2020"] == 40 and o["combatant_deaths_total"] == 60
    assert o["idps_2020"] == 4000 and o["idps_2021"] == 6000  # last week of each year, both regions
    assert o["refugees_2021"] == 1000 and o["displaced_2021"] == 7000 and o["displaced_peak"] == 7000
    assert o["control_share_JNIM_2020"] == pytest.approx(2 / 20)  # week 1: 2 of 20 cells
    assert o["control_share_FAMa_2021"] == pytest.approx(6 / 20)
    assert o["control_share_uncontrolled_2021"] == pytest.approx(10 / 20)
    assert o["strength_JNIM_2021"] == 104
    assert o["grievance_2020"] == pytest.approx((0.2 * 100 + 0.6 * 300) / 400)
    assert o["n_weeks"] == 3


def test_weekly_outcomes_year_without_weeks_is_nan_for_stocks():
    o = weekly_outcomes(toy_weekly(), years=[2020, 2021, 2022])
    assert o["civilian_deaths_2022"] == 0 and np.isnan(o["idps_2022"])


def test_directions():
    assert outcome_direction("civilian_deaths_2024") == 1
    assert outcome_direction("control_share_FAMa_2024") == -1
    assert outcome_direction("control_share_JNIM_2024") == 1
    assert outcome_direction("control_share_CMA_2024") == 0
    assert outcome_direction("strength_JNIM_2024") == 0
    assert outcome_direction("events_strategic_developments_2020") == 0
    assert outcome_direction("actor_events_JNIM_2020") == 0


def test_summarise_real_run_agrees_with_weekly_table(short_scenario):
    import pyarrow.compute as pc

    from sahel_sim.run import run

    result = run(short_scenario, 3)
    o = summarise(result)
    assert all(isinstance(v, float) for v in o.values())
    years = range(short_scenario.start_date.year, short_scenario.end_date.year + 1)
    for t in ("battles", "violence_against_civilians", "explosions_remote_violence", "strategic_developments"):
        assert o[f"events_{t}_total"] == pc.sum(result.weekly[f"events_{t}"]).as_py()
        assert sum(o[f"events_{t}_{y}"] for y in years) == o[f"events_{t}_total"]
    fat = pc.sum(result.weekly["fatalities_civilian"]).as_py() + pc.sum(result.weekly["fatalities_combatant"]).as_py()
    assert o["fatalities_total"] == fat
    last = short_scenario.end_date.year
    shares = [o[f"control_share_{f}_{last}"] for f in short_scenario.control_factions()]
    assert sum(shares) + o[f"control_share_uncontrolled_{last}"] == pytest.approx(1.0)
    assert summarise(result) == o
