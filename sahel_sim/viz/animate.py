"""An animated map of a run for slides: one layer over the snapshot dates, captioned.

Each frame is drawn with :func:`sahel_sim.viz.figures.draw_layer` (hence
:func:`~sahel_sim.viz.mapplot.draw_grid`) on a fixed colour scale, with the date in large type
and the scenario's dated interventions of the last weeks underneath ("Wagner deploys",
"MINUSMA withdraws"...). GIFs are written with Pillow; MP4 through ``ffmpeg`` when it is on
the PATH.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from sahel_sim.viz import figures as F

CAPTION_WEEKS = 26
"""An intervention stays in the caption this many weeks after its date."""

HOLD_LAST_S = 2.0
"""Seconds the last frame stays on screen before the loop restarts."""


def frame_indices(n_snapshots: int, max_frames: int) -> np.ndarray:
    """At most ``max_frames`` snapshot indices, evenly spaced, always with the first and last."""
    if n_snapshots <= 0:
        return np.zeros(0, dtype=int)
    k = max(2, min(int(max_frames), n_snapshots)) if n_snapshots > 1 else 1
    return np.unique(np.linspace(0, n_snapshots - 1, num=k).round().astype(int))


CAPTION_LINES = 3
"""At most this many interventions in a caption, one per line."""

FRAME_SIZE_IN = (8.0, 8.2)
"""Frame size in inches (at the ``dpi`` of :func:`render_frames`)."""
MAP_RECT = (0.08, 0.14, 0.86, 0.63)
"""The map's axes in figure fractions: below the date and a caption of :data:`CAPTION_LINES` lines."""


def caption_for(date: dt.date, events: list[tuple[dt.date, str]], *, weeks: int = CAPTION_WEEKS) -> str:
    """The interventions dated within ``weeks`` before ``date``, latest first, one per line, or ''."""
    recent = [(d, t) for d, t in events if date - dt.timedelta(weeks=weeks) < d <= date]
    return "\n".join(f"{d:%b %Y}: {t}" for d, t in reversed(recent[-CAPTION_LINES:]))


def draw_frame(fig: Any, grid: Any, layer: str, values: np.ndarray, *, factions: Any, date: dt.date,
               caption: str, label: str, vmax: float | None, bases: Any = None) -> dict[str, Any]:
    """One frame on ``fig`` (cleared): the date in large type, the caption (wrapped to the
    frame's width), the map and its legend. Returns the artists, for tests of the layout."""
    fig.clear()
    ax = fig.add_axes(MAP_RECT)
    F.draw_layer(ax, grid, layer, values, factions=factions, title=F.LAYERS[layer].label, vmax=vmax,
                 legend_below=True, bases=bases)
    title = fig.text(0.02, 0.985, f"{date:%d %B %Y}", fontsize=22, fontweight="bold", ha="left", va="top")
    cap = fig.text(0.02, 0.925, caption or " ", fontsize=12, color="#8b0000", ha="left", va="top", wrap=True,
                   linespacing=1.3)
    foot = fig.text(0.98, 0.005, f"sahel-sim: {label}", fontsize=8, color="#666666", ha="right", va="bottom")
    return {"axes": ax, "date": title, "caption": cap, "footer": foot}


def render_frames(run: Any, *, layer: str = "control", max_frames: int = 120,
                  dpi: int = 90) -> tuple[list[np.ndarray], list[dt.date]]:
    """RGB frames (height, width, 3) of ``layer`` at evenly spaced snapshot dates."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = F.run_data(run)
    snap = data.snapshots
    if not len(snap.dates):
        raise ValueError("the run has no snapshots to animate")
    grid = F._grid_for(snap)
    events = F.key_events(data.interventions)
    vmax = F.layer_vmax(snap, layer, every_weeks=data.snapshot_every_weeks)
    frames: list[np.ndarray] = []
    dates: list[dt.date] = []
    # fixed layout, one figure redrawn per frame (constrained layout would re-solve every frame)
    fig = Figure(figsize=FRAME_SIZE_IN, dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    for t in frame_indices(len(snap.dates), max_frames):
        date = snap.dates[int(t)]
        values = F.snapshot_layer(snap, layer, int(t), every_weeks=data.snapshot_every_weeks)
        draw_frame(fig, grid, layer, values, factions=snap.factions, date=date, caption=caption_for(date, events),
                   label=data.label, vmax=vmax, bases=F.bases_at(data, grid, date))
        canvas.draw()
        frames.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
        dates.append(date)
    return _same_size(frames), dates


def _same_size(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Pad frames to a common even size (constrained layout can shift a pixel; ffmpeg needs even)."""
    h = max(f.shape[0] for f in frames)
    w = max(f.shape[1] for f in frames)
    h, w = h + h % 2, w + w % 2
    out = []
    for f in frames:
        if f.shape[:2] != (h, w):
            pad = np.full((h, w, 3), 255, dtype=np.uint8)
            pad[: f.shape[0], : f.shape[1]] = f
            f = pad
        out.append(f)
    return out


