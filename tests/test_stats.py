"""Summary statistics (sahel_sim/stats.py) and targets: hand-computed values on a synthetic
ACLED export, the same numbers from a simulated run and from its ACLED-format CSV, errors."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sahel_sim.config import ConfigError, load_scenario
from sahel_sim.experiments.targets import load_targets, parse_targets
from sahel_sim.run import run
from sahel_sim.stats import (
    ActorMap,
    Statistic,
    compute_statistics,
    observed_from_acled,
    observed_from_run,
    read_acled_csv,
)
from tests.conftest import ROOT, SCENARIOS

FIXTURE = ROOT / "tests" / "data" / "acled_mali_synthetic.csv"
TARGETS = ROOT / "calibration" / "targets.yaml"
ACTOR_MAP = ROOT / "calibration" / "acled_actor_map.yaml"


@pytest.fixture(scope="module")
def historical():
    return load_scenario(SCENARIOS / "historical.yaml")


@pytest.fixture(scope="module")
def acled_stats(historical):
    targets = load_targets(TARGETS)
    actors = ActorMap.from_scenario(historical).with_file(ACTOR_MAP)
    obs = observed_from_acled(read_acled_csv(FIXTURE), actors)
    return compute_statistics(targets.statistics(), obs)


# Hand counts from tests/data/acled_mali_synthetic.csv (27 Mali events and one in Burkina Faso,
# which is dropped). The comment after each value lists the rows (event_id_cnty MLI<n>).
EXPECTED = {
    "mi_events_growth_2020_2023": 10 / 5,  # 2023: 17-20, 22-27; 2020: 1-4 and 6 (Dec 2020)
    "mi_events_2023": 10,
    "civilian_deaths_before_wagner": 40 + 60 + 0,  # 6, 7, 10
    "civilian_deaths_after_wagner": 30 + 300 + 20 + 100,  # 11, 12, 14, 15 (Bandiagara -> Mopti)
    "civilian_deaths_wagner_step": 450 / 100,
    "wagner_civilian_targeting_share": 3 / 4,  # 11, 12, 14 of 11-14 (Wagner as actor or assoc)
    "central_share_mi_clashes_2020_2021": 3 / 5,  # 1, 2, 8 of 1, 2, 4, 8, 9
    "central_share_civilian_attacks_2021": 1 / 2,  # 7 of 7, 10
    "bamako_mi_events_growth": (3 + 1) / (1 + 1),  # 17-19 (within 150 km) over 16
    "bamako_mi_events_h1_2023": 3,
}


@pytest.mark.parametrize("target", sorted(EXPECTED))
def test_statistics_on_a_synthetic_acled_export_match_hand_counts(acled_stats, target) -> None:
    assert acled_stats[target] == pytest.approx(EXPECTED[target])


def test_statistics_acled_lacks_are_nan(acled_stats) -> None:
    for key in ("idps_2021", "refugees_2012", "refugees_2012_share_niger", "isgs_control_growth_menaka_gao",
                "cma_holds_kidal_2014_2023", "isgs_holds_menaka_mid_2022", "no_armed_group_holds_the_south_before_2022"):
        assert math.isnan(acled_stats[key])


def test_actor_map_exact_names_then_patterns(historical) -> None:
    actors = ActorMap.from_scenario(historical).with_file(ACTOR_MAP)
    assert actors.lookup("Military Forces of Mali (2013-2020)") == "FAMa"  # scenario name
    assert actors.lookup("Police Forces of Mali (2013-2020)") == "FAMa"  # pattern
    assert actors.lookup("Africa Corps") == "Wagner"
    assert actors.lookup("Islamic State (Sahel)") == "ISGS"
    assert actors.lookup("Unidentified Armed Group (Mali)") is None
    assert actors.ids_of("militant_islamist") == {"JNIM", "KatibaMacina", "ISGS"}


@pytest.fixture(scope="module")
def short_run(short_scenario):
    return run(short_scenario, 11)


EVENT_STATS = {
    "mi_growth": {"kind": "ratio", "pseudo_count": 1,
                  "numerator": {"involving": "militant_islamist", "from": "2013-01-01", "to": "2013-12-31"},
                  "denominator": {"involving": "militant_islamist", "from": "2012-01-01", "to": "2012-12-31"}},
    "civ_deaths": {"kind": "count", "query": {"measure": "fatalities", "civilian_targeting": True,
                                              "from": "2012-01-01", "to": "2013-12-31"}},
    "barkhane_vac": {"kind": "share", "of": {"involving": "Barkhane", "from": "2013-01-01", "to": "2014-06-30"},
                     "part": {"civilian_targeting": True}},
    "north_share": {"kind": "share", "of": {"from": "2012-01-01", "to": "2014-06-30"},
                    "part": {"regions": ["Tombouctou", "Gao", "Kidal", "Menaka", "Taoudenit"]}},
    "near_mopti_town": {"kind": "count", "query": {"near": {"place": "Bamako", "km": 400}, "from": "2012-01-01",
                                                   "to": "2014-06-30"}},
}


def test_a_run_and_its_acled_format_csv_give_the_same_statistics(short_run, short_scenario, tmp_path) -> None:
    """The simulation path and the real-export path are one code path: write the run's event
    log as an ACLED CSV (without the simulation's columns) and compare."""
    stats = {k: Statistic(v["kind"], {x: y for x, y in v.items() if x != "kind"}) for k, v in EVENT_STATS.items()}
    sim = compute_statistics(stats, observed_from_run(short_run))
    csv = tmp_path / "export.csv"
    ev = short_run.events.to_pandas().drop(columns=["run_id", "seed", "gid", "week", "actor1_id", "actor2_id"])
    ev.to_csv(csv, index=False)
    real = compute_statistics(stats, observed_from_acled(read_acled_csv(csv), ActorMap.from_scenario(short_scenario)))
    assert sim["civ_deaths"] > 0 and sim["north_share"] > 0
    for key in stats:
        assert real[key] == pytest.approx(sim[key], nan_ok=True), key


def test_mi_count_matches_the_models_own_weekly_series(short_run, short_scenario) -> None:
    """The event-log count equals the model's weekly MI series (territorial takeovers by or
    from jihadists included in both) less the events the log leaves unattributed (the
    observation model): those a jihadist initiated against a side that is not jihadist."""
    stat = Statistic("count", {"query": {"involving": "militant_islamist", "event_types": "violent",
                                         "from": "2012-01-01", "to": "2014-12-31"}})
    weekly = short_run.weekly.to_pandas()["events_militant_islamist"].sum()
    ev = short_run.events.to_pandas()
    kind = {a: short_scenario.actors[a].kind for a in short_scenario.actors}
    violent = ev.event_type.isin(["Battles", "Explosions/Remote violence", "Violence against civilians"])
    unnamed = (violent & (ev.actor1 == "Unidentified Armed Group (Mali)") & ev.actor1_id.map(kind).eq("jihadist")
               & ev.actor2_id.map(kind).ne("jihadist")).sum()
    assert short_scenario.observation.unattributed_share > 0 and unnamed > 0
    assert stat.compute(observed_from_run(short_run)) == weekly - unnamed > 0


def test_stock_and_control_statistics_on_a_run(short_run) -> None:
    obs = observed_from_run(short_run)
    idps = Statistic("stock", {"series": "idps", "at": "2013-06-30"}).compute(obs)
    weekly = short_run.weekly.to_pandas()
    by_week = weekly.groupby("week_start")["idps_hosted"].sum()
    assert idps == pytest.approx(by_week[by_week.index <= np.datetime64("2013-06-30")].iloc[-1])
    shares = [Statistic("stock", {"series": "refugees", "country": c, "share_of_total": True, "at": "2013-06-30"}).compute(obs)
              for c in ("Mauritania", "Algeria", "Niger", "Burkina Faso", "Cote d'Ivoire", "Guinea", "Senegal")]
    assert sum(shares) == pytest.approx(1.0)
    # a source that counted only some countries: the total and the shares' denominator are theirs
    counted = ["Mauritania", "Niger", "Burkina Faso"]
    refugees = short_run.refugees.to_pandas()
    at_date = refugees[refugees.week_start <= np.datetime64("2013-06-30")]
    last = at_date[at_date.week_start == at_date.week_start.max()].groupby("country")["refugees"].sum()
    assert last.get("Algeria", 0) > 0, "the check needs refugees outside the counted countries"
    total = Statistic("stock", {"series": "refugees", "countries": counted, "at": "2013-06-30"}).compute(obs)
    assert total == pytest.approx(last[counted].sum()) and total < last.sum()
    part = [Statistic("stock", {"series": "refugees", "country": c, "share_of_total": True, "countries": counted,
                                "at": "2013-06-30"}).compute(obs) for c in counted]
    assert sum(part) == pytest.approx(1.0)
    assert part[0] == pytest.approx(last["Mauritania"] / last[counted].sum())
    assert part[0] > shares[0]
    ratio = Statistic("control_area_ratio", {"faction": "FAMa", "regions": ["Gao"], "at": "2014-01-01",
                                             "versus": "2012-06-01", "pseudo_cells": 1}).compute(obs)
    assert np.isfinite(ratio) and ratio > 0


def test_targets_file_is_complete_and_sourced() -> None:
    targets = load_targets(TARGETS)
    assert len(targets) >= 20
    for t in targets:
        assert t.source["publisher"] and t.source["title"] and t.source["date"]
        assert t.low < t.value < t.high
    # out-of-sample split: both sides non-empty
    cut = np.datetime64("2021-12-31").astype(object)
    assert 0 < len(targets.select(until=cut)) < len(targets)


def test_scaled_miss_is_zero_at_value_and_one_at_the_edges() -> None:
    t = load_targets(TARGETS).select(["mi_events_growth_2020_2023"]).targets[0]
    assert t.scaled_miss(t.value) == 0
    assert t.scaled_miss(t.high) == pytest.approx(1)
    assert t.scaled_miss(t.low) == pytest.approx(-1)
    assert t.hit(t.value) and not t.hit(t.high * 1.01)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda t: t.update(value=9.0), "must lie within tolerance"),
    (lambda t: t.update(scale="cubic"), "scale"),
    (lambda t: t["statistic"].update(kind="median"), "unknown statistic"),
    (lambda t: t["statistic"]["numerator"].update(regions=["Atlantis"]), "not a region of Mali"),
    (lambda t: t["source"].pop("publisher"), "source"),
    (lambda t: t.update(colour="red"), "unknown key"),
])
def test_bad_targets_are_clear_config_errors(mutate, message) -> None:
    import copy

    import yaml

    data = yaml.safe_load(TARGETS.read_text(encoding="utf-8"))
    first = copy.deepcopy(data["targets"][0])
    mutate(first)
    with pytest.raises(ConfigError, match=message):
        parse_targets({"targets": [first]}, source="t.yaml")


