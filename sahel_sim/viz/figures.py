"""Static figures of a run or a comparison (matplotlib, Agg): trajectories, maps, event mix.

Every map goes through :func:`sahel_sim.viz.mapplot.draw_grid`; this module only chooses the
values, colours and labels of each map *layer* (who controls each cell, recent violence,
civilian deaths, displaced people, grievance), and the browser app and the animation reuse
the same layer definitions, so a colour means the same thing on a slide, in a GIF and live.

Inputs are a :class:`~sahel_sim.run.RunResult` (fresh from ``run()``), a
:class:`~sahel_sim.io.results.LoadedRun` (read back from a results folder) or the folder's
path; :func:`run_data` turns each into the same :class:`RunData`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sahel_sim.run import CellSnapshots

# --------------------------------------------------------------------------- colours
ACTOR_COLORS: dict[str, str] = {
    "FAMa": "#2166ac",          # national army: blue
    "Wagner": "#7f2704",        # dark rust
    "Barkhane": "#e7298a",      # magenta (France)
    "MINUSMA": "#4eb3d3",       # UN blue
    "CMA": "#f1a340",           # orange
    "JNIM": "#1a1a1a",          # black (its flag)
    "KatibaMacina": "#1b9e77",  # green: JNIM's central-Mali katiba
    "ISGS": "#b2182b",          # dark red
    "Militia": "#8c6bb1",       # purple
}
"""One colour per scenario actor, used by every chart, map legend and the app."""

NO_CONTROL_COLOR = "#ececec"
NO_CONTROL_LABEL = "no one in control"
_FALLBACK = ("#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f", "#e5c494", "#b3b3b3")


def actor_color(actor_id: str, index: int = 0) -> str:
    """The colour of ``actor_id`` (a stable fallback for actors a custom scenario adds)."""
    return ACTOR_COLORS.get(actor_id, _FALLBACK[index % len(_FALLBACK)])


# --------------------------------------------------------------------------- map layers
@dataclass(frozen=True)
class Layer:
    """How one per-cell quantity is drawn on the map."""

    key: str
    label: str          # menu entry and map title
    unit: str           # colour-bar label
    cmap: str = "viridis"
    categorical: bool = False
    vmax: float | None = None  # fixed top of the colour scale (None: from the data)


LAYERS: dict[str, Layer] = {
    "control": Layer("control", "Who controls each cell", "", categorical=True),
    "violence": Layer("violence", "Violence in recent weeks", "events per week (8-week average)", cmap="Reds"),
    "civilian_deaths": Layer("civilian_deaths", "Civilian deaths since the start", "civilians killed",
                             cmap="OrRd"),
    "displaced": Layer("displaced", "People displaced from each cell", "people (IDPs + refugees)",
                       cmap="Blues"),
    "grievance": Layer("grievance", "Grievance against the state", "0 (none) to 1 (maximal)",
                       cmap="YlOrBr", vmax=1.0),
}


def draw_layer(ax: Axes, grid: Any, layer: str, values: np.ndarray, *, factions: Sequence[str],
               title: str | None = None, vmax: float | None = None, legend: bool = True,
               legend_below: bool | None = None, title_size: float = 12,
               show_towns: bool = True, show_bases: bool = True, **grid_kw: Any) -> Axes:
    """Draw one map layer with :func:`~sahel_sim.viz.mapplot.draw_grid`.

    ``values`` is per cell: a faction index (-1 for none) for ``control``, a number otherwise.
    ``vmax`` fixes the colour scale (animations and the app keep it steady across frames).
    The legend (factions, towns, camps) goes below the map when ``legend_below`` (default: for
    continuous layers, whose colour bar takes the right-hand side). Other keywords go to
    ``draw_grid`` (``bases``, ``draw_cells``, ``legend_kinds``, ``all_categories``).
    """
    from sahel_sim.viz.mapplot import draw_grid

    spec = LAYERS[layer]
    if spec.categorical:
        codes = np.asarray(values, dtype=np.int64)
        codes = np.where(codes < 0, len(factions), codes)
        labels = [*factions, NO_CONTROL_LABEL]
        colors = [actor_color(f, i) for i, f in enumerate(factions)] + [NO_CONTROL_COLOR]
        draw_grid(ax, grid, codes, categorical_labels=labels, colors=colors, show_towns=show_towns,
                  show_bases=show_bases, legend=legend, **grid_kw)
    else:
        top = vmax if vmax is not None else spec.vmax
        grid_kw.pop("all_categories", None)
        draw_grid(ax, grid, np.asarray(values, dtype=np.float64), cmap=spec.cmap, show_towns=show_towns,
                  show_bases=show_bases, legend=legend, vmin=0.0, vmax=top, colorbar_label=spec.unit, **grid_kw)
    if title:
        ax.set_title(title, fontsize=title_size, fontweight="bold", loc="left")
    below = (not spec.categorical) if legend_below is None else legend_below
    if legend and below:
        _legend_below(ax)
    return ax


def _legend_below(ax: Axes, *, ncol: int = 3) -> None:
    """Move draw_grid's legend under the map, in columns."""
    old = ax.get_legend()
    if old is None:
        return
    handles = old.legend_handles
    labels = [t.get_text() for t in old.get_texts()]
    old.remove()
    ax.legend(handles=handles, labels=labels, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=ncol,
              fontsize=8, frameon=False, columnspacing=1.2, handletextpad=0.4)


