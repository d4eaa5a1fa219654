"""Static maps of the Mali grid (matplotlib, no pyplot state).

``draw_grid`` draws any per-cell layer (categorical ints or continuous floats) with region
boundaries, the national outline, neighbouring countries, towns and bases on a given Axes;
``plot_map`` writes the slide-ready regions map used by ``sahel-sim map``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib import colors as mcolors
from matplotlib import transforms as mtransforms
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sahel_sim.geography import REGIONS, MaliGrid
from sahel_sim.geography.grid import Base, Town

MAP_TITLE = "sahel-sim: Mali on PRIO-GRID (0.5°)"

# One colour per region, in REGIONS order (light tones so markers and labels stay legible).
REGION_COLORS: tuple[str, ...] = (
    "#f4c28f",  # Kayes
    "#b9dca0",  # Koulikoro
    "#8fd3c1",  # Sikasso
    "#f6e58d",  # Segou
    "#f2a7a0",  # Mopti
    "#e6c98f",  # Tombouctou
    "#f7efdf",  # Taoudenit
    "#c7b8e6",  # Gao
    "#e5b3d6",  # Menaka
    "#a9c6de",  # Kidal
    "#c0392b",  # Bamako
)

# Where each neighbour's name is written (lon, lat, rotation): outside Mali's border.
NEIGHBOUR_LABELS: dict[str, tuple[float, float, float]] = {
    "Mauritania": (-9.3, 19.3, 0.0),
    "Algeria": (1.6, 23.3, 0.0),
    "Niger": (3.9, 14.2, 0.0),
    "Burkina Faso": (-1.9, 12.6, 0.0),
    "Cote d'Ivoire": (-6.9, 9.85, 0.0),
    "Guinea": (-10.2, 10.9, 0.0),
    "Senegal": (-12.55, 13.2, 90.0),
}
NEIGHBOUR_DISPLAY = {"Cote d'Ivoire": "Côte d'Ivoire"}

# Regional capitals are always labelled (the seat of Taoudenit is Taoudenni).
CAPITALS = ("Bamako", "Kayes", "Koulikoro", "Sikasso", "Ségou", "Mopti", "Timbuktu", "Gao",
            "Ménaka", "Kidal", "Taoudenni")
MAP_FACE = "#f7f9fb"
"""Colour of the map around Mali (neighbouring countries)."""
EXTENT = (-13.0, 5.0, 9.6, 25.4)  # lon_min, lon_max, lat_min, lat_max

BASE_STYLE = {
    "minusma_camp": {"marker": "^", "color": "#1f5fbf", "size": 55, "label": "MINUSMA camp"},
    "minusma_hq": {"marker": "*", "color": "#1f5fbf", "size": 150, "label": "MINUSMA HQ"},
    "fama_garrison": {"marker": "s", "color": "#1e5631", "size": 30, "label": "FAMa garrison"},
}


def _cell_image(grid: MaliGrid, values: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    r0, c0 = int(grid.row.min()), int(grid.col.min())
    img = np.full((int(grid.row.max()) - r0 + 1, int(grid.col.max()) - c0 + 1), np.nan)
    img[grid.row - r0, grid.col - c0] = values
    extent = (-180.0 + c0 * 0.5, -180.0 + (c0 + img.shape[1]) * 0.5,
              -90.0 + r0 * 0.5, -90.0 + (r0 + img.shape[0]) * 0.5)
    return np.ma.masked_invalid(img), extent


def _region_edges(grid: MaliGrid) -> list[list[tuple[float, float]]]:
    """Segments along cell edges where the region changes (east and north neighbours)."""
    key = {(int(r), int(c)): int(g) for r, c, g in zip(grid.row, grid.col, grid.region, strict=True)}
    segs = []
    for (r, c), g in key.items():
        lon0, lat0 = -180.0 + c * 0.5, -90.0 + r * 0.5
        east = key.get((r, c + 1))
        if east is not None and east != g:
            segs.append([(lon0 + 0.5, lat0), (lon0 + 0.5, lat0 + 0.5)])
        north = key.get((r + 1, c))
        if north is not None and north != g:
            segs.append([(lon0, lat0 + 0.5), (lon0 + 0.5, lat0 + 0.5)])
    return segs


def _labelled_towns(grid: MaliGrid, extra: int = 8, min_sep_deg: float = 0.7):
    """Regional capitals plus the ``extra`` most populous other towns that are at least
    ``min_sep_deg`` from every town already chosen (so Bamako's suburbs are not labelled)."""
    chosen = [t for t in grid.towns if t.name in CAPITALS]
    n_extra = 0
    for t in grid.towns:
        if n_extra >= extra:
            break
        if t.name not in CAPITALS and all(np.hypot(t.lon - c.lon, t.lat - c.lat) >= min_sep_deg for c in chosen):
            chosen.append(t)
            n_extra += 1
    return chosen


# Candidate label positions around a town, in order of preference (cartographic convention:
# upper right first): offset in points from the town and the text's alignment there.
_RING: tuple[tuple[float, float, str, str], ...] = (
    (4, 3, "left", "bottom"), (4, -3, "left", "top"), (-4, 3, "right", "bottom"), (-4, -3, "right", "top"),
    (0, 5, "center", "bottom"), (0, -5, "center", "top"), (6, 0, "left", "center"), (-6, 0, "right", "center"),
)
# a second ring further out, for crowded places (Bamako among its camps and garrisons)
LABEL_CANDIDATES: tuple[tuple[float, float, str, str], ...] = _RING + tuple(
    (2.5 * dx, 2.5 * dy, ha, va) for dx, dy, ha, va in _RING)
TOWN_MARKER_PT = 2.0
"""Half-size of a town's dot in points (labels keep clear of every other town's dot)."""


class TownLabels(Artist):
    """Town names placed at draw time so that no two labels overlap, nor a label and a dot.

    Greedy placement in priority order (Bamako, the regional capitals, then the other towns by
    population): each label takes the first of :data:`LABEL_CANDIDATES` whose box (with its
    white backing) lies inside the axes and clear of every label already placed and of every
    other town's dot; a label with no free position is left out. Placement runs at each draw
    with the final transforms, so it holds at any figure size, dpi or layout. ``placed`` holds
    the last placement as ``(name, Bbox in display pixels)`` for tests.
    """

    def __init__(self, towns: Sequence[Town], *, fontsize: float = 9.5, capital_fontsize: float = 11.0,
                 zorder: float = 7, avoid: Sequence[tuple[float, float, float]] = ()) -> None:
        super().__init__()
        self.towns = list(towns)
        self.avoid = list(avoid)  # (lon, lat, half-size in points): other markers labels keep clear of
        self.fontsize = fontsize
        self.capital_fontsize = capital_fontsize
        self.set_zorder(zorder)
        self.placed: list[tuple[str, mtransforms.Bbox]] = []
        self.dropped: list[str] = []
        self._texts: list = []

    def _make_text(self, town: Town, candidate: tuple[float, float, str, str]):
        from matplotlib.text import Text

        big = town.name == "Bamako"
        dx, dy, ha, va = candidate
        ax = self.axes
        offset = mtransforms.offset_copy(ax.transData, fig=ax.figure, x=dx, y=dy, units="points")
        size = self.capital_fontsize if big else self.fontsize
        t = Text(town.lon, town.lat, town.name, ha=ha, va=va, fontsize=size,
                 fontweight="bold" if big else "normal", transform=offset, zorder=self.get_zorder(),
                 bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75})
        t.set_figure(ax.figure)
        t.set_clip_on(False)
        return t

    def place(self, renderer) -> None:
        ax = self.axes
        scale = ax.figure.dpi / 72.0
        pts = ax.transData.transform(np.array([[t.lon, t.lat] for t in self.towns]).reshape(-1, 2))
        r = TOWN_MARKER_PT * scale
        dots = [mtransforms.Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in pts]
        others = []
        for lon, lat, half in self.avoid:
            x, y = ax.transData.transform((lon, lat))
            rr = half * scale
            others.append(mtransforms.Bbox.from_extents(x - rr, y - rr, x + rr, y + rr))
        frame = ax.get_window_extent(renderer)
        placed: list[tuple[str, mtransforms.Bbox]] = []
        texts, dropped = [], []
        for k, town in enumerate(self.towns):
            pad = 0.2 * (self.capital_fontsize if town.name == "Bamako" else self.fontsize) * scale
            for cand in LABEL_CANDIDATES:
                t = self._make_text(town, cand)
                box = t.get_window_extent(renderer).expanded(1.0, 1.0)
                box = mtransforms.Bbox.from_extents(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)
                inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
                if not inside or any(box.overlaps(b) for _, b in placed) or any(
                        box.overlaps(d) for j, d in enumerate(dots) if j != k) or any(box.overlaps(o) for o in others):
                    continue
                placed.append((town.name, box))
                texts.append(t)
                break
            else:
                dropped.append(town.name)
        self.placed, self.dropped, self._texts = placed, dropped, texts

    def draw(self, renderer) -> None:
        if not self.get_visible():
            return
        self.place(renderer)
        for t in self._texts:
            t.draw(renderer)
        self.stale = False