@pytest.mark.parametrize(("spec", "message"), [
    ({"series": "refugees", "countries": ["Mauritania", "Atlantis"]}, r"countries: 'Atlantis' is not a neighbouring"),
    ({"series": "refugees", "countries": "Mauritania"}, "countries: expected a non-empty list"),
    ({"series": "refugees", "countries": []}, "countries: expected a non-empty list"),
    ({"series": "idps", "countries": ["Mauritania"]}, "countries: only a refugee stock"),
    ({"series": "refugees", "country": "Niger", "countries": ["Mauritania"]}, "country: 'Niger' is not among"),
])
def test_bad_stock_countries_are_clear_config_errors(spec, message) -> None:
    with pytest.raises(ConfigError, match=message):
        Statistic("stock", {**spec, "at": "2012-07-04"}, where="t.yaml: targets[0].statistic")


def test_acled_reader_checks_columns(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("event_date,actor1\n2020-01-01,X\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="missing ACLED column"):
        read_acled_csv(bad)


def test_actor_map_file_rejects_unknown_actors(historical, tmp_path) -> None:
    f = tmp_path / "map.yaml"
    f.write_text("names:\n  Some Group: Nobody\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown actor 'Nobody'"):
        ActorMap.from_scenario(historical).with_file(f)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sahel_sim", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_validate_events_cli_reports_the_acled_column(tmp_path: Path) -> None:
    report = tmp_path / "v.md"
    res = _cli("validate", "--events", str(FIXTURE), "--seeds", "0", "--report", str(report))
    assert res.returncode == 0, res.stderr
    text = report.read_text(encoding="utf-8")
    assert "acled_mali_synthetic.csv" in text and "| wagner_civilian_targeting_share |" in text
    assert "0.75" in text and "not in ACLED" in text
    assert "## Parameters against their priors (calibration/config.yaml)" in text  # issue 11


def test_validate_cli_bad_input_exits_2() -> None:
    res = _cli("validate", "--events", "no/such/file.csv", "--seeds", "0")
    assert res.returncode == 2
    assert "file not found" in res.stderr and "Traceback" not in res.stderr


def test_region_mix_distance_on_an_acled_export(historical) -> None:
    """Total variation between the export's own admin1 mix and a reference: 0 against itself,
    1 minus the shared share against a one-region reference (hand-computed)."""
    actors = ActorMap.from_scenario(historical).with_file(ACTOR_MAP)
    obs = observed_from_acled(read_acled_csv(FIXTURE), actors)
    ev = obs.events
    violent = ev[ev.event_type.isin(["Battles", "Explosions/Remote violence", "Violence against civilians"])
                 & (ev.event_date.astype(str) >= "2020-01-01") & (ev.event_date.astype(str) <= "2023-12-31")]
    regions = violent.admin1.map(lambda a: {"Timbuktu": "Tombouctou", "Taoudeni": "Tombouctou",
                                            "Bandiagara": "Mopti"}.get(a, a))
    own = regions.value_counts().to_dict()
    spec = {"from": "2020-01-01", "to": "2023-12-31"}
    assert Statistic("region_mix_distance", {**spec, "reference": own}).compute(obs) == pytest.approx(0.0)
    mopti_share = own.get("Mopti", 0) / sum(own.values())
    d = Statistic("region_mix_distance", {**spec, "reference": {"Mopti": 10}}).compute(obs)
    assert d == pytest.approx(1.0 - mopti_share)
    with pytest.raises(ConfigError, match="not one of"):
        Statistic("region_mix_distance", {**spec, "reference": {"Atlantis": 1}})


def test_actor_mix_distance_on_an_acled_export(historical) -> None:
    """Total variation between the shares of events involving each actor group and a
    reference: 0 against the export's own involvement counts, hand-computed against a reference
    that names one group only; events involving two groups count for both."""
    actors = ActorMap.from_scenario(historical).with_file(ACTOR_MAP)
    obs = observed_from_acled(read_acled_csv(FIXTURE), actors)
    ev = obs.events
    violent = ev[ev.event_type.isin(["Battles", "Explosions/Remote violence", "Violence against civilians"])
                 & (pd.to_datetime(ev.event_date, format="mixed") >= "2020-01-01")
                 & (pd.to_datetime(ev.event_date, format="mixed") <= "2023-12-31")]
    slots = violent[["actor1", "assoc_actor_1", "actor2", "assoc_actor_2"]].fillna("").astype(str).agg(" | ".join, axis=1)
    own = {"jihadists": int(slots.str.contains("JNIM|Islamic State|Katiba Macina").sum()),
           "state": int(slots.str.contains("Military Forces of Mali|Police Forces of Mali|Wagner").sum())}
    assert own["jihadists"] > 0 and own["state"] > 0
    groups = {"jihadists": ["jihadist"], "state": ["FAMa", "Wagner"]}
    spec = {"from": "2020-01-01", "to": "2023-12-31", "groups": groups}
    assert Statistic("actor_mix_distance", {**spec, "reference": own}).compute(obs) == pytest.approx(0.0)
    state_share = own["state"] / (own["jihadists"] + own["state"])
    d = Statistic("actor_mix_distance", {**spec, "reference": {"jihadists": 5, "state": 0}}).compute(obs)
    assert d == pytest.approx(state_share)
    with pytest.raises(ConfigError, match="expected events for each group"):
        Statistic("actor_mix_distance", {**spec, "reference": {"jihadists": 1}})
    with pytest.raises(ConfigError, match="groups: expected a mapping"):
        Statistic("actor_mix_distance", {**spec, "groups": {"jihadists": []}, "reference": {"jihadists": 1}})


def test_event_type_mix_distance_on_an_acled_export(historical) -> None:
    """0 against the export's own counts by type; against a reference of battles only, one
    minus the battles' share (hand-computed); a type that is not violent is an error."""
    obs = observed_from_acled(read_acled_csv(FIXTURE), ActorMap.from_scenario(historical).with_file(ACTOR_MAP))
    ev = obs.events
    dates = pd.to_datetime(ev.event_date, format="mixed")
    violent = ev[ev.event_type.isin(["Battles", "Explosions/Remote violence", "Violence against civilians"])
                 & (dates >= "2020-01-01") & (dates <= "2023-12-31")]
    own = violent.event_type.value_counts().to_dict()
    assert len(own) == 3
    spec = {"from": "2020-01-01", "to": "2023-12-31"}
    assert Statistic("event_type_mix_distance", {**spec, "reference": own}).compute(obs) == pytest.approx(0.0)
    d = Statistic("event_type_mix_distance", {**spec, "reference": {"Battles": 3}}).compute(obs)
    assert d == pytest.approx(1.0 - own["Battles"] / len(violent))
    with pytest.raises(ConfigError, match="event type"):
        Statistic("event_type_mix_distance", {**spec, "reference": {"Protests": 3}})


def test_control_statistics_match_the_snapshots(short_run) -> None:
    obs = observed_from_run(short_run)
    s = short_run.snapshots
    dates = np.array(s.dates, dtype="datetime64[D]")
    f = s.factions.index("FAMa")
    col = int(np.argmin((obs.cell_lat - 12.64) ** 2 + (obs.cell_lon + 8.0) ** 2))  # Bamako's cell
    share = Statistic("control_share", {"faction": "FAMa", "place": {"name": "Bamako", "lat": 12.64, "lon": -8.0},
                                         "from": "2012-06-01", "to": "2013-12-31"}).compute(obs)
    sel = (dates >= np.datetime64("2012-06-01")) & (dates <= np.datetime64("2013-12-31"))
    assert share == pytest.approx((s.control[sel, col] == f).mean()) and share > 0.9  # the capital stays the state's
    i = int(np.argmin(np.abs(dates - np.datetime64("2013-01-01"))))
    held = Statistic("cells_held", {"faction": "FAMa", "regions": ["Kayes"], "at": "2013-01-01"}).compute(obs)
    assert held == ((s.control[i] == f) & (obs.cell_region == "Kayes")).sum()
    east = Statistic("cells_held", {"faction": "FAMa", "regions": ["Kayes"], "at": "2013-01-01",
                                    "min_lon": -10.0}).compute(obs)
    assert east <= held
    worst = Statistic("max_region_share_held", {"regions": ["Kidal"], "before": "2014-01-01"}).compute(obs)
    armed = [k for k, name in enumerate(s.factions) if name != "FAMa"]
    kidal = obs.cell_region == "Kidal"
    early = s.control[dates < np.datetime64("2014-01-01")][:, kidal]
    assert worst == pytest.approx(max((early == k).mean(axis=1).max() for k in armed)) and worst > 0.3


def _toy_target(tid: str, family: str = "", weight: float = 1.0) -> dict:
    return {"id": tid, "family": family, "weight": weight, "description": tid, "documented": "10", "value": 10,
            "tolerance": {"low": 5, "high": 20}, "scale": "linear", "period": {"from": "2012-01-01", "to": "2012-12-31"},
            "statistic": {"kind": "stock", "series": "idps", "at": "2012-12-31"},
            "source": {"publisher": "P", "title": "T", "date": "2012"}}


def test_distance_weighs_families_not_rows() -> None:
    # scaled misses: a = (20-10)/(20-10) = 1, b = 0, c = -(10-5)/(10-5) = -1
    stats = {"a": 20.0, "b": 10.0, "c": 5.0}
    one_each = parse_targets({"targets": [_toy_target("a"), _toy_target("b"), _toy_target("c")]})
    assert one_each.distance(stats) == pytest.approx(math.sqrt((1 + 0 + 1) / 3))
    # a and b one series: its mean squared miss (1 + 0) / 2 weighs as much as c's 1
    series = parse_targets({"targets": [_toy_target("a", "s"), _toy_target("b", "s"), _toy_target("c")]})
    assert series.distance(stats) == pytest.approx(math.sqrt((0.5 + 1) / 2))
    # a third point of the series with the series' mean miss leaves the distance unchanged...
    more = parse_targets({"targets": [_toy_target("a", "s"), _toy_target("b", "s"), _toy_target("d", "s"),
                                      _toy_target("c")]})
    assert more.distance({**stats, "d": 10 + 10 * math.sqrt(0.5)}) == pytest.approx(series.distance(stats))
    # ...and weights act within a family
    weighted = parse_targets({"targets": [_toy_target("a", "s", 3.0), _toy_target("b", "s"), _toy_target("c")]})
    assert weighted.distance(stats) == pytest.approx(math.sqrt((0.75 + 1) / 2))
    assert list(series.families()) == ["s", "c"]


@pytest.mark.parametrize(("mutate", "message"), [
    ({"family": "two words"}, "family: expected a short name"),
    ({"family": 3}, "family: expected a short name"),
    ({"weight": 0}, "weight: expected a positive number"),
])
def test_bad_family_or_weight_is_a_clear_config_error(mutate, message) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_targets({"targets": [{**_toy_target("a"), **mutate}]}, source="t.yaml")


def test_shipped_targets_have_families_and_the_report_counts_them() -> None:
    from sahel_sim.experiments.calibrate import family_summary

    targets = load_targets(TARGETS)
    fams = targets.families()
    assert all(t.family for t in targets), "every shipped target names its family"
    assert len(fams["displacement"]) == 12 and len(fams["acled_yearly_events"]) == 13
    table = targets.table([{t.id: t.value for t in targets}])
    lines = family_summary(table)
    assert "| displacement | 12 | 12 |  |" in lines and len(lines) == 4 + len(fams) + 1