# --------------------------------------------------------------------------- run data
@dataclass(frozen=True)
class RunData:
    """A run's outputs as pandas frames, whatever they were read from."""

    name: str
    seed: int | None
    events: pd.DataFrame            # ACLED-style event log
    weekly: pd.DataFrame            # one row per (week, region)
    snapshots: CellSnapshots
    interventions: dict[str, dict[str, Any]] = field(default_factory=dict)
    actors: tuple[str, ...] = ()
    snapshot_every_weeks: int = 1
    actor_bases: dict[str, str] = field(default_factory=dict)  # actor -> the kind of base it holds

    @property
    def label(self) -> str:
        return self.name if self.seed is None else f"{self.name} (seed {self.seed})"


def run_data(obj: Any) -> RunData:
    """Normalise a RunResult, a LoadedRun or a results-folder path to :class:`RunData`."""
    from sahel_sim.io.results import LoadedRun, read_run
    from sahel_sim.run import RunResult

    if isinstance(obj, (str, Path)):
        obj = read_run(obj)
    if isinstance(obj, RunResult):
        from sahel_sim.config import scenario_to_data

        sc = scenario_to_data(obj.scenario)
        return RunData(name=obj.scenario.name, seed=obj.seed, events=obj.events.to_pandas(),
                       weekly=obj.weekly.to_pandas(), snapshots=obj.snapshots,
                       interventions=sc.get("interventions", {}), actors=tuple(obj.scenario.actors),
                       snapshot_every_weeks=obj.scenario.outputs.snapshot_every_weeks,
                       actor_bases={a: spec.bases for a, spec in obj.scenario.actors.items() if spec.bases})
    if isinstance(obj, LoadedRun):
        man = obj.manifest
        sc = man.get("scenario", {}) or {}
        return RunData(name=str(man.get("scenario_name", obj.path.name)), seed=man.get("seed"),
                       events=obj.events, weekly=obj.weekly, snapshots=obj.snapshots,
                       interventions=sc.get("interventions", {}) or {}, actors=tuple(sc.get("actors", {}) or ()),
                       snapshot_every_weeks=int((sc.get("outputs") or {}).get("snapshot_every_weeks", 1)),
                       actor_bases={a: (spec or {}).get("bases") for a, spec in (sc.get("actors") or {}).items()
                                    if (spec or {}).get("bases")})
    if isinstance(obj, RunData):
        return obj
    raise TypeError(f"expected a RunResult, LoadedRun or results folder, got {type(obj).__name__}")


