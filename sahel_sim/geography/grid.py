"""Mali on PRIO-GRID: the simulation space (cells, regions, population, towns, bases).

The data file ``data/mali_grid.json`` is built by ``scripts/build_grid.py`` from countryinfo
and GeoNames (build-time only) plus sourced tables; its ``sources`` say where each dataset
comes from. This module only reads it: no network, no build-time packages.

PRIO-GRID (Tollefsen, Strand & Buhaug 2012, J. Peace Research 49(2)): 0.5 x 0.5 degree cells,
``gid = row*720 + col + 1`` with ``row = floor((lat+90)/0.5)``, ``col = floor((lon+180)/0.5)``.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np
import scipy.sparse as sp

REGIONS: tuple[str, ...] = ("Kayes", "Koulikoro", "Sikasso", "Segou", "Mopti", "Tombouctou",
                            "Taoudenit", "Gao", "Menaka", "Kidal", "Bamako")
NEIGHBOUR_COUNTRIES: tuple[str, ...] = ("Mauritania", "Algeria", "Niger", "Burkina Faso",
                                        "Cote d'Ivoire", "Guinea", "Senegal")
CLIMATE_ZONES: tuple[str, ...] = ("Saharan", "Sahelian", "Sudanian")
BASE_KINDS: tuple[str, ...] = ("minusma_camp", "minusma_hq", "fama_garrison")

# RGPH5 2022 national census total (INSTAT via maliexpress.net, 28 Dec 2023; facts s6).
NATIONAL_POPULATION_2022 = 22_395_489
CELL_DEG = 0.5  # PRIO-GRID resolution
PRIO_COLS = 720  # 360 / 0.5
_DATA = "mali_grid.json"
_ROADS = "roads.json"
ROAD_CORRIDOR_KM = 25.0  # a cell is on a route when the route passes within this of its centre


@dataclass(frozen=True, slots=True)
class Town:
    """A GeoNames populated place; ``cell`` is its grid cell (the nearest one if the place's
    own cell is outside the grid), ``region`` its GeoNames admin1 region (Bamako for places
    in the Bamako cell), ``source`` names its geonameid."""

    name: str
    lat: float
    lon: float
    population: int
    cell: int
    region: str
    source: str


@dataclass(frozen=True, slots=True)
class Base:
    """A MINUSMA camp or HQ (with its 2023 closure date) or a FAMa garrison (``closed=None``)."""

    name: str
    kind: str
    lat: float
    lon: float
    cell: int
    region: str
    source: str
    closed: dt.date | None


def gid_of(lat: float, lon: float) -> int:
    """PRIO-GRID gid of the cell containing (lat, lon)."""
    row = math.floor((lat + 90.0) / CELL_DEG)
    col = math.floor((lon + 180.0) / CELL_DEG)
    return row * PRIO_COLS + col + 1


def haversine_km(lat1, lon1, lat2, lon2, radius_km: float = 6371.0088):
    """Great-circle distance (degrees in, km out); default radius: IUGG mean Earth radius."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * radius_km * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True, eq=False)
