"""Write a run's displacement network and simulated violence as Flee input files.

Flee (Suleimenova, Bell & Groen 2017; github.com/djgroen/flee) reads a conflict situation
from ``input_csv/``; its documented layout (docs/Simulation_instance_construction.md):

- ``locations.csv``: ``#name,region,country,lat,lon,location_type,conflict_date,population``
  (types ``conflict_zone``, ``town``, ``camp``; population, or capacity for camps);
- ``routes.csv``: ``#name1,name2,distance,forced_redirection`` (km; 0 = no redirection);
- ``conflicts.csv``: ``#Day,<location>,...``: conflict intensity (0-1) of each location per day;
- ``closures.csv``: ``#closure_type,name1,name2,closure_start,closure_end`` (``location`` or
  ``country`` closures, in days from the start; -1 = to the end of the simulation);
- ``sim_period.csv``: ``StartDate,YYYY-MM-DD`` and ``Length,<days>``.

The location graph is sahel-sim's (sahel_sim/geography/locations.py), rebuilt from the run's
manifest; conflicts come from the run's own event log (a location is in conflict on a day when
its catchment had a violent event within the preceding ``window_days``); camp capacities are
left unbounded (Flee needs a number: ``CAMP_CAPACITY``) because sahel-sim has no camp
capacities. Flee users chain the two models by running Flee on this folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np

from sahel_sim.io.atomic import write_atomic

FILES = ("locations.csv", "routes.csv", "conflicts.csv", "closures.csv", "sim_period.csv")
CAMP_CAPACITY = 10_000_000  # Flee's capacity of a camp with no documented limit ("a very high value")
VIOLENT = ("Battles", "Violence against civilians", "Explosions/Remote violence")


def _csv(rows: list[list]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def flee_tables(run, *, window_days: int = 28) -> dict[str, str]:
    """The Flee input files (name -> text) for a run folder read by ``read_run``."""
    from sahel_sim.config import validate_scenario
    from sahel_sim.geography import REGIONS, load_grid
    from sahel_sim.geography.locations import CAMP_KINDS, MALI, build_location_graph

    scenario = validate_scenario(run.manifest["scenario"])
    grid = load_grid(national_population=scenario.population.national_total)
    g = build_location_graph(grid, detour_factor=scenario.mechanisms.displacement.detour_factor)
    start = scenario.start_date
    days = (scenario.end_date - start).days
    names = [n.replace(",", " ") for n in g.names]

    # conflict intensity per day and Mali location, from the run's violent events
    ev = run.events
    ev = ev[ev["event_type"].isin(VIOLENT)]
    index = {int(gid): i for i, gid in enumerate(grid.gid)}
    cells = np.array([index.get(int(x), -1) for x in ev["gid"].to_numpy()], dtype=np.int64)
    day = (np.asarray(ev["event_date"], dtype="datetime64[D]") - np.datetime64(start)).astype(np.int64)
    ok = (cells >= 0) & (day >= 0) & (day < days)
    node = g.cell_node[cells[ok]]
    hits = np.zeros((days + window_days, g.n_mali), dtype=np.int32)
    np.add.at(hits, (day[ok], node), 1)
    recent = np.cumsum(hits, axis=0)
    recent[window_days:] -= recent[:-window_days].copy()
    conflict = (recent[:days] > 0).astype(np.int8)
    first = np.where(conflict.any(axis=0), conflict.argmax(axis=0), -1)

    pop = np.bincount(g.cell_node, weights=grid.population, minlength=g.n_mali)
    loc_rows = [["#name", "region", "country", "lat", "lon", "location_type", "conflict_date", "population"]]
    for i, name in enumerate(names):
        if g.country[i] == MALI:
            ctype = "conflict_zone" if first[i] >= 0 else "town"
            region = REGIONS[int(grid.region[g.cell[i]])]
            loc_rows.append([name, region, MALI, f"{g.lat[i]:.4f}", f"{g.lon[i]:.4f}", ctype,
                             int(first[i]) if first[i] >= 0 else "", int(np.rint(pop[i]))])
        else:
            camp = g.kind[i] in CAMP_KINDS
            loc_rows.append([name, "", g.country[i].replace(" ", "_"), f"{g.lat[i]:.4f}", f"{g.lon[i]:.4f}",
                             "camp" if camp else "town", "", CAMP_CAPACITY if camp else 0])
    route_rows = [["#name1", "name2", "distance", "forced_redirection"]]
    for a, b, km in zip(g.link_a, g.link_b, g.link_km, strict=True):
        route_rows.append([names[a], names[b], f"{km:.1f}", 0])
    conflict_rows = [["#Day", *names[:g.n_mali]]]
    conflict_rows += [[t, *conflict[t].tolist()] for t in range(days)]

    def day_of(d: dt.date | None, default: int) -> int:
        return default if d is None else max(0, (d - start).days)

    closure_rows = [["#closure_type", "name1", "name2", "closure_start", "closure_end"]]
    for c in scenario.refuge.closures:
        if c.end is not None and c.end <= start:
            continue
        if c.type == "border":
            closure_rows.append(["country", MALI, c.country.replace(" ", "_"), day_of(c.start, 0), day_of(c.end, -1)])
        elif any(n == c.location for n in g.names):
            closure_rows.append(["location", c.location, "", day_of(c.start, 0), day_of(c.end, -1)])
    for i in range(g.n_nodes):
        if g.opened[i] is not None and g.opened[i] > start:
            closure_rows.append(["location", names[i], "", 0, day_of(g.opened[i], -1)])
        if g.closed[i] is not None:
            closure_rows.append(["location", names[i], "", day_of(g.closed[i], 0), -1])
    period = [["StartDate", start.isoformat()], ["Length", days]]
    return {"locations.csv": _csv(loc_rows), "routes.csv": _csv(route_rows), "conflicts.csv": _csv(conflict_rows),
            "closures.csv": _csv(closure_rows), "sim_period.csv": _csv(period)}


def export_flee(results_dir: str | Path, out_dir: str | Path | None = None, *, window_days: int = 28) -> Path:
    """Write the Flee input files of the run in ``results_dir`` into ``out_dir`` (default:
    ``<results_dir>/flee/input_csv``); returns the folder."""
    from sahel_sim.io.results import read_run

    run = read_run(results_dir)
    out = Path(out_dir) if out_dir is not None else Path(results_dir) / "flee" / "input_csv"
    tables = flee_tables(run, window_days=window_days)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        write_atomic(out / name, text)
    return out