def exact_colors(layer: str, factions: Any) -> list[tuple[int, int, int]]:
    """Colours a GIF must keep exactly: the layer's categories and the markers' colours."""
    from matplotlib import colors as mcolors

    from sahel_sim.viz.mapplot import BASE_STYLE

    names = ["#000000", "#ffffff", *(st["color"] for st in BASE_STYLE.values())]
    if F.LAYERS[layer].categorical:
        names += [F.actor_color(f, i) for i, f in enumerate(factions)] + [F.NO_CONTROL_COLOR]
    out = []
    for n in names:
        rgb = tuple(round(255 * c) for c in mcolors.to_rgb(n))
        if rgb not in out:
            out.append(rgb)
    return out


def gif_palette(frames: list[np.ndarray], exact: list[tuple[int, int, int]]) -> np.ndarray:
    """One palette for every frame: the ``exact`` colours, then the median-cut colours of a
    sample of frames spread over the whole animation (a colour that appears only late, such
    as a faction's, is neither missing nor mapped to a grey)."""
    from PIL import Image

    idx = np.unique(np.linspace(0, len(frames) - 1, num=min(12, len(frames))).round().astype(int))
    sample = np.concatenate([frames[i] for i in idx], axis=0)
    free = 256 - len(exact)
    quant = Image.fromarray(sample).quantize(colors=free, method=Image.Quantize.MEDIANCUT)
    pal = [c for rgb in exact for c in rgb] + quant.getpalette()[: 3 * free]
    pal += [0] * (768 - len(pal))
    return np.array(pal, dtype=np.uint8).reshape(256, 3)


def to_palette(frame: np.ndarray, palette: np.ndarray) -> Any:
    """``frame`` as a "P" image of ``palette``: each colour to its nearest palette entry, so a
    colour in the palette stays exactly itself (Pillow's own mapping works on 5-6-5 bit boxes
    and can move it to a neighbour)."""
    from PIL import Image

    flat = frame.reshape(-1, 3).astype(np.int64)
    codes = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    uniq, inverse = np.unique(codes, return_inverse=True)
    rgb = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], axis=1)
    nearest = np.empty(len(uniq), dtype=np.uint8)
    pal = palette.astype(np.int64)
    for lo in range(0, len(uniq), 4096):
        d = ((rgb[lo:lo + 4096, None, :] - pal[None, :, :]) ** 2).sum(axis=-1)
        nearest[lo:lo + 4096] = d.argmin(axis=1)
    image = Image.fromarray(nearest[inverse].reshape(frame.shape[:2]), mode="P")
    image.putpalette(palette.ravel().tolist())
    return image


def write_gif(frames: list[np.ndarray], path: Path, *, fps: float,
              exact: list[tuple[int, int, int]] | None = None) -> Path:
    """An infinitely looping GIF with one shared palette (no colour flicker between frames)
    that holds the ``exact`` colours unchanged (:func:`gif_palette`)."""

    palette = gif_palette(frames, exact or [])
    paletted = [to_palette(f, palette) for f in frames]
    frame_ms = max(20, round(1000 / fps))
    durations = [frame_ms] * len(paletted)
    durations[-1] = max(frame_ms, round(HOLD_LAST_S * 1000))
    path.parent.mkdir(parents=True, exist_ok=True)
    paletted[0].save(path, save_all=True, append_images=paletted[1:], duration=durations, loop=0,
                     optimize=False, disposal=1)
    return path


def write_mp4(frames: list[np.ndarray], path: Path, *, fps: float, ffmpeg: str) -> Path:
    """H.264 MP4 (yuv420p, plays in PowerPoint, Keynote and browsers) via ffmpeg."""
    h, w = frames[0].shape[:2]
    hold = max(1, round(HOLD_LAST_S * fps))
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-r", f"{fps}", "-i", "-", "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    data = b"".join(f.tobytes() for f in [*frames, *[frames[-1]] * hold])
    subprocess.run(cmd, input=data, check=True)
    return path


def animate_run(run: Any, out: str | Path, *, layer: str = "control", fps: float = 6.0,
                max_frames: int = 120) -> Path:
    """Write the animation of ``run`` (RunResult, LoadedRun or results folder) to ``out``.

    ``out`` ending in ``.mp4`` needs ``ffmpeg`` on the PATH; anything else is written as GIF.
    """
    from sahel_sim.config import ConfigError

    out = Path(out)
    if layer not in F.LAYERS:
        raise ConfigError(f"--layer {layer}: expected one of {', '.join(F.LAYERS)}")
    if fps <= 0 or max_frames < 1:
        raise ConfigError("--fps must be positive and --max-frames at least 1")
    ffmpeg = shutil.which("ffmpeg") if out.suffix.lower() == ".mp4" else None
    if out.suffix.lower() == ".mp4" and ffmpeg is None:
        raise ConfigError(f"{out}: MP4 needs ffmpeg on the PATH (not found); write a .gif instead")
    data = F.run_data(run)
    frames, _ = render_frames(data, layer=layer, max_frames=max_frames)
    if ffmpeg is not None:
        return write_mp4(frames, out, fps=fps, ffmpeg=ffmpeg)
    if out.suffix.lower() != ".gif":
        out = out.with_suffix(".gif")
    return write_gif(frames, out, fps=fps, exact=exact_colors(layer, data.snapshots.factions))