def bases_at(data: RunData, grid: Any, date: dt.date) -> list | None:
    """The grid's bases that exist in the run at ``date``, read from the run's scenario and
    weekly strengths (the static maps' counterpart of :func:`sahel_sim.viz.live.visible_bases`).

    A base belongs to the actor holding bases of its kind (a MINUSMA HQ to the actor holding
    MINUSMA camps); it is drawn while that actor has fighters, unless a withdrawal that
    follows the camps' documented closures has passed its closure date, or a dated
    ``close_bases`` (not reopened) took it. ``None`` when the run does not say (older
    results without the scenario's actors): draw every base.
    """
    import pandas as pd

    if not data.actor_bases:
        return None
    owners = {kind: a for a, kind in data.actor_bases.items()}
    nat = national_weekly(data.weekly)
    at = nat.index[nat.index <= pd.Timestamp(date)]
    row = nat.loc[at[-1]] if len(at) else None
    closing: set[str] = set()
    lost: set[tuple[str, str]] = set()
    for _, iv in sorted(data.interventions.items(), key=lambda kv: str(kv[1].get("date"))):
        d = iv.get("date")
        d = dt.date.fromisoformat(d) if isinstance(d, str) else d
        if d is None or d > date:
            continue
        actor = iv.get("actor", "")
        if iv.get("type") == "withdraw" and iv.get("follow_base_closures"):
            closing.add(actor)
        for name in iv.get("bases", []) or []:
            if iv.get("type") == "close_bases":
                lost.add((actor, name))
            elif iv.get("type") == "open_bases":
                lost.discard((actor, name))
    shown = []
    for b in grid.bases:
        kind = b.kind if b.kind in owners else ("minusma_camp" if b.kind == "minusma_hq" else b.kind)
        actor = owners.get(kind)
        if actor is None or row is None or float(row.get(f"strength_{actor}", 0.0)) <= 0:
            continue
        if actor in closing and b.closed is not None and b.closed < date + dt.timedelta(days=7):
            continue
        if (actor, b.name) in lost:
            continue
        shown.append(b)
    return shown


def national_weekly(weekly: pd.DataFrame) -> pd.DataFrame:
    """National weekly series from the (week, region) table, indexed by ``week_start``."""
    import pandas as pd

    df = weekly.copy()
    df["week_start"] = pd.to_datetime(df["week_start"])
    numeric = [c for c in df.columns if c not in ("week", "week_start", "region") and c != "grievance_mean"
               and pd.api.types.is_numeric_dtype(df[c])]
    out = df.groupby("week_start")[numeric].sum()
    if "grievance_mean" in df and "population" in df:
        w = df["population"].clip(lower=0)
        g = (df["grievance_mean"] * w).groupby(df["week_start"]).sum() / w.groupby(df["week_start"]).sum().clip(lower=1)
        out["grievance_mean"] = g
    out["displaced"] = out.get("idps_origin", 0) + out.get("refugees_origin", 0)
    return out


def events_by_actor(events: pd.DataFrame, actors: Sequence[str], *, freq: str) -> pd.DataFrame:
    """Events each actor took part in (as actor 1 or 2) per period ``freq`` ("MS" or "YS")."""
    import pandas as pd

    if events.empty:
        return pd.DataFrame(columns=list(actors), dtype=float)
    date = pd.to_datetime(events["event_date"])
    parts = []
    for col in ("actor1_id", "actor2_id"):
        if col in events:
            parts.append(pd.DataFrame({"date": date, "actor": events[col]}))
    long = pd.concat(parts, ignore_index=True)
    long = long[long["actor"].isin(list(actors))]
    if long.empty:
        return pd.DataFrame(columns=list(actors), dtype=float)
    table = long.groupby([pd.Grouper(key="date", freq=freq), "actor"]).size().unstack(fill_value=0)
    return table.reindex(columns=[a for a in actors if a in table.columns], fill_value=0)


# --------------------------------------------------------------------------- chart panels
def _date_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates

    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)


def _headroom(ax: Axes, share: float = 0.32) -> None:
    """Leave the top ``share`` of a chart empty for its legend."""
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, lo + (hi - lo) / (1 - share))


def plot_events_by_actor(ax: Axes, table: pd.DataFrame, *, title: str = "Events per month by actor",
                         top: int = 6) -> None:
    """Lines of events per period for the ``top`` most active actors."""
    if table.empty:
        ax.text(0.5, 0.5, "no events yet", ha="center", va="center", transform=ax.transAxes)
    else:
        order = table.sum().sort_values(ascending=False).index[:top]
        for i, a in enumerate(order):
            ax.plot(table.index, table[a], color=actor_color(a, i), lw=1.5, label=a,
                    marker="o" if len(table) < 4 else None, ms=3)
        ax.set_ylim(bottom=0)
        _headroom(ax)
        ax.legend(fontsize=7.5, frameon=False, ncol=min(len(order), 3), loc="upper left")
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel("events")
    _date_axis(ax)