class MaliGrid:
    """Mali's PRIO-GRID cells and everything the model needs about them (read-only arrays).

    Cells are ordered by (row, col), i.e. south to north, then west to east. Picklable.
    """

    gid: np.ndarray  # int64 (n,)
    row: np.ndarray  # int64 (n,)
    col: np.ndarray  # int64 (n,)
    lat: np.ndarray  # float64 (n,) cell centre
    lon: np.ndarray  # float64 (n,) cell centre
    area_km2: np.ndarray  # float64 (n,) spherical cell area
    region: np.ndarray  # int16 (n,) index into REGIONS
    population: np.ndarray  # float64 (n,) people; sums to the national total
    climate: np.ndarray  # int8 (n,) index into CLIMATE_ZONES
    river: np.ndarray  # bool (n,) Niger river course or inner delta
    border_country: np.ndarray  # int8 (n,) -1 interior, else index into NEIGHBOUR_COUNTRIES
    neighbors_indptr: np.ndarray  # int32 (n+1,) CSR Moore adjacency
    neighbors_indices: np.ndarray  # int32 (nnz,)
    adjacency: sp.csr_matrix  # (n, n) float64 ones, symmetric
    distance_km: np.ndarray  # float64 (n, n) great-circle between cell centres
    towns: tuple[Town, ...]  # by population, descending
    bases: tuple[Base, ...]
    outline: np.ndarray  # float64 (k, 2) lon/lat of Mali's outline
    sources: dict[str, str]
    national_population: float
    _lookup: np.ndarray  # int32 (rows, cols) cell index or -1, over the bounding box
    _row0: int
    _col0: int
    road: np.ndarray | None = None  # bool (n,) main road corridor (data/roads.json); None: no roads

    @property
    def corridor(self) -> np.ndarray:
        """Cells on a main road or on the Niger river (course or inner delta): the routes
        along which armed groups expand (bool, n)."""
        road = self.road if self.road is not None else np.zeros(self.n_cells, dtype=bool)
        return road | self.river

    @property
    def n_cells(self) -> int:
        return int(self.gid.size)

    def neighbors(self, i: int) -> np.ndarray:
        """Indices of the Moore (8-) neighbours of cell ``i`` that are in the grid."""
        return self.neighbors_indices[self.neighbors_indptr[i]:self.neighbors_indptr[i + 1]]

    def cell_at(self, lat: float, lon: float) -> int | None:
        """Index of the cell containing (lat, lon), or None if that cell is not in the grid."""
        r = math.floor((lat + 90.0) / CELL_DEG) - self._row0
        c = math.floor((lon + 180.0) / CELL_DEG) - self._col0
        if 0 <= r < self._lookup.shape[0] and 0 <= c < self._lookup.shape[1]:
            k = int(self._lookup[r, c])
            return k if k >= 0 else None
        return None

    def nearest_cell(self, lat: float, lon: float) -> int:
        """The containing cell if in the grid, else the cell with the nearest centre."""
        k = self.cell_at(lat, lon)
        if k is not None:
            return k
        return int(np.argmin(haversine_km(lat, lon, self.lat, self.lon)))

    def region_index(self, name: str) -> int:
        try:
            return REGIONS.index(name)
        except ValueError:
            raise KeyError(f"unknown region {name!r}; expected one of {', '.join(REGIONS)}") from None

    def cells_in(self, region_name: str) -> np.ndarray:
        """Indices of the cells of a region (int64, ascending)."""
        return np.flatnonzero(self.region == self.region_index(region_name))

    def region_area_km2(self) -> dict[str, float]:
        return {r: float(self.area_km2[self.region == i].sum()) for i, r in enumerate(REGIONS)}

    def region_population(self) -> dict[str, float]:
        return {r: float(self.population[self.region == i].sum()) for i, r in enumerate(REGIONS)}


def _read_data() -> dict:
    text = resources.files("sahel_sim.geography").joinpath("data", _DATA).read_text(encoding="utf-8")
    data = json.loads(text)
    if tuple(data["regions"]) != REGIONS or tuple(data["neighbour_countries"]) != NEIGHBOUR_COUNTRIES \
            or tuple(data["climate_zones"]) != CLIMATE_ZONES:
        raise ValueError(f"{_DATA}: region/country/climate names differ from sahel_sim.geography; "
                         "rerun scripts/build_grid.py")
    return data


@functools.lru_cache(maxsize=8)
def _raw() -> dict:
    return _read_data()


@functools.lru_cache(maxsize=1)
def _roads() -> dict:
    text = resources.files("sahel_sim.geography").joinpath("data", _ROADS).read_text(encoding="utf-8")
    return json.loads(text)


def road_mask(lat: np.ndarray, lon: np.ndarray, routes: list[dict], *, corridor_km: float = ROAD_CORRIDOR_KM,
              step_km: float = 5.0) -> np.ndarray:
    """Cells whose centre lies within ``corridor_km`` of a route (straight segments between
    waypoints, sampled every ``step_km``)."""
    mask = np.zeros(lat.size, dtype=bool)
    for route in routes:
        pts = np.asarray([(w[1], w[2]) for w in route["waypoints"]], dtype=np.float64)
        for (la0, lo0), (la1, lo1) in itertools.pairwise(pts):
            length = float(haversine_km(la0, lo0, la1, lo1))
            t = np.linspace(0.0, 1.0, max(2, int(length / step_km) + 1))
            sla, slo = la0 + t * (la1 - la0), lo0 + t * (lo1 - lo0)
            d = haversine_km(lat[:, None], lon[:, None], sla[None, :], slo[None, :])
            mask |= d.min(axis=1) <= corridor_km
    return mask


