"""The location graph of displacement: Mali's towns, border crossings and the camps abroad.

Nodes, Mali first: one node per grid cell that holds a town (its largest town) or a road
waypoint (``data/roads.json``), then the crossings and camps of ``data/locations.json``, then
one generic "across the border" node for each neighbouring country whose border cells the grid
has but that ``locations.json`` gives no destination in (Senegal, Guinea, Cote d'Ivoire; in toy
worlds every border country). Every grid cell belongs to the catchment of its nearest Mali node.

Links, with distances in km: consecutive waypoints of each road of ``roads.json``; tracks
from each Mali node to its ``tracks_per_node`` nearest Mali nodes; the cross-border routes of
``locations.json`` (Flee's distance where documented); border cells' nodes to the generic
nodes. Undocumented distances are great-circle distances times ``detour_factor``.

This module only builds the graph (no dates, no model state); the displacement mechanism
(``sahel_sim/model/mechanisms/displacement.py``) routes people over it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from sahel_sim.geography.grid import NEIGHBOUR_COUNTRIES, MaliGrid, _roads, haversine_km

_DATA = "locations.json"
MALI = "Mali"
# family_refuge: a documented place abroad without a camp, where refugees stay with families
NODE_KINDS = ("town", "crossing", "camp", "border_area", "family_refuge")
CAMP_KINDS = ("camp", "border_area", "family_refuge")  # refuges abroad that weigh as camps (Flee: camp)
GENERIC_CROSSING_KM = 25.0  # km from a border cell's node past the border to a generic refuge node


@dataclass(frozen=True)
class LocationGraph:
    """Nodes (Mali's first, ``n_mali`` of them) and undirected links."""

    names: tuple[str, ...]
    country: tuple[str, ...]  # "Mali" or a neighbouring country
    kind: tuple[str, ...]  # NODE_KINDS
    lat: np.ndarray
    lon: np.ndarray
    cell: np.ndarray  # int64 (N,) grid cell of Mali nodes, -1 abroad
    n_mali: int
    link_a: np.ndarray  # int64 (E,)
    link_b: np.ndarray  # int64 (E,)
    link_km: np.ndarray  # float64 (E,)
    link_source: tuple[str, ...]
    cell_node: np.ndarray  # int64 (n_cells,) catchment node of each cell
    opened: tuple[dt.date | None, ...]
    closed: tuple[dt.date | None, ...]
    sources: tuple[str, ...]
    data_source: str

    @property
    def n_nodes(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        key = fold(name)
        for i, n in enumerate(self.names):
            if fold(n) == key:
                return i
        raise KeyError(name)

    @property
    def country_index(self) -> np.ndarray:
        """Index into NEIGHBOUR_COUNTRIES of each node abroad, -1 for Mali's."""
        return np.array([NEIGHBOUR_COUNTRIES.index(c) if c != MALI else -1 for c in self.country], dtype=np.int64)


def fold(name: str) -> str:
    """Case- and accent-insensitive key ('Ménaka' == 'Menaka')."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch)).lower().strip()


@cache
def _raw() -> dict:
    return json.loads(resources.files("sahel_sim.geography").joinpath("data", _DATA).read_text(encoding="utf-8"))


def _date(x: str | None) -> dt.date | None:
    return dt.date.fromisoformat(x) if x else None


def build_location_graph(grid: MaliGrid, *, detour_factor: float, tracks_per_node: int = 3) -> LocationGraph:
    """The displacement graph on ``grid`` (see the module docstring)."""
    names: list[str] = []
    country: list[str] = []
    kind: list[str] = []
    lat: list[float] = []
    lon: list[float] = []
    cell: list[int] = []
    sources: list[str] = []
    opened: list[dt.date | None] = []
    closed: list[dt.date | None] = []
    alias: dict[str, int] = {}
    node_of_cell: dict[int, int] = {}

    def add(name, ctry, knd, la, lo, c, src, op=None, cl=None) -> int:
        names.append(name), country.append(ctry), kind.append(knd), lat.append(float(la)), lon.append(float(lo))
        cell.append(int(c)), sources.append(src), opened.append(op), closed.append(cl)
        alias.setdefault(fold(name), len(names) - 1)
        return len(names) - 1

    for town in grid.towns:  # largest first: a cell's node is its largest town
        if town.cell is None:
            continue
        if town.cell in node_of_cell:
            alias.setdefault(fold(town.name), node_of_cell[town.cell])
            continue
        node_of_cell[town.cell] = add(town.name, MALI, "town", town.lat, town.lon, town.cell, town.source)
    roads = _roads()["routes"] if grid.road is not None else []
    for route in roads:
        for name, la, lo in route["waypoints"]:
            if fold(name) in alias:  # the road passes through a town already in the graph
                continue
            c = grid.cell_at(la, lo)
            c = grid.nearest_cell(la, lo) if c is None else c
            if c in node_of_cell:
                alias.setdefault(fold(name), node_of_cell[c])
            else:
                node_of_cell[c] = add(name, MALI, "town", la, lo, c, "roads.json waypoint (GeoNames)")
    n_mali = len(names)
    if n_mali == 0:
        raise ValueError("the grid has no towns: the displacement graph needs at least one")
    mlat, mlon = np.array(lat), np.array(lon)

    links: dict[tuple[int, int], tuple[float, str]] = {}

    def link(a: int, b: int, km: float | None, src: str) -> None:
        if a == b:
            return
        if km is None:
            km = detour_factor * float(haversine_km(lat[a], lon[a], lat[b], lon[b]))
        key = (min(a, b), max(a, b))
        if key not in links or km < links[key][0]:
            links[key] = (float(km), src)

    for route in roads:
        nodes = [alias[fold(w[0])] for w in route["waypoints"]]
        for a, b in itertools.pairwise(nodes):
            link(a, b, None, f"road {route['name']} (roads.json)")
    d_mali = haversine_km(mlat[:, None], mlon[:, None], mlat[None, :], mlon[None, :])
    k = min(tracks_per_node, n_mali - 1)
    if k > 0:
        nearest = np.argsort(d_mali, axis=1, kind="stable")[:, 1:k + 1]
        for a in range(n_mali):
            for b in nearest[a]:
                link(a, int(b), None, "track to a nearby town (great-circle x detour factor)")

    # crossings and camps abroad, with their routes (only where both ends exist in this grid)
    data = _raw()
    has_border = {int(x) for x in np.unique(grid.border_country) if x >= 0}
    for loc in data["locations"]:
        if NEIGHBOUR_COUNTRIES.index(loc["country"]) not in has_border:
            continue
        add(loc["name"], loc["country"], loc["kind"], loc["lat"], loc["lon"], -1, loc["source"],
            _date(loc.get("opened")), _date(loc.get("closed")))
    for r in data["routes"]:
        a, b = alias.get(fold(r["from"])), alias.get(fold(r["to"]))
        if a is not None and b is not None:
            link(a, b, r["km"], r["source"])
    # generic refuges for border countries with no documented destination reached by a route
    linked_abroad = {country[b] for a, b in links if country[a] == MALI and country[b] != MALI}
    for k_country in sorted(has_border):
        cname = NEIGHBOUR_COUNTRIES[k_country]
        if cname in linked_abroad:
            continue
        border_cells = np.flatnonzero(grid.border_country == k_country)
        g = add(f"{cname} (across the border)", cname, "border_area", grid.lat[border_cells].mean(),
                grid.lon[border_cells].mean(), -1,
                f"refuge across the border in {cname}: no camp documented in locations.json")
        for c in border_cells:
            a = int(np.argmin(haversine_km(mlat, mlon, grid.lat[c], grid.lon[c])))
            km = detour_factor * (float(haversine_km(lat[a], lon[a], grid.lat[c], grid.lon[c])) + GENERIC_CROSSING_KM)
            link(a, g, km, "border cell to the neighbouring country (great-circle x detour factor)")

    cell_node = np.argmin(haversine_km(grid.lat[:, None], grid.lon[:, None], mlat[None, :], mlon[None, :]), axis=1)
    for c, node in node_of_cell.items():
        cell_node[c] = node
    keys = sorted(links)
    return LocationGraph(
        names=tuple(names), country=tuple(country), kind=tuple(kind), lat=np.array(lat), lon=np.array(lon),
        cell=np.array(cell, dtype=np.int64), n_mali=n_mali,
        link_a=np.array([a for a, _ in keys], dtype=np.int64), link_b=np.array([b for _, b in keys], dtype=np.int64),
        link_km=np.array([links[x][0] for x in keys]), link_source=tuple(links[x][1] for x in keys),
        cell_node=cell_node.astype(np.int64), opened=tuple(opened), closed=tuple(closed), sources=tuple(sources),
        data_source=data["source"])