def plot_series(ax: Axes, x: Any, y: Any, *, title: str, ylabel: str, color: str, kind: str = "line") -> None:
    if kind == "bar" and len(x):
        # monthly bars as one filled step outline: one path to draw instead of a patch per month
        import pandas as pd

        edges = pd.DatetimeIndex(x).append(pd.DatetimeIndex([pd.Timestamp(x[-1]) + pd.offsets.MonthBegin(1)]))
        ax.stairs(np.asarray(y, dtype=float), edges.to_numpy(), fill=True, color=color, alpha=0.85)
    elif kind != "bar":
        ax.plot(x, y, color=color, lw=1.8)
        ax.fill_between(x, 0, y, color=color, alpha=0.15)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    _date_axis(ax)


def plot_territory(ax: Axes, national: pd.DataFrame, factions: Sequence[str], *,
                   title: str = "Territory held (grid cells)") -> None:
    """Stacked areas of the cells each faction controls (the rest: no one)."""
    cols = [f"cells_{f}" for f in factions if f"cells_{f}" in national]
    if national.empty or not cols:
        ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes)
    else:
        ys = [national[c].to_numpy(dtype=float) for c in cols]
        names = [c.removeprefix("cells_") for c in cols]
        colors = [actor_color(n, i) for i, n in enumerate(names)]
        if "cells_uncontrolled" in national:
            ys.append(national["cells_uncontrolled"].to_numpy(dtype=float))
            names.append(NO_CONTROL_LABEL)
            colors.append(NO_CONTROL_COLOR)
        ax.stackplot(national.index, *ys, labels=names, colors=colors, alpha=0.9)
        ax.set_ylim(0, float(np.sum([y[-1] for y in ys])) or 1)
        _headroom(ax, 0.3)
        ax.legend(fontsize=7.5, frameon=False, ncol=3, loc="upper left", columnspacing=0.8)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel("cells")
    _date_axis(ax)


def plot_displaced(ax: Axes, national: pd.DataFrame, *, title: str = "Displaced people") -> None:
    if national.empty:
        ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes)
    else:
        idps = national.get("idps_hosted", national.get("idps"))
        refs = national.get("refugees_origin", national.get("refugees"))
        x = national.index
        if idps is not None and refs is not None:
            ax.stackplot(x, idps / 1e3, refs / 1e3, labels=["inside Mali (IDPs)", "abroad (refugees)"],
                         colors=["#6baed6", "#08519c"], alpha=0.85)
            ax.set_ylim(bottom=0)
            _headroom(ax, 0.2)
            ax.legend(fontsize=7.5, frameon=False, loc="upper left")
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel("thousands")
    ax.set_ylim(bottom=0)
    _date_axis(ax)


def plot_event_mix(ax: Axes, events: pd.DataFrame, *, title: str = "Event types by year") -> None:
    """Stacked bars of events per year by ACLED event type."""
    import pandas as pd

    from sahel_sim.events import EVENT_TYPES

    colors = {"Battles": "#4d4d4d", "Violence against civilians": "#d6604d",
              "Explosions/Remote violence": "#f4a582", "Strategic developments": "#92c5de"}
    if events.empty:
        ax.text(0.5, 0.5, "no events", ha="center", va="center", transform=ax.transAxes)
    else:
        year = pd.to_datetime(events["event_date"]).dt.year
        table = events.groupby([year, "event_type"]).size().unstack(fill_value=0)
        table = table.reindex(columns=[t for t in EVENT_TYPES if t in table.columns])
        bottom = np.zeros(len(table))
        for t in table.columns:
            ax.bar(table.index, table[t], bottom=bottom, color=colors.get(t, "#999999"), label=t, width=0.8)
            bottom += table[t].to_numpy()
        ax.set_xticks(table.index)
        ax.tick_params(axis="x", labelrotation=45)
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel("events")
    ax.spines[["top", "right"]].set_visible(False)


# --------------------------------------------------------------------------- snapshots
def snapshot_layer(snap: CellSnapshots, layer: str, t: int, *, every_weeks: int = 1) -> np.ndarray:
    """Per-cell values of ``layer`` at snapshot ``t`` (same meaning as the app's live map)."""
    if layer == "control":
        return snap.control[t]
    if layer == "violence":
        return snap.violence[t] / max(every_weeks, 1)  # events per week over the interval
    if layer == "civilian_deaths":
        return snap.civilian_deaths[: t + 1].sum(axis=0)
    if layer == "displaced":
        return snap.displaced[t]
    if layer == "grievance":
        return snap.grievance[t]
    raise KeyError(f"unknown layer {layer!r}; expected one of: {', '.join(LAYERS)}")


