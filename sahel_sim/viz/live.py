"""Fast frames for the classroom app: the map and the charts of a running model as PNG bytes.

Redrawing whole matplotlib figures every week costs hundreds of milliseconds (text layout,
ticks, legends, PNG encoding of a large figure). The app instead draws what does not change
once and updates only what does:

- :class:`MapRenderer`: matplotlib draws, once per layer, the background and a transparent
  overlay (region borders, outline, neighbours, towns and their labels, legend or colour bar)
  at the app's pixel size, and records which grid cell each pixel shows and where each base's
  marker goes. A week's map is then numpy: cell colours painted into the pixels, the overlay
  composited on top, the markers of the bases open that week pasted on, PNG-encoded by Pillow.
- :class:`LiveCharts`: a matplotlib figure whose axes, ticks, legends and titles are drawn
  once into a cached background (blitting); each week only the data artists are redrawn on it.
  The background is redrawn when a chart's scale must grow (a few times per run, each time
  with headroom) or its legend changes (a new actor acts).

Colours and layers are those of :mod:`sahel_sim.viz.figures`, so the app, the static figures
and the animations agree.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from sahel_sim.viz import figures as F

IMAGE_FORMAT = "jpeg"
"""The app's images are JPEG: encoded in ~3 ms where PNG takes ~20 ms at these sizes."""
JPEG_QUALITY = 92
"""High quality, no chroma subsampling: flat map colours and thin text stay clean."""


def image_bytes(rgb: np.ndarray) -> bytes:
    """The app's encoding of an (h, w, 3) uint8 image (:data:`IMAGE_FORMAT`)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    return buf.getvalue()


def png_bytes(rgb: np.ndarray) -> bytes:
    """PNG encoding of an (h, w, 3) uint8 image (exact colours: tests, screenshots)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _agg(size_px: tuple[int, int], dpi: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size_px[0] / dpi, size_px[1] / dpi), dpi=dpi)
    return fig, FigureCanvasAgg(fig)


# ============================================================================ map
def visible_bases(model: Any) -> list:
    """The grid's bases that exist in the running model this week.

    A base belongs to the force whose ``bases`` kind it has (a MINUSMA HQ to the force holding
    MINUSMA camps). It is drawn while that force has fighters and holds it open: no camps before
    MINUSMA deploys, none after its withdrawal closed them, all of them while it stays.
    """
    owners = {f.spec.bases: f for f in model.forces.values() if f.spec.bases}
    shown = []
    for b in model.grid.bases:
        kind = b.kind if b.kind in owners else ("minusma_camp" if b.kind == "minusma_hq" else b.kind)
        force = owners.get(kind)
        if force is None or force.strength <= 0:
            continue
        if b.name in force.base_names and b.kind == force.spec.bases:
            if not force.base_open[force.base_names.index(b.name)]:
                continue
        elif b.closed is not None and force.closing_bases and b.closed < model.current_date + dt.timedelta(days=7):
            continue  # the HQ closes with the withdrawal that closes the camps, on its own date
        shown.append(b)
    return shown


@dataclass
class _MapLayout:
    background: np.ndarray           # (h, w, 3) uint8
    cell_of_pixel: np.ndarray        # (n_pix,) cell index of each map pixel
    pixel_index: np.ndarray          # (n_pix,) flat index of those pixels
    overlay_index: np.ndarray        # flat indices of pixels the overlay covers
    overlay_rgb: np.ndarray          # (k, 3) float32, premultiplied by alpha
    overlay_keep: np.ndarray         # (k, 1) float32, 1 - alpha
    sprites: dict[str, tuple[np.ndarray, np.ndarray, int, int]] = field(default_factory=dict)
    base_px: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)


MAP_SIZE_PX = (790, 600)
"""The live map's size in pixels (the browser scales it to the space it has)."""
CHARTS_SIZE_PX = (700, 600)
"""The live charts' size in pixels (2 x 2)."""
COMPARE_CHARTS_SIZE_PX = (1500, 340)
"""The side-by-side page's charts (one row of four, under the two maps)."""


MAP_TEXT_SCALE = 1.15
"""Text on the live map is this much larger than on static maps (it is shown smaller)."""