def town_priority(towns: Sequence[Town]) -> list[Town]:
    """Bamako, then the regional capitals, then the other towns, each group by population."""
    return sorted(towns, key=lambda t: (t.name != "Bamako", t.name not in CAPITALS, -t.population))


def base_marker_xy(bases: Sequence[Base]) -> tuple[list[float], list[float]]:
    """Where base markers are drawn (lon, lat): camps left and garrisons right of the site,
    so that both show where a town has both."""
    dx = [0.12 if b.kind == "fama_garrison" else -0.12 for b in bases]
    return [b.lon + d for b, d in zip(bases, dx, strict=True)], [b.lat - 0.1 for b in bases]


def draw_grid(
    ax: Axes,
    grid: MaliGrid,
    values: np.ndarray | Sequence[float] | None = None,
    *,
    cmap: str | mcolors.Colormap = "viridis",
    categorical_labels: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    title: str | None = None,
    show_towns: bool = True,
    show_bases: bool = True,
    legend: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar_label: str | None = None,
    bases: Sequence[Base] | None = None,
    draw_cells: bool = True,
    legend_kinds: Sequence[str] | None = None,
    all_categories: bool = False,
    label_clear_of: Sequence[Base] | None = None,
    text_scale: float = 1.0,
) -> Axes:
    """Draw a per-cell layer of ``grid`` on ``ax`` in lon/lat.

    ``values=None`` draws the regions. Integer values with ``categorical_labels`` (and
    optionally ``colors``, one per category) are drawn as categories with a legend; any
    other values as a continuous field with a colour bar. Region boundaries follow cell
    edges; the national outline, neighbour names, towns (regional capitals plus the largest
    others, labels placed so that none overlap: :class:`TownLabels`) and bases (MINUSMA camps,
    FAMa garrisons) are overlaid.

    ``bases`` lists the bases to draw (default: every base of the grid; the app passes those
    open in the running model). ``draw_cells=False`` draws everything but the cells (the app
    paints the cells itself under this overlay); ``legend_kinds`` names the base kinds listed in
    the legend even when none is drawn; ``all_categories`` lists every category in the legend,
    not only those present; town labels keep clear of the markers of ``label_clear_of``
    (default: the bases drawn). ``text_scale`` enlarges every text (the app's small images).
    """
    if values is None:
        values, categorical_labels, colors = grid.region, REGIONS, colors or REGION_COLORS
    values = np.asarray(values)
    if values.shape != (grid.n_cells,):
        raise ValueError(f"values must have shape ({grid.n_cells},), got {values.shape}")
    categorical = categorical_labels is not None
    handles: list = []
    img, extent = _cell_image(grid, values.astype(float))
    if categorical:
        k = len(categorical_labels)
        if colors is None:
            colors = [mcolors.to_hex(c) for c in colormaps["tab20"](np.arange(k) % 20)]
        cols = list(colors)
        if len(cols) < k:
            raise ValueError(f"need {k} colors for {k} categories, got {len(cols)}")
        cm = mcolors.ListedColormap(cols[:k])
        norm = mcolors.BoundaryNorm(np.arange(-0.5, k + 0.5), k)
        if draw_cells:
            ax.imshow(img, origin="lower", extent=extent, cmap=cm, norm=norm, interpolation="nearest", zorder=1)
        present = set(range(k)) if all_categories else set(np.unique(values).astype(int).tolist())
        handles += [Patch(facecolor=cols[i], edgecolor="0.4", label=categorical_labels[i])
                    for i in range(k) if i in present]
    else:
        im = ax.imshow(img, origin="lower", extent=extent, cmap=cmap, vmin=vmin, vmax=vmax,
                       interpolation="nearest", zorder=1)
        im.set_visible(draw_cells)
        cb = ax.figure.colorbar(im, ax=ax, shrink=0.75, pad=0.02)
        if colorbar_label:
            cb.set_label(colorbar_label)

    ax.add_collection(LineCollection(_region_edges(grid), colors="0.25", linewidths=1.6, zorder=3))
    ax.plot(grid.outline[:, 0], grid.outline[:, 1], color="black", linewidth=2.0, zorder=4)

    for name, (x, y, rot) in NEIGHBOUR_LABELS.items():
        ax.text(x, y, NEIGHBOUR_DISPLAY.get(name, name).upper(), ha="center", va="center", rotation=rot,
                fontsize=10 * text_scale, color="0.45", style="italic", zorder=2)

    if show_towns:
        towns = town_priority(_labelled_towns(grid))
        ax.scatter([t.lon for t in towns], [t.lat for t in towns], s=14, c="black",
                   zorder=6)
        avoid = []
        clear_of = label_clear_of if label_clear_of is not None else (
            (grid.bases if bases is None else bases) if show_bases else ())
        if clear_of:
            for b in clear_of:
                x, y = base_marker_xy([b])
                avoid.append((x[0], y[0], 3.5 if b.kind != "minusma_hq" else 5.0))
        ax.add_artist(TownLabels(towns, avoid=avoid, fontsize=9.5 * text_scale, capital_fontsize=11 * text_scale))
        handles.append(Line2D([], [], marker="o", linestyle="", color="black", markersize=4, label="town"))
    if show_bases:
        shown = list(grid.bases if bases is None else bases)
        for kind, st in BASE_STYLE.items():
            bs = [b for b in shown if b.kind == kind]
            if bs:
                x, y = base_marker_xy(bs)
                ax.scatter(x, y, marker=st["marker"], s=st["size"], c=st["color"], edgecolors="white",
                           linewidths=0.6, zorder=8)
            elif legend_kinds is None or kind not in legend_kinds:
                continue
            handles.append(Line2D([], [], marker=st["marker"], linestyle="", color=st["color"],
                                  markersize=8 if kind != "minusma_hq" else 11, label=st["label"]))

    ax.set_xlim(EXTENT[0], EXTENT[1])
    ax.set_ylim(EXTENT[2], EXTENT[3])
    ax.set_aspect(1.0 / np.cos(np.radians(17.5)))  # equirectangular at Mali's mid-latitude
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_facecolor(MAP_FACE)
    ax.grid(color="white", linewidth=0.5, zorder=0)
    if title:
        ax.set_title(title, fontsize=14, fontweight="bold")
    if legend and handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9 * text_scale, frameon=False)
    if text_scale != 1.0:
        ax.tick_params(labelsize=9 * text_scale)
        ax.xaxis.label.set_size(10 * text_scale)
        ax.yaxis.label.set_size(10 * text_scale)
    return ax


def plot_map(grid: MaliGrid, path: str | Path, **kw) -> Path:
    """Write the regions map (10 x 8 in, 150 dpi PNG) to ``path``; keywords go to draw_grid."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(10, 8), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    kw.setdefault("title", MAP_TITLE)
    draw_grid(ax, grid, **kw)
    path = Path(path)
    # "tight" keeps the axis labels: the fixed aspect shrinks the axes after constrained layout
    fig.savefig(path, dpi=150, bbox_inches="tight", pad_inches=0.15)
    return path