def layer_vmax(snap: CellSnapshots, layer: str, *, every_weeks: int = 1) -> float | None:
    """A colour-scale top that fits every snapshot (steady colours across an animation)."""
    spec = LAYERS[layer]
    if spec.categorical or spec.vmax is not None:
        return spec.vmax
    if len(snap.dates) == 0:
        return None
    # the 98th percentile of cells: hot spots saturate, the rest of the map keeps its contrast
    if layer == "violence":
        top = float(np.quantile(snap.violence / max(every_weeks, 1), 0.98))
    elif layer == "civilian_deaths":
        top = float(np.quantile(snap.civilian_deaths.sum(axis=0), 0.98))
    else:
        top = float(np.quantile(getattr(snap, layer), 0.98))
    return max(top, 1e-9)


def _grid_for(snap: CellSnapshots):
    from sahel_sim.geography import load_grid

    grid = load_grid()
    if len(snap.gid) and not np.array_equal(np.asarray(grid.gid), np.asarray(snap.gid)):
        from sahel_sim.config import ConfigError

        raise ConfigError("the results' grid cells (snapshots.npz gid) differ from this version's Mali grid")
    return grid


# --------------------------------------------------------------------------- figures
def _save(fig: Figure, path: Path, formats: Sequence[str]) -> list[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in formats:
        p = path.with_suffix("." + ext)
        fig.savefig(p, dpi=130 if ext == "png" else None, bbox_inches="tight")
        out.append(p)
    return out


def _new_figure(*, figsize: tuple[float, float]) -> Figure:
    # pyplot-free figure: safe in threads (the browser app) and without a display
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def summary_figure(result: Any, path: str | Path, *, formats: Sequence[str] = ("png",)) -> list[Path]:
    """One-page summary of a run: events per year by actor, civilian deaths, control at the end.

    ``result`` is a RunResult, a LoadedRun or a results folder. Returns the files written.
    """
    data = run_data(result)
    fig = _new_figure(figsize=(13, 7.5))
    gs = fig.add_gridspec(2, 2, width_ratios=[1, 1.15])
    ax_ev, ax_civ, ax_map = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[:, 1])
    actors = data.actors or tuple(sorted({*data.events.get("actor1_id", [])}))
    yearly = events_by_actor(data.events, actors, freq="YS")
    plot_events_by_actor(ax_ev, yearly, title="Events per year by actor")
    nat = national_weekly(data.weekly)
    if not nat.empty:
        civ = nat["fatalities_civilian"].resample("MS").sum()
        plot_series(ax_civ, civ.index, civ.to_numpy(), title="Civilian deaths per month", ylabel="civilians killed",
                    color="#b2182b")
    snap = data.snapshots
    if len(snap.dates):
        grid = _grid_for(snap)
        draw_layer(ax_map, grid, "control", snap.control[-1], factions=snap.factions,
                   title=f"Who controls each cell, {snap.dates[-1]:%d %b %Y}",
                   bases=bases_at(data, grid, snap.dates[-1]))
    fig.suptitle(f"sahel-sim: {data.label}", fontsize=13, x=0.01, ha="left")
    return _save(fig, Path(path), formats)