class MapRenderer:
    """One layer of the live map at a fixed pixel size; :meth:`render` returns an RGB frame.

    The static parts are drawn once per ``(layer, factions, size)`` in this process and shared
    by every session (they depend only on the Mali grid and the scenario's factions).
    """

    def __init__(self, grid: Any, factions: Sequence[str], layer: str = "control", *,
                 size_px: tuple[int, int] = MAP_SIZE_PX, dpi: float = 100.0,
                 vmax: float | None = None) -> None:
        self.grid, self.factions, self.layer = grid, tuple(factions), layer
        self.size_px, self.dpi = size_px, dpi
        spec = F.LAYERS[layer]
        self.vmax = vmax if vmax is not None else (spec.vmax if spec.vmax is not None else F.LIVE_VMAX.get(layer))
        self._layout = _layout(grid, self.factions, layer, size_px, dpi, self.vmax)
        if spec.categorical:
            from matplotlib import colors as mcolors

            cols = [F.actor_color(f, i) for i, f in enumerate(self.factions)] + [F.NO_CONTROL_COLOR]
            self._palette = (np.array([mcolors.to_rgb(c) for c in cols]) * 255).round().astype(np.uint8)
        else:
            from matplotlib import colormaps

            self._cmap = colormaps[spec.cmap]

    def cell_rgb(self, values: np.ndarray) -> np.ndarray:
        """(n_cells, 3) uint8 colours of the cells for ``values`` (as the static maps colour them)."""
        if F.LAYERS[self.layer].categorical:
            codes = np.asarray(values, dtype=np.int64)
            return self._palette[np.where(codes < 0, len(self.factions), codes)]
        top = self.vmax if self.vmax else max(float(np.max(values)), 1e-9)
        scaled = np.clip(np.asarray(values, dtype=np.float64) / top, 0.0, 1.0)
        return (self._cmap(scaled)[:, :3] * 255).round().astype(np.uint8)

    def render(self, values: np.ndarray, bases: Sequence[Any] = ()) -> np.ndarray:
        """The map for per-cell ``values`` with the markers of ``bases``: (h, w, 3) uint8."""
        L = self._layout
        frame = L.background.copy()
        flat = frame.reshape(-1, 3)
        flat[L.pixel_index] = self.cell_rgb(values)[L.cell_of_pixel]
        under = flat[L.overlay_index].astype(np.float32)
        flat[L.overlay_index] = (under * L.overlay_keep + L.overlay_rgb + 0.5).astype(np.uint8)
        for b in bases:
            spr = L.sprites.get(b.kind)
            pos = L.base_px.get((b.kind, b.name))
            if spr is None or pos is None:
                continue
            rgb, keep, cy, cx = spr
            y0, x0 = pos[0] - cy, pos[1] - cx
            h, w = keep.shape[:2]
            if y0 < 0 or x0 < 0 or y0 + h > frame.shape[0] or x0 + w > frame.shape[1]:
                continue
            win = frame[y0:y0 + h, x0:x0 + w].astype(np.float32)
            frame[y0:y0 + h, x0:x0 + w] = (win * keep + rgb + 0.5).astype(np.uint8)
        return frame

    def image(self, values: np.ndarray, bases: Sequence[Any] = ()) -> bytes:
        return image_bytes(self.render(values, bases))


def map_axes_rect(layer: str) -> tuple[float, float, float, float]:
    """The map's axes in figure fractions (legend or colour bar on the right)."""
    return (0.08, 0.075, 0.64, 0.87) if F.LAYERS[layer].categorical else (0.08, 0.075, 0.74, 0.87)


