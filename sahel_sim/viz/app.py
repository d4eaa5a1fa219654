"""The classroom app: Mesa's SolaraViz on the Mali map.

    sahel-sim viz                      # opens http://127.0.0.1:8765
    solara run sahel_sim.viz.app       # the same page through solara's own CLI

Mesa's :func:`~mesa.visualization.SolaraViz` provides the page, Play / Pause / Step / Reset
and the play-speed controls. This module adds, in the sidebar, the *Scenario* card (a bundled
preset, MINUSMA withdrawn and when, Wagner deployed, Barkhane's exit date, the seed) and, in
the main area, the map of Mali with a choice of layer beside four live charts.

Every control's default is read from the preset's scenario file
(:mod:`sahel_sim.viz.controls`); choosing another preset resets the controls to that file.
Changing a control rebuilds the model at the scenario's start date; Mesa's Reset rebuilds it
from the current controls too, so the page never runs a scenario its controls do not show.

Charts and maps are matplotlib PNGs: no JavaScript charting library, nothing fetched from a
CDN. With ``solara-assets`` installed the page works with no internet connection.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable
from functools import cache
from typing import Any, cast

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from sahel_sim.config import scenario_to_data
from sahel_sim.model import SahelModel
from sahel_sim.viz import controls as C
from sahel_sim.viz import figures as F

SCENARIOS_DIR_ENV = "SAHEL_SIM_SCENARIOS"
"""Environment variable naming another folder of presets (``sahel-sim viz --scenarios``)."""

PLAY_INTERVAL_MS = 50
"""Pause between weeks while playing (Mesa's Play Interval slider can change it)."""


@cache
def get_presets() -> dict[str, C.Preset]:
    """The presets (read once per server process; the files do not change while it runs)."""
    return C.load_presets(os.environ.get(SCENARIOS_DIR_ENV) or None)


class ClassroomModel(SahelModel):
    """A :class:`SahelModel` built from the classroom controls.

    Mesa's Reset re-creates the model as ``ClassroomModel(**model_params)``; ``controls`` is
    a callable returning the session's current :class:`~sahel_sim.viz.controls.Controls`, so
    Reset always builds what the Scenario card shows. A plain ``Controls`` works too (tests,
    benchmarks); ``None`` means the default preset.
    """

    def __init__(self, controls: C.Controls | Callable[[], C.Controls] | None = None) -> None:
        presets = get_presets()
        chosen = controls() if callable(controls) else controls
        if chosen is None:
            chosen = C.defaults_for(presets, C.DEFAULT_PRESET)
        scenario = C.build_scenario(presets, chosen)
        super().__init__(scenario, seed=chosen.seed)
        self.classroom_controls = chosen
        self.changes = tuple(C.describe(presets, chosen))
        self.key_events = F.key_events(scenario_to_data(scenario).get("interventions", {}))


# ---------------------------------------------------------------------------- session state
# solara.reactive values are per browser session (per virtual kernel), not shared.
_controls: solara.Reactive[C.Controls | None] = solara.reactive(cast(C.Controls | None, None))
layer: solara.Reactive[str] = solara.reactive("control")


def current_controls() -> C.Controls:
    value = _controls.value
    return value if value is not None else C.defaults_for(get_presets(), C.DEFAULT_PRESET)


def _fmt(d: dt.date | None) -> str:
    return d.strftime("%b %Y") if d is not None and d.day == 1 else (d.strftime("%d %b %Y") if d else "")


# ---------------------------------------------------------------------------- components
@solara.component
def ScenarioCard(model: solara.Reactive[ClassroomModel]):
    """Preset, interventions and seed. Any change restarts the model from the start date."""
    presets = get_presets()
    c = current_controls()
    scenario = presets[c.preset].scenario
    error = solara.use_reactive(cast(str | None, None))

    def apply(new: C.Controls) -> None:
        try:
            m = ClassroomModel(new)
        except Exception as exc:  # a ConfigError from an impossible combination: show it
            error.set(str(exc))
            return
        error.set(None)
        _controls.set(new)
        model.set(m)

    def change(**kw: Any) -> None:
        apply(dataclasses.replace(current_controls(), **kw))

    dates_m = C.month_choices(scenario, keep=[c.minusma_withdrawal_date])
    dates_b = C.month_choices(scenario, keep=[c.barkhane_exit_date])
    label_m = {_fmt(d): d for d in dates_m}
    label_b = {_fmt(d): d for d in dates_b}

    small = {"font-size": "0.85em", "color": "#555", "margin": "0 0 4px 0", "display": "block"}
    row = {"align-items": "center", "gap": "8px", "flex-wrap": "nowrap"}
    with solara.Card("Scenario", margin=0, classes=["sahel-scenario"]):
        solara.Select("Preset (scenario file)", value=c.preset, values=list(presets),
                      on_value=lambda name: apply(C.with_preset(presets, current_controls(), name)))
        if scenario.description:
            solara.Text(scenario.description, style=small)
        def switch_with_date(label: str, flag: str, date_field: str, labels: dict) -> None:
            """A checkbox for an intervention and, when the preset dates it, its month."""
            with solara.Row(style=row):
                solara.Checkbox(label=label, value=getattr(c, flag), on_value=lambda v: change(**{flag: bool(v)}))
                if getattr(c, date_field) is not None:
                    solara.Select("from", value=_fmt(getattr(c, date_field)), values=list(labels),
                                  disabled=not getattr(c, flag),
                                  on_value=lambda s: change(**{date_field: labels[s]}))

        switch_with_date("MINUSMA withdrawn", "minusma_withdrawn", "minusma_withdrawal_date", label_m)
        solara.Checkbox(label="Wagner deployed", value=c.wagner_deployed,
                        on_value=lambda v: change(wagner_deployed=bool(v)))
        switch_with_date("Barkhane leaves", "barkhane_withdrawn", "barkhane_exit_date", label_b)
        solara.InputInt("Seed", value=c.seed, on_value=lambda v: change(seed=int(v)) if v is not None and v >= 0
                        else error.set("the seed is a non-negative whole number"))
        changes = model.value.changes
        solara.Text(("Changed from the preset: " + "; ".join(changes)) if changes else "As in the preset file.",
                    style={**small, "font-weight": "600" if changes else "normal"}, classes=["sahel-changes"])
        solara.Text("Any change restarts the run at the start date.", style=small)
        if error.value:
            solara.Error(error.value)


@solara.component
def DateBanner(model: ClassroomModel):
    """The current date, large, with the scenario's latest dated interventions."""
    update_counter.get()
    today = model.current_date
    shown = [(d, t) for d, t in model.key_events if model.start_date <= d <= today][-2:]
    with solara.Row(style={"align-items": "baseline", "gap": "24px", "flex-wrap": "wrap"}):
        solara.HTML(tag="div", unsafe_innerHTML=f"<span class='sahel-date' style='font-size:1.8em;font-weight:600'>"
                    f"{today:%d %B %Y}</span>")
        solara.Text(f"week {model.steps} of {model.n_steps} · {model.config.name} · seed {model.seed}")
        for d, text in reversed(shown):
            solara.Text(f"{d:%b %Y}: {text}", style={"color": "#555"})


@solara.component
def MapView(model: ClassroomModel):
    update_counter.get()
    labels = {spec.label: key for key, spec in F.LAYERS.items()}
    solara.Select("Map layer", value=F.LAYERS[layer.value].label, values=list(labels),
                  on_value=lambda s: layer.set(labels[s]))
    canvas = solara.use_memo(lambda: F.live_map_figure(model, layer.value), [])  # redrawn in place
    deps = [update_counter.value, layer.value, id(model)]
    fig = solara.use_memo(lambda: F.live_map_figure(model, layer.value, fig=canvas), deps)
    solara.FigureMatplotlib(fig, dependencies=deps, format="png", dpi=F.LIVE_DPI, **F.LIVE_PNG_OPTIONS)


@solara.component
def ChartsView(model: ClassroomModel):
    update_counter.get()
    canvas = solara.use_memo(lambda: F.live_charts_figure(model), [])  # redrawn in place
    deps = [update_counter.value, id(model)]
    fig = solara.use_memo(lambda: F.live_charts_figure(model, fig=canvas), deps)
    solara.FigureMatplotlib(fig, dependencies=deps, format="png", dpi=F.LIVE_DPI, **F.LIVE_PNG_OPTIONS)


@solara.component
def Page():
    initial = solara.use_memo(lambda: ClassroomModel(current_controls), [])
    model = solara.use_reactive(initial)
    SolaraViz(
        model,
        components=[],  # the main area below is laid out here, map beside charts
        model_params={"controls": current_controls},
        play_interval=PLAY_INTERVAL_MS,
        name="sahel-sim: Mali classroom",
    )
    with solara.Sidebar():
        ScenarioCard(model)
    with solara.Column(style={"padding": "8px 16px"}):
        DateBanner(model.value)
        with solara.Columns([5, 6]):
            with solara.Column(classes=["sahel-map"]):
                MapView(model.value)
            with solara.Column(classes=["sahel-charts"]):
                ChartsView(model.value)


page = Page
