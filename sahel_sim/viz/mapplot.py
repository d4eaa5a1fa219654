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
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sahel_sim.geography import REGIONS, MaliGrid

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
EXTENT = (-13.0, 5.0, 9.6, 25.4)  # lon_min, lon_max, lat_min, lat_max

BASE_STYLE = {
    "minusma_camp": {"marker": "^", "color": "#1f5fbf", "size": 55, "label": "MINUSMA camp (closed 2023)"},
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
) -> Axes:
    """Draw a per-cell layer of ``grid`` on ``ax`` in lon/lat.

    ``values=None`` draws the regions. Integer values with ``categorical_labels`` (and
    optionally ``colors``, one per category) are drawn as categories with a legend; any
    other values as a continuous field with a colour bar. Region boundaries follow cell
    edges; the national outline, neighbour names, towns (top 12 plus regional capitals)
    and bases (MINUSMA camps, FAMa garrisons) are overlaid.
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
        ax.imshow(img, origin="lower", extent=extent, cmap=cm, norm=norm, interpolation="nearest", zorder=1)
        present = set(np.unique(values).astype(int).tolist())
        handles += [Patch(facecolor=cols[i], edgecolor="0.4", label=categorical_labels[i])
                    for i in range(k) if i in present]
    else:
        im = ax.imshow(img, origin="lower", extent=extent, cmap=cmap, vmin=vmin, vmax=vmax,
                       interpolation="nearest", zorder=1)
        cb = ax.figure.colorbar(im, ax=ax, shrink=0.75, pad=0.02)
        if colorbar_label:
            cb.set_label(colorbar_label)

    ax.add_collection(LineCollection(_region_edges(grid), colors="0.25", linewidths=1.6, zorder=3))
    ax.plot(grid.outline[:, 0], grid.outline[:, 1], color="black", linewidth=2.0, zorder=4)

    for name, (x, y, rot) in NEIGHBOUR_LABELS.items():
        ax.text(x, y, NEIGHBOUR_DISPLAY.get(name, name).upper(), ha="center", va="center", rotation=rot,
                fontsize=10, color="0.45", style="italic", zorder=2)

    if show_towns:
        towns = _labelled_towns(grid)
        ax.scatter([t.lon for t in towns], [t.lat for t in towns], s=14, c="black", zorder=6)
        for t in towns:
            big = t.name == "Bamako"
            ax.annotate(t.name, (t.lon, t.lat), xytext=(-8, -4) if big else (4, 3), textcoords="offset points",
                        ha="right" if big else "left", va="top" if big else "baseline", fontsize=11 if big else 9.5,
                        fontweight="bold" if big else "normal",
                        zorder=7, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})
        handles.append(Line2D([], [], marker="o", linestyle="", color="black", markersize=4, label="town"))
    if show_bases:
        for kind, st in BASE_STYLE.items():
            bs = [b for b in grid.bases if b.kind == kind]
            if not bs:
                continue
            dx = 0.12 if kind == "fama_garrison" else -0.12  # side by side where both exist
            ax.scatter([b.lon + dx for b in bs], [b.lat - 0.1 for b in bs], marker=st["marker"], s=st["size"],
                       c=st["color"], edgecolors="white", linewidths=0.6, zorder=8)
            handles.append(Line2D([], [], marker=st["marker"], linestyle="", color=st["color"],
                                  markersize=8 if kind != "minusma_hq" else 11, label=st["label"]))

    ax.set_xlim(EXTENT[0], EXTENT[1])
    ax.set_ylim(EXTENT[2], EXTENT[3])
    ax.set_aspect(1.0 / np.cos(np.radians(17.5)))  # equirectangular at Mali's mid-latitude
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_facecolor("#f7f9fb")
    ax.grid(color="white", linewidth=0.5, zorder=0)
    if title:
        ax.set_title(title, fontsize=14, fontweight="bold")
    if legend and handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
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
