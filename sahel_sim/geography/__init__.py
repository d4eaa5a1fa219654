"""The Mali grid: PRIO-GRID cells with regions, population, climate, river, borders, towns, bases.

``load_grid()`` reads the committed data file (no network); see ``grid.py`` for the API and
``scripts/build_grid.py`` for how the data were derived and from what sources.
"""

from sahel_sim.geography.grid import (
    BASE_KINDS,
    CLIMATE_ZONES,
    NATIONAL_POPULATION_2022,
    NEIGHBOUR_COUNTRIES,
    REGIONS,
    Base,
    MaliGrid,
    Town,
    gid_of,
    haversine_km,
    load_grid,
)

__all__ = [
    "BASE_KINDS",
    "CLIMATE_ZONES",
    "NATIONAL_POPULATION_2022",
    "NEIGHBOUR_COUNTRIES",
    "REGIONS",
    "Base",
    "MaliGrid",
    "Town",
    "gid_of",
    "haversine_km",
    "load_grid",
]