def _moore_csr(row: np.ndarray, col: np.ndarray, lookup: np.ndarray, row0: int, col0: int):
    n = row.size
    r = row - row0
    c = col - col0
    src, dst = [], []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr == 0 and dc == 0:
                continue
            rr, cc = r + dr, c + dc
            ok = (rr >= 0) & (rr < lookup.shape[0]) & (cc >= 0) & (cc < lookup.shape[1])
            j = np.full(n, -1)
            j[ok] = lookup[rr[ok], cc[ok]]
            keep = j >= 0
            src.append(np.flatnonzero(keep))
            dst.append(j[keep])
    src_a = np.concatenate(src)
    dst_a = np.concatenate(dst)
    adj = sp.csr_matrix((np.ones(src_a.size), (src_a, dst_a)), shape=(n, n))
    adj.sort_indices()
    return adj


@functools.lru_cache(maxsize=8)
def load_grid(national_population: float = NATIONAL_POPULATION_2022) -> MaliGrid:
    """Load the committed Mali grid, scaling population shares to ``national_population``.

    Cached per argument (the returned grid is shared: treat its arrays as read-only).
    """
    if not national_population >= 0:
        raise ValueError(f"national_population must be >= 0, got {national_population!r}")
    data = _raw()
    cells = data["cells"]
    row = np.asarray(cells["row"], dtype=np.int64)
    col = np.asarray(cells["col"], dtype=np.int64)
    deg = float(data["cell_deg"])
    radius = float(data["earth_radius_km"])
    lat = -90.0 + (row + 0.5) * deg
    lon = -180.0 + (col + 0.5) * deg
    lat_s = np.radians(-90.0 + row * deg)
    area = radius**2 * math.radians(deg) * (np.sin(lat_s + math.radians(deg)) - np.sin(lat_s))

    share = np.asarray(cells["population_share"], dtype=np.float64)
    pop = share / share.sum() * float(national_population)
    pop[np.argmax(pop)] += float(national_population) - pop.sum()  # absorb rounding

    row0, col0 = int(row.min()), int(col.min())
    lookup = np.full((int(row.max()) - row0 + 1, int(col.max()) - col0 + 1), -1, dtype=np.int32)
    lookup[row - row0, col - col0] = np.arange(row.size, dtype=np.int32)
    adj = _moore_csr(row, col, lookup, row0, col0)

    towns = tuple(Town(name=t["name"], lat=float(t["lat"]), lon=float(t["lon"]), population=int(t["population"]),
                       cell=int(t["cell"]), region=t["region"], source=t["source"]) for t in data["towns"])
    bases = tuple(Base(name=b["name"], kind=b["kind"], lat=float(b["lat"]), lon=float(b["lon"]), cell=int(b["cell"]),
                       region=b["region"], source=b["source"],
                       closed=dt.date.fromisoformat(b["closed"]) if b["closed"] else None) for b in data["bases"])

    arrays = {
        "gid": row * PRIO_COLS + col + 1, "row": row, "col": col, "lat": lat, "lon": lon, "area_km2": area,
        "region": np.asarray(cells["region"], dtype=np.int16),
        "population": pop,
        "climate": np.asarray(cells["climate"], dtype=np.int8),
        "river": np.asarray(cells["river"], dtype=bool),
        "border_country": np.asarray(cells["border_country"], dtype=np.int8),
        "neighbors_indptr": adj.indptr.astype(np.int32),
        "neighbors_indices": adj.indices.astype(np.int32),
        "distance_km": haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :], radius),
        "outline": np.asarray(data["outline_lonlat"], dtype=np.float64),
        "road": road_mask(lat, lon, _roads()["routes"]),
    }
    for a in arrays.values():
        a.setflags(write=False)
    sources = {**data["sources"], "roads": _roads()["source"]}
    return MaliGrid(**arrays, adjacency=adj, towns=towns, bases=bases, sources=sources,
                    national_population=float(national_population), _lookup=lookup, _row0=row0, _col0=col0)