def trajectories_figure(runs: Sequence[Any], path: str | Path, *, formats: Sequence[str] = ("png", "svg"),
                        labels: Sequence[str] | None = None) -> list[Path]:
    """Four national trajectories; several runs (comparison arms) are overlaid."""
    datas = [run_data(r) for r in runs]
    fig = _new_figure(figsize=(13, 8))
    axes = fig.subplots(2, 2)
    if len(datas) == 1:
        d = datas[0]
        nat = national_weekly(d.weekly)
        plot_events_by_actor(axes[0, 0], events_by_actor(d.events, d.actors, freq="MS"))
        civ = nat["fatalities_civilian"].resample("MS").sum()
        plot_series(axes[0, 1], civ.index, civ.to_numpy(), title="Civilian deaths per month",
                    ylabel="civilians killed", color="#b2182b")
        plot_territory(axes[1, 0], nat, d.snapshots.factions)
        plot_displaced(axes[1, 1], nat)
        fig.suptitle(f"sahel-sim: {d.label}", fontsize=13, x=0.01, ha="left")
    else:
        names = list(labels) if labels else [d.label for d in datas]
        panels = [("events", "Events per month", "events"), ("fatalities_civilian", "Civilian deaths per month",
                                                                "civilians killed"),
                  ("militant", "Militant Islamist events per month", "events"),
                  ("displaced", "Displaced people (thousands)", "thousands")]
        for ax, (key, title, ylabel) in zip(axes.ravel(), panels, strict=True):
            for i, (d, name) in enumerate(zip(datas, names, strict=True)):
                nat = national_weekly(d.weekly)
                if key == "events":
                    cols = [c for c in nat.columns if c.startswith("events_") and c != "events_militant_islamist"]
                    y = nat[cols].sum(axis=1).resample("MS").sum()
                elif key == "militant":
                    y = nat.get("events_militant_islamist", nat.iloc[:, 0] * 0).resample("MS").sum()
                elif key == "displaced":
                    y = nat["displaced"].resample("MS").last() / 1e3
                else:
                    y = nat[key].resample("MS").sum()
                ax.plot(y.index, y.to_numpy(), lw=1.6, label=name, color=_FALLBACK[i % len(_FALLBACK)]
                        if i else "#252525")
            ax.set_title(title, fontsize=10, loc="left")
            ax.set_ylabel(ylabel)
            ax.set_ylim(bottom=0)
            _date_axis(ax)
        axes[0, 0].legend(fontsize=8, frameon=False)
        fig.suptitle("sahel-sim: " + " vs ".join(names), fontsize=13, x=0.01, ha="left")
    return _save(fig, Path(path), formats)


def maps_figure(run: Any, path: str | Path, *, layer: str = "control", n_panels: int = 4,
                formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Small multiples of one layer at evenly spaced snapshot dates."""
    d = run_data(run)
    snap = d.snapshots
    if not len(snap.dates):
        raise ValueError("the run has no snapshots to map")
    grid = _grid_for(snap)
    idx = np.unique(np.linspace(0, len(snap.dates) - 1, num=min(n_panels, len(snap.dates))).round().astype(int))
    cols = min(len(idx), 2)
    rows = -(-len(idx) // cols)
    fig = _new_figure(figsize=(6.2 * cols, 5.2 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    vmax = layer_vmax(snap, layer, every_weeks=d.snapshot_every_weeks)
    for k, (ax, t) in enumerate(zip(axes, idx, strict=False)):
        values = snapshot_layer(snap, layer, int(t), every_weeks=d.snapshot_every_weeks)
        draw_layer(ax, grid, layer, values, factions=snap.factions, title=f"{snap.dates[t]:%d %b %Y}",
                   vmax=vmax, legend=k == len(idx) - 1, show_towns=k == 0, show_bases=False)
    for ax in axes[len(idx):]:
        ax.set_visible(False)
    fig.suptitle(f"{LAYERS[layer].label}: {d.label}", fontsize=13, x=0.01, ha="left")
    return _save(fig, Path(path), formats)


def layers_figure(run: Any, path: str | Path, *, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Every map layer at the last snapshot."""
    d = run_data(run)
    snap = d.snapshots
    if not len(snap.dates):
        raise ValueError("the run has no snapshots to map")
    grid = _grid_for(snap)
    t = len(snap.dates) - 1
    fig = _new_figure(figsize=(18, 10))
    axes = fig.subplots(2, 3).ravel()
    for ax, layer in zip(axes, LAYERS, strict=False):
        draw_layer(ax, grid, layer, snapshot_layer(snap, layer, t, every_weeks=d.snapshot_every_weeks),
                   factions=snap.factions, title=LAYERS[layer].label, show_bases=layer == "control",
                   bases=bases_at(d, grid, snap.dates[t]),
                   show_towns=layer == "control", legend_below=True,
                   vmax=layer_vmax(snap, layer, every_weeks=d.snapshot_every_weeks))
    axes[-1].set_visible(False)
    fig.suptitle(f"{d.label}, {snap.dates[t]:%d %b %Y}", fontsize=13, x=0.01, ha="left")
    return _save(fig, Path(path), formats)


def event_mix_figure(runs: Sequence[Any], path: str | Path, *, formats: Sequence[str] = ("png", "svg"),
                     labels: Sequence[str] | None = None) -> list[Path]:
    """Events per year by ACLED event type, one panel per run."""
    datas = [run_data(r) for r in runs]
    names = list(labels) if labels else [d.label for d in datas]
    fig = _new_figure(figsize=(7 * len(datas), 4.5))
    axes = np.atleast_1d(fig.subplots(1, len(datas), sharey=True))
    for ax, d, name in zip(axes, datas, names, strict=True):
        plot_event_mix(ax, d.events, title=f"Event types by year: {name}")
    return _save(fig, Path(path), formats)


# --------------------------------------------------------------------------- folders
def is_run_folder(path: Path) -> bool:
    return (path / "snapshots.npz").exists() and (path / "manifest.json").exists()


def find_runs(folder: str | Path) -> list[Path]:
    """The run folders in ``folder``: itself, or those below it (a comparison's arms)."""
    p = Path(folder)
    if is_run_folder(p):
        return [p]
    found = sorted({m.parent for m in p.rglob("manifest.json") if is_run_folder(m.parent)})
    return found


def plot_results(folder: str | Path, out_dir: str | Path | None = None, *,
                 formats: Sequence[str] = ("png", "svg"),
                 progress: Callable[[Path], None] | None = None) -> list[Path]:
    """Write the standard figures of a run folder, or of a comparison folder's runs.

    A run gives trajectories, control maps over time, every layer at the end, the event mix
    by year and the summary. A comparison (a folder holding several run folders) gives the
    overlaid trajectories, the event mix side by side and each arm's control maps.
    """
    from sahel_sim.config import ConfigError

    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such results folder")
    runs = find_runs(folder)
    if not runs:
        raise ConfigError(f"{folder}: no run folders found (a run folder holds manifest.json and snapshots.npz)")
    out = Path(out_dir) if out_dir is not None else folder / "figures"
    written: list[Path] = []

    def note(paths: list[Path]) -> None:
        written.extend(paths)
        if progress is not None:
            for p in paths:
                progress(p)

    if len(runs) == 1:
        d = run_data(runs[0])
        note(trajectories_figure([d], out / "trajectories", formats=formats))
        note(maps_figure(d, out / "maps_control", formats=formats))
        note(layers_figure(d, out / "maps_layers", formats=formats))
        note(event_mix_figure([d], out / "event_mix", formats=formats))
        note(summary_figure(d, out / "summary", formats=formats))
    else:
        datas = [run_data(r) for r in runs]
        labels = _arm_labels(folder, runs, datas)
        note(trajectories_figure(datas, out / "trajectories", formats=formats, labels=labels))
        note(event_mix_figure(datas, out / "event_mix", formats=formats, labels=labels))
        for d, name in zip(datas, labels, strict=True):
            note(maps_figure(d, out / f"maps_control_{_slug(name)}", formats=formats))
    return written


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text).strip("_")


