"""``sahel-sim export flee``: the files against Flee's documented input layout
(github.com/djgroen/flee, docs/Simulation_instance_construction.md):

- locations.csv: ``#name,region,country,lat,lon,location_type,conflict_date,population``
- routes.csv: ``#name1,name2,distance,forced_redirection``
- conflicts.csv: ``#Day,<location>,...`` with intensities 0-1 per day
- closures.csv: ``#closure_type,name1,name2,closure_start,closure_end`` (days; -1 = to the end)
- sim_period.csv: ``StartDate,YYYY-MM-DD`` / ``Length,<days>``
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from sahel_sim.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent


def _read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    run_dir = tmp_path_factory.mktemp("run")
    rc = cli_main(["run", str(ROOT / "scenarios" / "historical.yaml"), "--set", "end_date=2013-02-25", "--seed", "5",
                   "--out", str(run_dir), "--no-plot", "--quiet"])
    assert rc == 0
    out = run_dir / "flee_in"
    assert cli_main(["export", "flee", str(run_dir), "--out", str(out)]) == 0
    return run_dir, out


def test_files_follow_flees_documented_layout(exported) -> None:
    _, out = exported
    assert sorted(p.name for p in out.iterdir()) == ["closures.csv", "conflicts.csv", "locations.csv", "routes.csv",
                                                     "sim_period.csv"]
    period = _read(out / "sim_period.csv")
    assert period[0][0] == "StartDate" and dt.date.fromisoformat(period[0][1]) == dt.date(2012, 1, 16)
    assert period[1][0] == "Length" and int(period[1][1]) == (dt.date(2013, 2, 25) - dt.date(2012, 1, 16)).days
    length = int(period[1][1])

    loc = _read(out / "locations.csv")
    assert loc[0] == ["#name", "region", "country", "lat", "lon", "location_type", "conflict_date", "population"]
    names = [r[0] for r in loc[1:]]
    assert len(names) == len(set(names)) and all(len(r) == 8 for r in loc[1:])
    types = {r[0]: r[5] for r in loc[1:]}
    assert set(types.values()) <= {"conflict_zone", "town", "camp"}
    for r in loc[1:]:
        assert -90 <= float(r[3]) <= 90 and -180 <= float(r[4]) <= 180 and float(r[7]) >= 0
        assert (r[5] == "conflict_zone") == (r[6] != "")  # a conflict zone has its first conflict day
        if r[6]:
            assert 0 <= int(r[6]) < length
    camps = {r[0]: r[2] for r in loc[1:] if r[5] == "camp"}
    assert {"Mbera", "Mentao", "Goudoubo", "Damba", "Bobo-Dioulasso", "Abala", "Mangaize", "Tabareybarey", "Intikane",
            "Niamey", "Bordj Badji Mokhtar", "Tinzaouaten"} <= set(camps)
    assert camps["Mbera"] == "Mauritania" and camps["Mentao"] == "Burkina_Faso"

    routes = _read(out / "routes.csv")
    assert routes[0] == ["#name1", "name2", "distance", "forced_redirection"]
    assert all(r[0] in types and r[1] in types and float(r[2]) > 0 and r[3] in ("0", "1", "2") for r in routes[1:])
    linked = {r[0] for r in routes[1:]} | {r[1] for r in routes[1:]}
    assert set(camps) <= linked  # every camp is reachable by a route
    assert any({r[0], r[1]} == {"Lere", "Fassala"} and float(r[2]) == 98.0 for r in routes[1:])  # Flee's distance

    conf = _read(out / "conflicts.csv")
    assert conf[0][0] == "#Day" and set(conf[0][1:]) <= set(types) and len(conf) - 1 == length
    values = np.array([[float(x) for x in r[1:]] for r in conf[1:]])
    assert [int(r[0]) for r in conf[1:]] == list(range(length))
    assert ((values >= 0) & (values <= 1)).all() and values.any()
    cols = conf[0][1:]
    for name, t in types.items():  # conflict zones are those with conflict on some day, from that day
        if name in cols:
            j = cols.index(name)
            on = np.flatnonzero(values[:, j] > 0)
            row = next(r for r in loc[1:] if r[0] == name)
            assert (t == "conflict_zone") == bool(on.size)
            if on.size:
                assert int(row[6]) == on[0]

    clo = _read(out / "closures.csv")
    assert clo[0] == ["#closure_type", "name1", "name2", "closure_start", "closure_end"]
    countries = {r[2] for r in loc[1:]}
    for r in clo[1:]:
        assert r[0] in ("location", "country")
        start, end = int(r[3]), int(r[4])
        assert 0 <= start and (end == -1 or end > start)
        if r[0] == "country":
            assert r[1] == "Mali" and r[2] in countries
        else:
            assert r[1] in types
    assert ["country", "Mali", "Algeria", str((dt.date(2013, 1, 14) - dt.date(2012, 1, 16)).days), "-1"] in clo[1:]


def test_conflicts_come_from_the_runs_violent_events(exported) -> None:
    from sahel_sim.io.results import read_run

    run_dir, out = exported
    ev = read_run(run_dir).events
    ev = ev[ev.event_type.isin(["Battles", "Violence against civilians", "Explosions/Remote violence"])]
    conf = _read(out / "conflicts.csv")
    days_in_conflict = sum(float(x) > 0 for r in conf[1:] for x in r[1:])
    assert len(ev) > 0 and days_in_conflict > 0
    first_event_day = int((ev.event_date.min() - np.datetime64("2012-01-16")).days)
    first_conflict_day = min(int(r[0]) for r in conf[1:] if any(float(x) > 0 for x in r[1:]))
    assert first_conflict_day == first_event_day


def test_export_of_a_folder_that_is_not_a_run_is_one_clear_error(tmp_path, capsys) -> None:
    rc = cli_main(["export", "flee", str(tmp_path / "nothing")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "nothing" in err and "not a sahel-sim run folder" in err and "Traceback" not in err