@cache
def _layout(grid: Any, factions: tuple[str, ...], layer: str, size_px: tuple[int, int], dpi: float,
            vmax: float | None) -> _MapLayout:
    from matplotlib import colors as mcolors

    from sahel_sim.viz.mapplot import BASE_STYLE, MAP_FACE, base_marker_xy

    spec = F.LAYERS[layer]
    w, h = size_px
    dummy = np.zeros(grid.n_cells)
    rect = map_axes_rect(layer)

    def new_axes(transparent: bool):
        fig, canvas = _agg(size_px, dpi)
        if transparent:
            fig.patch.set_alpha(0.0)
        ax = fig.add_axes(rect)
        return fig, canvas, ax

    def draw(ax, *, towns: bool) -> None:
        F.draw_layer(ax, grid, layer, dummy, factions=factions, vmax=vmax, legend=True, legend_below=False,
                     show_towns=towns, show_bases=True, draw_cells=False, bases=[], label_clear_of=grid.bases,
                     legend_kinds=tuple(BASE_STYLE), all_categories=True, text_scale=MAP_TEXT_SCALE)
        ax.set_title(spec.label, fontsize=14, fontweight="bold", loc="left")

    # 1. the overlay: everything but the cells and the background, on transparent canvas
    _fig, canvas, ax = new_axes(True)
    draw(ax, towns=True)
    ax.set_facecolor((0, 0, 0, 0))
    ax.grid(False)
    canvas.draw()
    over = np.asarray(canvas.buffer_rgba()).astype(np.float32) / 255.0
    alpha = over[..., 3:4]
    over_flat = over.reshape(-1, 4)
    overlay_index = np.flatnonzero(over_flat[:, 3] > 0)
    a = over_flat[overlay_index, 3:4]
    overlay_rgb = over_flat[overlay_index, :3] * a * 255.0
    overlay_keep = 1.0 - a
    del alpha

    # 2. the background: white page, the map's face colour inside the axes
    bb = ax.get_window_extent()
    background = np.full((h, w, 3), 255, dtype=np.uint8)
    face = (np.array(mcolors.to_rgb(MAP_FACE)) * 255).round().astype(np.uint8)
    background[max(0, round(h - bb.y1)):round(h - bb.y0), max(0, round(bb.x0)):round(bb.x1)] = face

    # 3. which cell each pixel of the map shows
    inv = ax.transData.inverted()
    x0, x1 = max(0, math.floor(bb.x0)), min(w, math.ceil(bb.x1))
    y0, y1 = max(0, math.floor(bb.y0)), min(h, math.ceil(bb.y1))
    xs, ys = np.meshgrid(np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5)
    lonlat = inv.transform(np.column_stack([xs.ravel(), ys.ravel()]))
    col = np.floor((lonlat[:, 0] + 180.0) / 0.5).astype(np.int64)
    row = np.floor((lonlat[:, 1] + 90.0) / 0.5).astype(np.int64)
    lookup = {(int(r), int(c)): i for i, (r, c) in enumerate(zip(grid.row, grid.col, strict=True))}
    r0, c0 = int(grid.row.min()), int(grid.col.min())
    table = np.full((int(grid.row.max()) - r0 + 1, int(grid.col.max()) - c0 + 1), -1, dtype=np.int64)
    for (r, c), i in lookup.items():
        table[r - r0, c - c0] = i
    ok = (row >= r0) & (row < r0 + table.shape[0]) & (col >= c0) & (col < c0 + table.shape[1])
    cell = np.full(row.shape, -1, dtype=np.int64)
    cell[ok] = table[row[ok] - r0, col[ok] - c0]
    inside = cell >= 0
    # display y grows upward; image rows grow downward
    img_rows = (h - 1 - (ys.ravel() - 0.5)).astype(np.int64)
    img_cols = (xs.ravel() - 0.5).astype(np.int64)
    pixel_index = img_rows[inside] * w + img_cols[inside]
    cell_of_pixel = cell[inside]

    # 4. a sprite per base kind, and where each base's marker is centred
    sprites, base_px = {}, {}
    for kind, st in BASE_STYLE.items():
        bs = [b for b in grid.bases if b.kind == kind]
        if not bs:
            continue
        fig3, canvas3 = _agg((64, 64), dpi)
        fig3.patch.set_alpha(0.0)
        ax3 = fig3.add_axes((0, 0, 1, 1))
        ax3.set_axis_off()
        ax3.set_xlim(0, 1)
        ax3.set_ylim(0, 1)
        ax3.scatter([0.5], [0.5], marker=st["marker"], s=st["size"], c=st["color"], edgecolors="white",
                    linewidths=0.6)
        canvas3.draw()
        rgba = np.asarray(canvas3.buffer_rgba()).astype(np.float32) / 255.0
        ys_, xs_ = np.nonzero(rgba[..., 3] > 0)
        top, left = ys_.min(), xs_.min()
        crop = rgba[top:ys_.max() + 1, left:xs_.max() + 1]
        sa = crop[..., 3:4]
        sprites[kind] = (crop[..., :3] * sa * 255.0, 1.0 - sa, 32 - top, 32 - left)
        mx, my = base_marker_xy(bs)
        disp = ax.transData.transform(np.column_stack([mx, my]))
        for b, (dx_, dy_) in zip(bs, disp, strict=True):
            base_px[(kind, b.name)] = (round(h - dy_), round(dx_))
    # 5. crop to what is drawn (the fixed aspect ratio leaves empty margins): a larger map on screen
    used = np.zeros(h * w, dtype=bool)
    used[overlay_index] = True
    used[pixel_index] = True
    used = used.reshape(h, w)
    rows_used, cols_used = np.flatnonzero(used.any(axis=1)), np.flatnonzero(used.any(axis=0))
    m = 6
    top, bottom = max(0, rows_used[0] - m), min(h, rows_used[-1] + 1 + m)
    left, right = max(0, cols_used[0] - m), min(w, cols_used[-1] + 1 + m)
    nw = right - left

    def crop_index(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r, c = np.divmod(flat, w)
        keep = (r >= top) & (r < bottom) & (c >= left) & (c < right)
        return (r[keep] - top) * nw + (c[keep] - left), keep

    pixel_index, keep = crop_index(pixel_index)
    cell_of_pixel = cell_of_pixel[keep]
    overlay_index, keep = crop_index(overlay_index)
    base_px = {k: (r - top, c - left) for k, (r, c) in base_px.items()}
    return _MapLayout(background=background[top:bottom, left:right].copy(), cell_of_pixel=cell_of_pixel,
                      pixel_index=pixel_index, overlay_index=overlay_index,
                      overlay_rgb=overlay_rgb[keep].astype(np.float32),
                      overlay_keep=overlay_keep[keep].astype(np.float32), sprites=sprites, base_px=base_px)


# ============================================================================ charts
@dataclass
class Series:
    """One data artist of a chart: ``kind`` is ``line``, ``stairs`` (monthly bars),
    ``stack`` (stacked area, stacked in the order given) or ``diff`` (a signed area)."""

    label: str | None
    color: str
    y: np.ndarray
    kind: str = "line"
    lw: float = 1.6


@dataclass
class Panel:
    title: str
    ylabel: str
    x: np.ndarray                     # matplotlib date numbers, one per value
    series: list[Series]
    signed: bool = False              # holds differences: a line marks zero
    edges: np.ndarray | None = None   # for ``stairs``: len(x) + 1 bin edges
    legend_cols: int = 3
    top: float | None = None          # a fixed top of the scale (e.g. all of Mali's cells)


GROWTH = 1.5
"""When data outgrow a chart, its new scale leaves this factor of room (fewer redraws)."""


def nice_ceiling(value: float) -> float:
    """The next value of the 1-2-2.5-5 x 10^k ladder at or above ``value`` (at least 1)."""
    if not np.isfinite(value) or value <= 1:
        return 1.0
    k = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * k >= value:
            return m * k
    return 10 * k


def year_ticks(start: dt.date, end: dt.date, max_labels: int = 6) -> list[dt.date]:
    """1 January of every year in the window, or of every 2nd, 3rd... year so that at most
    ``max_labels`` labels share an axis (year labels never run together)."""
    first = start.year + (start > dt.date(start.year, 1, 1))
    years = list(range(first, end.year + 1))
    step = max(1, math.ceil(len(years) / max_labels))
    return [dt.date(y, 1, 1) for y in years[::step]]


class LiveCharts:
    """Four (or any number of) date charts drawn by blitting; :meth:`render` returns RGB.

    ``headroom`` is the share of each chart kept free above the data for its legend. A chart's
    scale only grows (to the next 1-2-2.5-5 step above the data plus headroom), so the axes of
    a playing run stay still and the cached background is reused week after week.
    """

    def __init__(self, start: dt.date, end: dt.date, *, n_panels: int = 4, size_px: tuple[int, int] = CHARTS_SIZE_PX,
                 dpi: float = 100.0, headroom: float = 0.3, layout: tuple[int, int] = (2, 2)) -> None:
        self.start, self.end = start, end
        self.size_px, self.dpi, self.headroom = size_px, dpi, headroom
        self.fig, self.canvas = _agg(size_px, dpi)
        if layout[0] == 1:  # one row
            self.fig.subplots_adjust(left=0.05, right=0.99, top=0.9, bottom=0.1, wspace=0.3)
        else:
            self.fig.subplots_adjust(left=0.11, right=0.98, top=0.94, bottom=0.06, hspace=0.36, wspace=0.34)
        self.axes = list(np.atleast_1d(self.fig.subplots(*layout)).ravel())[:n_panels]
        self._key: tuple | None = None
        self._cells = self._slots(layout)
        self._legend_keys: dict[int, tuple] = {}
        self._drawn_limits: dict[int, tuple[float, float]] = {}
        self._tops: list[float] = [1.0] * len(self.axes)
        self._bottoms: list[float] = [0.0] * len(self.axes)
        self._background = None
        self._arts: dict[int, tuple[tuple, list[list]]] = {}
        self.full_redraws = 0

    def _slots(self, layout: tuple[int, int]) -> list[tuple[int, int, int, int]]:
        """Each chart's cell of the figure in pixels (x0, y0, x1, y1; y up): the figure cut
        midway between neighbouring axes, so a chart with its labels stays inside its cell."""
        w, h = self.size_px
        pos = [ax.get_position() for ax in self.axes]
        xs = sorted({round(p.x0, 4) for p in pos})
        ys = sorted({round(p.y0, 4) for p in pos})
        out = []
        for p in pos:
            ci, ri = xs.index(round(p.x0, 4)), ys.index(round(p.y0, 4))
            # a chart's left neighbour draws nothing right of its axes: the gap (tick labels,
            # y label) belongs to this chart
            left = 0.0 if ci == 0 else max(q.x1 for q in pos if round(q.x0, 4) == xs[ci - 1]) + 0.005
            right = 1.0 if ci == len(xs) - 1 else p.x1 + 0.005
            bottom = 0.0 if ri == 0 else (max(q.y1 for q in pos if round(q.y0, 4) == ys[ri - 1]) + p.y0) / 2 - 0.02
            top = 1.0 if ri == len(ys) - 1 else (min(q.y0 for q in pos if round(q.y0, 4) == ys[ri + 1]) + p.y1) / 2 - 0.02
            out.append((round(left * w), round(bottom * h), round(right * w), round(top * h)))
        return out

    # ------------------------------------------------------------------ frame
    def _frame_key(self, panels: Sequence[Panel]) -> tuple:
        return tuple((p.title, tuple((s.label, s.color, s.kind) for s in p.series)) for p in panels)

    def _needed(self, p: Panel) -> tuple[float, float]:
        """Top (with the legend's headroom) and bottom (0, or below the lowest value) the data need."""
        stacked = [s.y for s in p.series if s.kind == "stack" and len(s.y)]
        peak = float(np.max(np.sum(stacked, axis=0))) if stacked else 0.0
        others = [s.y for s in p.series if s.kind != "stack" and len(s.y)]
        peak = max([peak] + [float(np.max(y)) for y in others])
        low = min([0.0] + [float(np.min(y)) for y in others])
        return peak / (1.0 - self.headroom), low

    def _legend(self, ax: Any, p: Panel) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles = []
        for s in p.series:
            if s.label is None:
                continue
            if s.kind in ("stack", "stairs", "diff"):
                handles.append(Patch(facecolor=s.color, label=s.label, alpha=0.85))
            else:
                handles.append(Line2D([], [], color=s.color, lw=s.lw, label=s.label))
        old = ax.get_legend()
        if old is not None:
            old.remove()
        if handles:
            ax.legend(handles=handles, fontsize=8, frameon=False, ncol=p.legend_cols, loc="upper left",
                      columnspacing=0.6, handlelength=1.0, handletextpad=0.3, borderaxespad=0.2)

    def _draw_frame(self, panels: Sequence[Panel], changed: Sequence[int] | None = None) -> None:
        """Draw the charts' background: every panel the first time, else only the ``changed``
        panels' scale and legend are updated before the figure is drawn again."""
        import matplotlib.dates as mdates
        from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator

        first = self._background is None
        years = year_ticks(self.start, self.end)
        year_ticks_x = mdates.date2num(years)
        year_labels = [f"{d:%Y}" for d in years]
        for i, (ax, p) in enumerate(zip(self.axes, panels, strict=False)):
            if first:
                ax.set_title(p.title, fontsize=11.5, loc="left")
                ax.set_ylabel(p.ylabel, fontsize=10)
                ax.yaxis.set_label_coords(-0.2, 0.5)  # fixed: wider tick labels never move it
                ax.set_xlim(mdates.date2num(self.start), mdates.date2num(self.end))
                ax.xaxis.set_major_locator(FixedLocator(year_ticks_x))  # computed once, not at every draw
                ax.xaxis.set_major_formatter(FixedFormatter(year_labels))
                ax.yaxis.set_major_locator(MaxNLocator(nbins=5))  # the same few ticks: reused on a new scale
                ax.tick_params(labelsize=9.5)
                ax.grid(True, alpha=0.3)
                ax.spines[["top", "right"]].set_visible(False)
                if p.signed:
                    ax.axhline(0, color="0.3", lw=0.8)
            if first or (changed is not None and i in changed):
                ax.set_ylim(self._bottoms[i], self._tops[i])
                self._drawn_limits[i] = (self._bottoms[i], self._tops[i])
                legend_key = tuple((s.label, s.color, s.kind) for s in p.series if s.label is not None)
                if self._legend_keys.get(i) != legend_key:  # a new actor: a new legend
                    self._legend(ax, p)
                    self._legend_keys[i] = legend_key
        if first or changed is None:
            self.canvas.draw()
        else:
            # only the changed charts: blank their cells of the figure and draw those axes again
            self.canvas.restore_region(self._background)
            buf = np.asarray(self.canvas.buffer_rgba())
            h = buf.shape[0]
            for i in changed:
                x0, y0, x1, y1 = self._cells[i]
                buf[h - y1:h - y0, x0:x1] = 255
                self.fig.draw_artist(self.axes[i])
        self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.full_redraws += 1

    def fit(self, ahead: Sequence[Panel]) -> None:
        """Grow the scales to hold ``ahead`` (the same run some weeks on): the background is
        then redrawn once now, not week after week as the first data arrive."""
        for i, p in enumerate(ahead):
            top, low = self._needed(p)
            if p.top is None and top > self._tops[i]:
                self._tops[i] = nice_ceiling(top * GROWTH)
            if low < self._bottoms[i]:
                self._bottoms[i] = -nice_ceiling(-low * GROWTH)

    # ------------------------------------------------------------------ frame per week
    def render(self, panels: Sequence[Panel]) -> np.ndarray:
        changed = []
        old_key = self._key or ()
        for i, p in enumerate(panels):
            top, low = self._needed(p)
            grew = False
            if p.top is not None:
                if self._tops[i] != p.top:
                    self._tops[i] = p.top
                    grew = True
            elif top > self._tops[i]:
                self._tops[i] = nice_ceiling(top * GROWTH)
                grew = True
            if low < self._bottoms[i]:
                self._bottoms[i] = -nice_ceiling(-low * GROWTH)
                grew = True
            drawn = self._drawn_limits.get(i)
            if grew or drawn != (self._bottoms[i], self._tops[i]) or i >= len(old_key) \
                    or old_key[i] != self._frame_key([p])[0]:
                changed.append(i)
        self._key = self._frame_key(panels)
        if changed or self._background is None:
            self._draw_frame(panels, changed)
        else:
            self.canvas.restore_region(self._background)
        for i, (ax, p) in enumerate(zip(self.axes, panels, strict=False)):
            kinds = tuple((s.kind, s.color) for s in p.series)
            if self._arts.get(i, (None,))[0] != kinds:  # new series (an actor's first event): new artists
                for arts in self._arts.get(i, (None, []))[1]:
                    for a in arts:
                        a.remove()
                self._arts[i] = (kinds, [self._new_artists(ax, s) for s in p.series])
            base = np.zeros(len(p.x))
            for s, arts in zip(p.series, self._arts[i][1], strict=True):
                base = _update(arts, p, s, base)
                for art in arts:
                    ax.draw_artist(art)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    @staticmethod
    def _new_artists(ax: Any, s: Series) -> list:
        from matplotlib.collections import PolyCollection

        if s.kind == "line":
            (art,) = ax.plot([], [], color=s.color, lw=s.lw)
            arts = [art]
        elif s.kind == "stairs":
            arts = [ax.stairs([0.0], [0.0, 1.0], fill=True, color=s.color, alpha=0.85)]
        elif s.kind == "stack":
            arts = [ax.add_collection(PolyCollection([], facecolors=s.color, alpha=0.9, linewidths=0),
                                      autolim=False)]
        else:  # diff: above zero in the series' colour, below in blue
            arts = [ax.stairs([0.0], [0.0, 1.0], fill=True, color=s.color, alpha=0.75, baseline=0),
                    ax.stairs([0.0], [0.0, 1.0], fill=True, color="#2166ac", alpha=0.75, baseline=0)]
        for a in arts:
            a.set_animated(True)
        return arts

    def image(self, panels: Sequence[Panel]) -> bytes:
        return image_bytes(self.render(panels))


def _update(arts: list, p: Panel, s: Series, base: np.ndarray) -> np.ndarray:
    """Give a series' artists this week's data; returns the new base of a stack."""
    x, y = p.x, s.y
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    if s.kind == "line":
        arts[0].set_data(x, y)
    elif s.kind == "stairs":
        edges = p.edges[: n + 1] if p.edges is not None else _edges(x)
        if n:
            arts[0].set_data(y, edges)
        arts[0].set_visible(n > 0)
    elif s.kind == "stack":
        b = base[:n]
        top = b + y
        arts[0].set_verts([np.column_stack([np.r_[x, x[::-1]], np.r_[top, b[::-1]]])] if n else [])
        return np.r_[top, base[n:]] if n < len(base) else top
    else:
        edges = _edges(x)
        for art, part in zip(arts, (np.maximum(y, 0.0), np.minimum(y, 0.0)), strict=True):
            if n:
                art.set_data(part, edges)
            art.set_visible(n > 0)
    return base


def _edges(x: np.ndarray) -> np.ndarray:
    """Bin edges for values at ``x`` (each bin runs to the next value; the last as long as the one before)."""
    if len(x) == 0:
        return np.zeros(1)
    step = x[-1] - x[-2] if len(x) > 1 else 7.0
    return np.r_[x, x[-1] + step]


# ============================================================================ a model's series
class ModelSeries:
    """National series of a running :class:`~sahel_sim.model.SahelModel` for the live charts,
    read from its recorder's weekly arrays (no DataFrame per week)."""

    def __init__(self, model: Any) -> None:
        import matplotlib.dates as mdates

        self.model = model
        n = model.n_steps
        weeks = [model.start_date + dt.timedelta(days=7 * t) for t in range(n)]
        self.week_x = mdates.date2num(weeks)
        months = sorted({dt.date(d.year, d.month, 1) for d in weeks})
        index = {m: i for i, m in enumerate(months)}
        self.month_of_week = np.array([index[dt.date(d.year, d.month, 1)] for d in weeks], dtype=np.int64)
        nxt = months[-1].replace(year=months[-1].year + (months[-1].month == 12), month=months[-1].month % 12 + 1)
        self.month_edges = mdates.date2num([*months, nxt])
        self.month_x = self.month_edges[:-1]

    @property
    def weeks_done(self) -> int:
        return len(self.model.recorder.dates)

    def months_complete(self, t: int) -> int:
        """How many months are complete after ``t`` weeks (a month is drawn once its last week
        has run: a month in progress would look like a fall)."""
        if t == 0:
            return 0
        k = int(self.month_of_week[t - 1])
        return k + 1 if t >= len(self.month_of_week) or int(self.month_of_week[t]) != k else k

    def monthly(self, weekly: np.ndarray) -> np.ndarray:
        """Monthly sums of a weekly series over the complete months (weeks counted in the
        month they start in)."""
        t = len(weekly)
        k = self.months_complete(t)
        if k == 0:
            return np.zeros(0)
        return np.bincount(self.month_of_week[:t], weights=weekly, minlength=k)[:k]

    def actor_events(self) -> dict[str, np.ndarray]:
        """Monthly events per actor, for every actor that took part in at least one event so far."""
        rec, t = self.model.recorder, self.weeks_done
        out = {}
        for a, aid in enumerate(self.model.actor_ids):
            w = rec.actor_events[:t, a]
            if w.any():
                out[aid] = self.monthly(w.astype(np.float64))
        return out

    def civilian_deaths_weekly(self) -> np.ndarray:
        return self.model.recorder.fat_civ[: self.weeks_done].sum(axis=1).astype(np.float64)

    def events_weekly(self) -> np.ndarray:
        return self.model.recorder.events[: self.weeks_done].sum(axis=(1, 2)).astype(np.float64)

    def cells(self) -> dict[str, np.ndarray]:
        rec, t = self.model.recorder, self.weeks_done
        out = {f: rec.cells[:t, :, i].sum(axis=1).astype(np.float64) for i, f in enumerate(self.model.factions)}
        out[F.NO_CONTROL_LABEL] = rec.cells[:t, :, len(self.model.factions)].sum(axis=1).astype(np.float64)
        return out

    def displaced(self) -> tuple[np.ndarray, np.ndarray]:
        """IDPs hosted in Mali and refugees abroad, thousands."""
        rec, t = self.model.recorder, self.weeks_done
        return rec.idp_host[:t].sum(axis=1) / 1e3, rec.refugees[:t].sum(axis=1) / 1e3


def run_panels(s: ModelSeries) -> list[Panel]:
    """The app's four charts of one run: events by actor (every actor that acted), civilian
    deaths, territory, displaced people."""
    m = s.model
    t = s.weeks_done
    k = len(s.monthly(np.zeros(t)))
    acted = s.actor_events()
    # stable order: the scenario's actor order (the legend does not reshuffle as counts change)
    ev = [Series(a, F.actor_color(a, m.actor_ids.index(a)), y, lw=1.4) for a, y in acted.items()]
    cells = s.cells()
    terr = [Series(f, F.actor_color(f, i) if f != F.NO_CONTROL_LABEL else F.NO_CONTROL_COLOR, y, kind="stack")
            for i, (f, y) in enumerate(cells.items())]
    idp, ref = s.displaced()
    return [
        Panel("Events per month by actor", "events", s.month_x[:k], ev, legend_cols=3),
        Panel("Civilian deaths per month", "civilians killed", s.month_x[:k],
              [Series(None, "#b2182b", s.monthly(s.civilian_deaths_weekly()), kind="stairs")],
              edges=s.month_edges[: k + 1]),
        Panel("Territory held (cells of Mali)", "cells", s.week_x[:t], terr, legend_cols=3,
              top=m.n_cells / 0.7),
        Panel("Displaced people", "thousands", s.week_x[:t],
              [Series("inside Mali (IDPs)", "#6baed6", idp, kind="stack"),
               Series("abroad (refugees)", "#08519c", ref, kind="stack")], legend_cols=1),
    ]


COMPARE_COLORS = ("#252525", "#d95f02")
"""Line colours of scenario A and scenario B on the side-by-side page."""


def compare_panels(a: ModelSeries, b: ModelSeries, labels: tuple[str, str]) -> list[Panel]:
    """The side-by-side page's charts: each quantity in both runs (lines) and B - A (shaded),
    over the weeks both have run."""
    t = min(a.weeks_done, b.weeks_done)
    k = len(a.monthly(np.zeros(t)))

    def pair(title: str, ylabel: str, ya: np.ndarray, yb: np.ndarray, x: np.ndarray) -> Panel:
        d = yb - ya
        return Panel(title, ylabel, x, [Series(labels[0], COMPARE_COLORS[0], ya, lw=1.3),
                                         Series(labels[1], COMPARE_COLORS[1], yb, lw=1.3),
                                         Series("B - A", "#b2182b", d, kind="diff")], signed=True, legend_cols=3)

    civ_a, civ_b = np.cumsum(a.civilian_deaths_weekly()[:t]), np.cumsum(b.civilian_deaths_weekly()[:t])
    ev_a, ev_b = a.monthly(a.events_weekly()[:t]), b.monthly(b.events_weekly()[:t])
    dis_a = sum(a.displaced())[:t] if t else np.zeros(0)
    dis_b = sum(b.displaced())[:t] if t else np.zeros(0)

    def armed(s: ModelSeries) -> np.ndarray:
        m = s.model
        cells = s.cells()
        tot = np.zeros(s.weeks_done)
        for i, f in enumerate(m.factions):
            if m.faction_is_armed[i]:
                tot = tot + cells[f]
        return tot[:t]

    return [
        pair("Civilian deaths since the start", "civilians killed", civ_a, civ_b, a.week_x[:t]),
        pair("Events per month", "events", ev_a, ev_b, a.month_x[:k]),
        pair("Displaced people", "thousands", dis_a, dis_b, a.week_x[:t]),
        pair("Cells held by armed groups", "cells", armed(a), armed(b), a.week_x[:t]),
    ]


# ============================================================================ a run in the app
def shown_date(model: Any) -> dt.date:
    """The date a model has reached: its start plus the weeks run (the scenario's end at the
    end). Week 0 shows the start date; week ``n`` shows the day after the ``n``-th week."""
    return min(model.start_date + dt.timedelta(days=7 * int(model.steps)), model.config.end_date)


def at_end(model: Any) -> bool:
    return int(model.steps) >= int(model.n_steps)


@dataclass(frozen=True)
class Frame:
    """What the browser shows for one week: image bytes (:data:`IMAGE_FORMAT`) of the map(s) and the charts."""

    week: int
    date: dt.date
    maps: tuple[bytes, ...]
    charts: bytes
    render_ms: float


LOOK_AHEAD_WEEKS = 13
"""When a page opens, a copy of its run (same scenario, seed, hence the same weeks) is run
this far ahead in the background to set the charts' scales, so the first Steps do not each
redraw the chart axes as the first data arrive."""


class LiveRun:
    """A model in the app with its renderers: :meth:`advance` steps it (never past its end),
    :meth:`frame` draws the current week. Thread-safe: Play's thread and a click on Step
    never interleave (``lock``)."""

    def __init__(self, model: Any, *, map_size_px: tuple[int, int] = MAP_SIZE_PX,
                 charts_size_px: tuple[int, int] = CHARTS_SIZE_PX) -> None:
        import threading

        self.model = model
        self.lock = threading.RLock()
        self.series = ModelSeries(model)
        self.map_size_px = map_size_px
        self.charts = LiveCharts(model.start_date, model.config.end_date, size_px=charts_size_px)
        self._maps: dict[str, MapRenderer] = {}

    def map_renderer(self, layer: str) -> MapRenderer:
        if layer not in self._maps:
            self._maps[layer] = MapRenderer(self.model.grid, self.model.factions, layer, size_px=self.map_size_px)
        return self._maps[layer]

    def prepare(self, weeks: int = LOOK_AHEAD_WEEKS) -> None:
        """Scale the charts for the next ``weeks`` weeks (see :data:`LOOK_AHEAD_WEEKS`)."""
        import copy

        with self.lock:
            ahead = copy.deepcopy(self.model)
        for _ in range(weeks):
            if at_end(ahead):
                break
            ahead.step()
        with self.lock:
            self.charts.fit(run_panels(ModelSeries(ahead)))
            self.charts.render(run_panels(self.series))

    def advance(self, weeks: int = 1) -> int:
        """Run up to ``weeks`` weeks (fewer at the end); returns how many ran."""
        done = 0
        with self.lock:
            while done < weeks and not at_end(self.model):
                self.model.step()
                done += 1
        return done

    def map_image(self, layer: str) -> bytes:
        m = self.model
        return self.map_renderer(layer).image(F.live_layer_values(m, layer), visible_bases(m))

    def charts_image(self) -> bytes:
        return self.charts.image(run_panels(self.series))

    def frame(self, layer: str = "control") -> Frame:
        import time

        with self.lock:
            t0 = time.perf_counter()
            maps = (self.map_image(layer),)
            charts = self.charts_image()
            return Frame(int(self.model.steps), shown_date(self.model), maps, charts,
                         1e3 * (time.perf_counter() - t0))


class LiveComparison:
    """Two models (scenarios A and B, same seed) stepped together for the side-by-side page."""

    def __init__(self, a: Any, b: Any, labels: tuple[str, str], *,
                 map_size_px: tuple[int, int] = MAP_SIZE_PX,
                 charts_size_px: tuple[int, int] = COMPARE_CHARTS_SIZE_PX) -> None:
        import threading

        self.runs = (LiveRun(a, map_size_px=map_size_px), LiveRun(b, map_size_px=map_size_px))
        self.labels = labels
        self.lock = threading.RLock()
        self.charts = LiveCharts(max(a.start_date, b.start_date), min(a.config.end_date, b.config.end_date),
                                 size_px=charts_size_px, layout=(1, 4))

    @property
    def model(self) -> Any:
        """The model whose clock the page shows (both run the same weeks)."""
        return self.runs[0].model

    def prepare(self, weeks: int = LOOK_AHEAD_WEEKS) -> None:
        """Scale the charts for the next ``weeks`` weeks (see :data:`LOOK_AHEAD_WEEKS`)."""
        import copy

        with self.lock:
            ahead = [copy.deepcopy(r.model) for r in self.runs]
        for _ in range(weeks):
            if any(at_end(m) for m in ahead):
                break
            for m in ahead:
                m.step()
        with self.lock:
            self.charts.fit(compare_panels(ModelSeries(ahead[0]), ModelSeries(ahead[1]), self.labels))
            self.charts.render(compare_panels(self.runs[0].series, self.runs[1].series, self.labels))

    def advance(self, weeks: int = 1) -> int:
        done = 0
        with self.lock:
            while done < weeks and not any(at_end(r.model) for r in self.runs):
                for r in self.runs:
                    r.model.step()
                done += 1
        return done

    def frame(self, layer: str = "control") -> Frame:
        import time

        with self.lock:
            t0 = time.perf_counter()
            maps = tuple(r.map_image(layer) for r in self.runs)
            charts = self.charts.image(compare_panels(self.runs[0].series, self.runs[1].series, self.labels))
            m = self.model
            return Frame(int(m.steps), shown_date(m), maps, charts, 1e3 * (time.perf_counter() - t0))