def _arm_labels(folder: Path, runs: Sequence[Path], datas: Sequence[RunData]) -> list[str]:
    labels = [d.label for d in datas]
    if len(set(labels)) == len(labels):
        return labels
    return [str(r.relative_to(folder)) for r in runs]


def key_events(interventions: Mapping[str, Mapping[str, Any]]) -> list[tuple[dt.date, str]]:
    """Dated captions for a scenario's interventions, in date order (for animations and charts)."""
    out = []
    for iid, iv in interventions.items():
        date = iv.get("date")
        if isinstance(date, str):
            date = dt.date.fromisoformat(date)
        if date is None:
            continue
        actor = iv.get("actor", "")
        kind = iv.get("type", "")
        bases = ", ".join(iv.get("bases", []) or [])
        regions = ", ".join(iv.get("regions", []) or [])
        text = {
            "open_bases": f"{actor} takes {bases}" if bases else f"{actor} opens bases",
            "close_bases": f"{actor} loses {bases}" if bases else f"{actor} closes bases",
            "set_regions": f"{actor} operates in {regions}" if regions else f"{actor}'s regions change",
            "deploy": f"{actor} deploys ({float(iv.get('strength', 0)):,.0f})",
            "withdraw": f"{actor} withdraws",
            "set_strength": f"{actor} to {float(iv.get('strength', 0)):,.0f}",
            "restrict_movement": f"{actor}'s movement restricted",
            "sign_accord": ("Agreement signed (" + ", ".join(iv["parties"]) + ")") if iv.get("parties")
            else "Agreement signed",
            "end_accord": "Agreement ended",
            "coup": "Coup d'état",
            "merge": f"{actor} joins {iv.get('into', '')}",
            "split": f"{actor} splits from {iv.get('parent', '')}",
        }.get(kind, iid)
        out.append((date, text))
    return sorted(out)


# --------------------------------------------------------------------------- live (browser app)
LIVE_DPI = 80
"""Resolution of the app's PNGs: sharp on a projector, small enough to send every week."""

