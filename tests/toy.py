"""Toy worlds for mechanism tests: a small block of PRIO-GRID cells and a minimal scenario.

The block keeps real PRIO-GRID geometry (0.5-degree cells, great-circle distances), so the
model runs on it unchanged; regions, population, bases and border countries are set by hand.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import scipy.sparse as sp

from sahel_sim.config import validate_scenario
from sahel_sim.geography import REGIONS, Base, MaliGrid, Town, gid_of, haversine_km
from sahel_sim.model import SahelModel

START = dt.date(2020, 1, 6)


def toy_grid(*, rows: int = 2, cols: int = 8, lat0: float = 14.25, lon0: float = -5.75,
             region: str | list[list[str]] = "Mopti", population: float = 50_000.0,
             bases: list[tuple[str, str, int, dt.date | None]] = (), border: dict[int, int] | None = None) -> MaliGrid:
    """``rows x cols`` cells from (lat0, lon0) northward and eastward (cell index = r*cols + c).

    ``bases``: (name, kind, cell, closed); ``border``: {cell: index into NEIGHBOUR_COUNTRIES}.
    """
    r, c = np.divmod(np.arange(rows * cols), cols)
    lat = lat0 + 0.5 * r
    lon = lon0 + 0.5 * c
    n = lat.size
    names = [region] * n if isinstance(region, str) else [region[i // cols][i % cols] for i in range(n)]
    adj = (np.abs(r[:, None] - r[None, :]) <= 1) & (np.abs(c[:, None] - c[None, :]) <= 1)
    np.fill_diagonal(adj, False)
    adjacency = sp.csr_matrix(adj.astype(np.float64))
    dist = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    bc = np.full(n, -1, dtype=np.int8)
    for cell, k in (border or {}).items():
        bc[cell] = k
    gid = np.array([gid_of(a, b) for a, b in zip(lat, lon, strict=True)], dtype=np.int64)
    prow = (gid - 1) // 720
    pcol = (gid - 1) % 720
    lookup = np.arange(n, dtype=np.int32).reshape(rows, cols)
    towns = tuple(Town(f"Town{i}", float(lat[i]), float(lon[i]), int(population), i, names[i], "toy") for i in range(n))
    base_objs = tuple(Base(name, kind, float(lat[cell]), float(lon[cell]), cell, names[cell], "toy", closed)
                      for name, kind, cell, closed in bases)
    return MaliGrid(
        gid=gid, row=prow, col=pcol, lat=lat, lon=lon, area_km2=np.full(n, 3000.0),
        region=np.array([REGIONS.index(x) for x in names], dtype=np.int16),
        population=np.full(n, float(population)), climate=np.ones(n, dtype=np.int8), river=np.zeros(n, dtype=bool),
        border_country=bc, neighbors_indptr=adjacency.indptr.astype(np.int32),
        neighbors_indices=adjacency.indices.astype(np.int32), adjacency=adjacency, distance_km=dist,
        towns=towns, bases=base_objs, outline=np.zeros((0, 2)), sources={"toy": "tests/toy.py"},
        national_population=float(population) * n, _lookup=lookup, _row0=int(prow.min()), _col0=int(pcol.min()),
    )


def actor(kind: str, *, strength: float, regions=("Mopti",), inter: int = 2, **kw: Any) -> dict[str, Any]:
    base = {
        "kind": kind, "inter": inter, "acled_names": [{"from": "2000-01-01", "name": f"{kind} toy"}],
        "strength": strength, "strength_source": "toy", "regions": list(regions), "unit_size": 100,
        "reach_km": 40, "move_km": 120,
    }
    base.update(kw)
    return base


def scenario(actors: dict[str, dict], *, weeks: int = 104, interventions: dict | None = None,
             mechanisms: dict | None = None, **top: Any):
    """A validated scenario (through the same gate as every file)."""
    ids = list(actors)
    pair = ["JNIM", "ISGS"] if {"JNIM", "ISGS"} <= set(ids) else (ids * 2)[:2]
    parties = ["CMA", "FAMa"] if {"CMA", "FAMa"} <= set(ids) else (ids * 2)[:2]
    # inactive unless a test switches them on: rivalry in 2100, no accord at the start
    mech = {"rivalry": {"actors": pair, "start_date": "2100-01-01"},
            "accord": {"parties": parties, "guarantor": None}}
    for key, value in (mechanisms or {}).items():
        mech[key] = {**mech.get(key, {}), **value}
    data = {
        "name": "toy", "start_date": START.isoformat(),
        "end_date": (START + dt.timedelta(weeks=weeks)).isoformat(),
        "population": {"national_total": 1e6, "source": "toy"},
        "actors": actors, "interventions": interventions or {}, "mechanisms": mech, **top,
    }
    return validate_scenario(data, source="toy")


def run_toy(sc, grid: MaliGrid, seed: int = 1) -> SahelModel:
    model = SahelModel(sc, seed=seed, grid=grid)
    while model.running:
        model.step()
    return model


def mean_over_seeds(fn, seeds=range(4)) -> float:
    return float(np.mean([fn(s) for s in seeds]))


def run_displacement(model: SahelModel) -> np.ndarray:
    """Run ``model`` to its end, checking every week that population is conserved (nobody
    appears or vanishes, no stock turns negative); returns the displaced (IDPs + refugees) per week."""
    from sahel_sim.model import total_population

    total0 = total_population(model)
    displaced = []
    while model.running:
        model.step()
        displaced.append(model.idp_origin.sum() + model.ref_origin.sum())
        assert abs(total_population(model) - total0) <= 1e-9 * total0
        assert np.all(model.refuge.settled >= -1e-6) and np.all(model.pop_home >= 0)
    return np.array(displaced)