LIVE_VMAX: dict[str, float] = {"violence": 0.5, "civilian_deaths": 300.0, "displaced": 50_000.0}
"""Fixed colour-scale tops of the live map (values above saturate), so colours compare across
weeks and scenarios. Set near the 99th percentile of cells in a classroom-preset run."""


def live_layer_values(model: Any, layer: str) -> np.ndarray:
    """Per-cell values of ``layer`` in a running :class:`~sahel_sim.model.SahelModel`."""
    if layer == "control":
        return model.control
    if layer == "violence":
        return model.violence_recent
    if layer == "civilian_deaths":
        return model.civilian_deaths_total
    if layer == "displaced":
        return model.idp_origin + model.ref_origin
    if layer == "grievance":
        return model.grievance
    raise KeyError(f"unknown layer {layer!r}; expected one of: {', '.join(LAYERS)}")


LIVE_MAP_SIZE = (7.2, 7.4)
LIVE_CHARTS_SIZE = (7.6, 7.4)
LIVE_PNG_OPTIONS: dict[str, Any] = {"pil_kwargs": {"compress_level": 1}}
"""savefig options for the app: fast PNG compression (the bytes only cross localhost)."""


def _reuse(fig: Figure | None, size: tuple[float, float]) -> Figure:
    """``fig`` cleared for redrawing, or a new one. Redrawing the same figure keeps
    matplotlib's text-metric cache (keyed by renderer) warm: about a third faster per frame."""
    from matplotlib.figure import Figure

    if fig is None:
        return Figure(figsize=size)
    fig.clear()
    return fig


def live_map_figure(model: Any, layer: str = "control", *, fig: Figure | None = None) -> Figure:
    """The app's map: one layer of a running model, dated, with towns, camps and a legend.

    A fixed layout (no constrained layout): the app redraws it every week, and the layout
    solver would double the time per frame. Pass the previous ``fig`` to redraw it in place.
    """
    fig = _reuse(fig, LIVE_MAP_SIZE)
    ax = fig.add_axes((0.08, 0.2, 0.88, 0.74))
    draw_layer(ax, model.grid, layer, live_layer_values(model, layer), factions=model.factions,
               title=f"{LAYERS[layer].label}, {model.current_date:%d %b %Y}", vmax=LIVE_VMAX.get(layer),
               legend_below=True)
    return fig


def live_charts_figure(model: Any, *, fig: Figure | None = None) -> Figure:
    """The app's four charts from the running model's national weekly series (fixed layout)."""
    import pandas as pd

    frame = model.weekly_frame()
    fig = _reuse(fig, LIVE_CHARTS_SIZE)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.95, bottom=0.06, hspace=0.3, wspace=0.3)
    axes = fig.subplots(2, 2)
    start, end = pd.Timestamp(model.start_date), pd.Timestamp(model.config.end_date)
    if len(frame):
        nat = frame.set_index("week_start")
        actor_cols = [c for c in frame.columns if c.startswith("events_actor_")]
        monthly = nat[actor_cols].resample("MS").sum()
        monthly.columns = [c.removeprefix("events_actor_") for c in monthly.columns]
        plot_events_by_actor(axes[0, 0], monthly, top=4)
        civ = nat["fatalities_civilian"].resample("MS").sum()
        plot_series(axes[0, 1], civ.index, civ.to_numpy(), title="Civilian deaths per month",
                    ylabel="civilians killed", color="#b2182b", kind="bar")
        terr = nat[[f"cells_{f}" for f in model.factions]].copy()
        terr["cells_uncontrolled"] = model.n_cells - terr.sum(axis=1)
        plot_territory(axes[1, 0], terr, model.factions, title="Territory held (cells of Mali)")
        plot_displaced(axes[1, 1], nat)
    else:
        for ax, title in ((axes[0, 0], "Events per month by actor"), (axes[0, 1], "Civilian deaths per month"),
                          (axes[1, 0], "Territory held (cells of Mali)"), (axes[1, 1], "Displaced people")):
            ax.set_title(title, fontsize=10, loc="left")
            ax.text(0.5, 0.5, "press Step or Play", ha="center", va="center", transform=ax.transAxes)
            _date_axis(ax)
    for ax in axes.ravel():
        ax.set_xlim(start, end)
        ax.tick_params(labelsize=8)
        ax.yaxis.label.set_size(9)
    return fig
