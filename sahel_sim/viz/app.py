"""The classroom app: the model on the Mali map in a browser (solara), with a side-by-side page.

    sahel-sim viz                      # opens http://127.0.0.1:8765
    solara run sahel_sim.viz.app       # the same pages through solara's own CLI

Two pages:

- ``/`` (*One run*): the *Scenario* card in the sidebar (a bundled preset, MINUSMA withdrawn
  and when, Wagner deployed, Barkhane's exit date, the seed); above the map the run's controls
  (Reset, Play / Pause, Step, play speed), the date reached and the week; the map of Mali with
  a choice of layer beside four live charts.
- ``/compare`` (*Side by side*): one preset and seed, two versions of its interventions (A and
  B); both runs advance together; two maps and the charts of both runs with their difference.

The model is :class:`~sahel_sim.model.SahelModel` (a Mesa model). Frames are drawn by
:mod:`sahel_sim.viz.live` (static map layers drawn once, cell colours painted per week, charts
blitted) and sent as PNG images: no JavaScript charting library, nothing fetched from a CDN.
With ``solara-assets`` installed the pages work with no internet connection.

Every control's default is read from the preset's scenario file
(:mod:`sahel_sim.viz.controls`); choosing another preset resets the controls to that file.
Changing a control rebuilds the model at the scenario's start date, and Reset rebuilds it from
the current controls, so the page never runs a scenario its controls do not show.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from collections.abc import Callable
from functools import cache
from typing import Any, cast

import solara
import solara.lab

from sahel_sim.config import scenario_to_data
from sahel_sim.model import SahelModel
from sahel_sim.viz import controls as C
from sahel_sim.viz import figures as F
from sahel_sim.viz import live as L

SCENARIOS_DIR_ENV = "SAHEL_SIM_SCENARIOS"
"""Environment variable naming another folder of presets (``sahel-sim viz --scenarios``)."""

FRAME_INTERVAL_S = 0.12
"""Shortest time between two frames while playing (about 8 frames a second: as fast as a
browser shows them without queueing)."""

SPEEDS: dict[str, int] = {"1 week": 1, "2 weeks": 2, "4 weeks": 4, "8 weeks": 8}
"""Play speed: weeks the model advances between two frames."""
DEFAULT_SPEED = "2 weeks"

CSS = """
.sahel-header { align-items: baseline; gap: 18px; padding: 6px 12px 0 12px; flex-wrap: wrap; }
.sahel-title { font-size: 1.25em; font-weight: 600; }
.sahel-nav a { margin-right: 14px; }
.sahel-page { display: grid; grid-template-columns: 270px minmax(0, 1fr); gap: 10px; padding: 0 12px; }
.sahel-side { min-width: 0; }
.sahel-side .v-card { margin-bottom: 8px !important; }
.sahel-toolbar { align-items: center; gap: 10px; flex-wrap: wrap; margin: 0 0 4px 0; }
.sahel-toolbar .v-btn { min-width: 72px !important; }
.sahel-date { font-size: 1.7em; font-weight: 600; white-space: nowrap; }
.sahel-week { color: #444; white-space: nowrap; }
.sahel-events { color: #8b0000; }
.sahel-main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px; align-items: start; }
.sahel-compare { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px; }
.sahel-main img, .sahel-compare img { width: 100%; height: auto; max-height: calc(100vh - 130px);
  object-fit: contain; object-position: left top; display: block; }
.sahel-layer { max-width: 250px; }
.sahel-clock { align-items: baseline; flex-wrap: nowrap; }
.sahel-compare-charts img { width: 100%; height: auto; display: block; }
.sahel-compare img.sahel-map-img, .sahel-compare .sahel-map-a img, .sahel-compare .sahel-map-b img {
  max-height: calc(100vh - 540px); min-height: 300px; }
.sahel-main { grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr); }
@media (max-width: 1300px) {
  /* a projector: the run's controls, map and charts first; the scenario card below */
  .sahel-page { grid-template-columns: minmax(0, 1fr); }
  .sahel-side { order: 2; display: flex; flex-wrap: wrap; gap: 8px; }
  .sahel-side .v-card { flex: 1 1 300px; }
  .sahel-date { font-size: 1.35em; }
  .sahel-main img { max-height: calc(100vh - 110px); }
  .sahel-main { grid-template-columns: minmax(0, 1.3fr) minmax(0, 1fr); }
}
@media (max-width: 900px) {
  .sahel-main, .sahel-compare { grid-template-columns: minmax(0, 1fr); }
}
"""


@cache
def get_presets() -> dict[str, C.Preset]:
    """The presets (read once per server process; the files do not change while it runs)."""
    return C.load_presets(os.environ.get(SCENARIOS_DIR_ENV) or None)


class ClassroomModel(SahelModel):
    """A :class:`SahelModel` built from the classroom controls (``None``: the default preset)."""

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


def _fmt(d: dt.date | None) -> str:
    return d.strftime("%b %Y") if d is not None and d.day == 1 else (d.strftime("%d %b %Y") if d else "")


# ---------------------------------------------------------------------------- session state
# solara.reactive values at module level are per browser session (per virtual kernel).
_controls: solara.Reactive[C.Controls | None] = solara.reactive(cast(C.Controls | None, None))
_layer: solara.Reactive[str] = solara.reactive("control")
_speed: solara.Reactive[str] = solara.reactive(DEFAULT_SPEED)


def current_controls() -> C.Controls:
    value = _controls.value
    return value if value is not None else C.defaults_for(get_presets(), C.DEFAULT_PRESET)


# ---------------------------------------------------------------------------- shared widgets
@solara.component
def RunControls(run: solara.Reactive[Any], frame: solara.Reactive[L.Frame | None],
                rebuild: Callable[[], Any], key_events: list[tuple[dt.date, str]]):
    """Reset, Play / Pause, Step, speed, map layer, the date reached and the week: for one run
    or a pair.

    Play advances the chosen number of weeks per frame and stops by itself at the scenario's
    end; Pause brings Step back. The shown date is the date reached at the shown week.
    """
    playing = solara.use_reactive(False)
    error = solara.use_reactive(cast(str | None, None))
    live = run.value
    model = live.model

    def draw() -> None:
        frame.set(live_now().frame(_layer.value))

    def live_now():
        return run.value

    def step() -> None:
        try:
            live_now().advance(1)
            draw()
        except Exception as exc:  # shown, never a dead page
            error.set(f"error while stepping: {exc}")

    busy = solara.use_reactive(False)  # the play loop is still running (its last frame not yet shown)

    def play_loop() -> None:
        if not playing.value:
            end.set(L.at_end(live_now().model))
            return
        busy.set(True)
        try:
            while playing.value:
                t0 = time.perf_counter()
                r = live_now()
                if r.advance(SPEEDS[_speed.value]) == 0:
                    break
                frame.set(r.frame(_layer.value))
                if L.at_end(r.model):
                    break
                time.sleep(max(0.0, FRAME_INTERVAL_S - (time.perf_counter() - t0)))
        except Exception as exc:
            error.set(f"error while playing: {exc}")
        finally:
            playing.set(False)
            end.set(L.at_end(live_now().model))
            busy.set(False)  # Play comes back only once the last frame is on the page

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def reset() -> None:
        playing.set(False)
        new, first_frame = _start(rebuild())
        run.set(new)
        frame.set(first_frame)

    end = solara.use_reactive(False)  # set when a run reaches its end: the buttons change
    ended = L.at_end(model)

    def step_and_mark() -> None:
        step()
        end.set(L.at_end(live_now().model))

    with solara.Row(classes=["sahel-toolbar"]):
        solara.Button("Reset", on_click=lambda: (reset(), end.set(False)), color="primary", outlined=True,
                      disabled=playing.value or busy.value, classes=["sahel-reset"])
        running = playing.value or busy.value
        solara.Button("❚❚ Pause" if running else "▶ Play", on_click=lambda: playing.set(not running),
                      color="primary", disabled=(ended and not running) or (busy.value and not playing.value),
                      classes=["sahel-play"])
        solara.Button("Step", on_click=step_and_mark, color="primary",
                      disabled=running or ended, classes=["sahel-step"])
        solara.Select("Speed (per frame)", value=_speed, values=list(SPEEDS), style={"max-width": "130px"},
                      dense=True, classes=["sahel-speed"])
        LayerSelect(lambda layer: frame.set(live_now().frame(layer)))
        Clock(frame, model, key_events=None)
    Clock(frame, model, key_events=key_events)
    if error.value:
        solara.Error(error.value)


@solara.component
def Clock(frame: solara.Reactive[L.Frame | None], model: Any, key_events: list[tuple[dt.date, str]] | None):
    """The date reached and the week (``key_events=None``), or the latest dated interventions.
    Only these small components and the pictures read the frame: a new week re-renders them,
    not the controls."""
    f = frame.value
    week = f.week if f is not None else int(model.steps)
    date = f.date if f is not None else L.shown_date(model)
    if key_events is None:
        with solara.Row(classes=["sahel-clock"], gap="10px"):
            solara.HTML(tag="span", unsafe_innerHTML=f"{date:%d %B %Y}", classes=["sahel-date"])
            solara.Text(f"week {week} of {model.n_steps}" + (" · end of the scenario" if week >= model.n_steps
                                                               else ""), classes=["sahel-week"])
        return
    shown = [(d, t) for d, t in key_events if model.start_date <= d < date][-2:]
    solara.Text(" · ".join(f"{d:%b %Y}: {t}" for d, t in reversed(shown)) or " ", classes=["sahel-events"])


@solara.component
def LayerSelect(on_change: Callable[[str], None]):
    labels = {spec.label: key for key, spec in F.LAYERS.items()}

    def choose(label: str) -> None:
        _layer.set(labels[label])
        on_change(labels[label])

    solara.Select("Map layer", value=F.LAYERS[_layer.value].label, values=list(labels), on_value=choose,
                  classes=["sahel-layer"], dense=True)


# ---------------------------------------------------------------------------- one run
@solara.component
def ScenarioCard(on_controls: Callable[[C.Controls], None], controls: C.Controls, changes: tuple[str, ...],
                 *, title: str = "Scenario", show_preset: bool = True, show_seed: bool = True,
                 css_class: str = "sahel-scenario"):
    """Preset, interventions and seed. Any change restarts the run from the start date."""
    presets = get_presets()
    c = controls
    scenario = presets[c.preset].scenario
    error = solara.use_reactive(cast(str | None, None))

    def apply(new: C.Controls) -> None:
        try:
            C.build_scenario(presets, new)
        except Exception as exc:  # a ConfigError from an impossible combination: show it
            error.set(str(exc))
            return
        error.set(None)
        on_controls(new)

    def change(**kw: Any) -> None:
        apply(dataclasses.replace(c, **kw))

    label_m = {_fmt(d): d for d in C.month_choices(scenario, keep=[c.minusma_withdrawal_date])}
    label_b = {_fmt(d): d for d in C.month_choices(scenario, keep=[c.barkhane_exit_date])}
    small = {"font-size": "0.85em", "color": "#555", "margin": "0 0 4px 0", "display": "block"}
    row = {"align-items": "center", "gap": "8px", "flex-wrap": "nowrap"}
    with solara.Card(title, margin=0, classes=[css_class]):
        if show_preset:
            solara.Select("Preset (scenario file)", value=c.preset, values=list(presets),
                          on_value=lambda name: apply(C.with_preset(presets, c, name)))
            if scenario.description:
                solara.Text(scenario.description, style=small)

        def switch_with_date(label: str, flag: str, date_field: str, labels: dict) -> None:
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
        if show_seed:
            solara.InputInt("Seed", value=c.seed, on_value=lambda v: change(seed=int(v)) if v is not None and v >= 0
                            else error.set("the seed is a non-negative whole number"))
        solara.Text(("Changed from the preset: " + "; ".join(changes)) if changes else "As in the preset file.",
                    style={**small, "font-weight": "600" if changes else "normal"}, classes=["sahel-changes"])
        if error.value:
            solara.Error(error.value)


def _start(live: Any) -> tuple[Any, L.Frame]:
    frame = live.frame(_layer.value)
    _prepare(live)
    return live, frame


def _prepare(live: Any) -> Any:
    """Scale the new run's charts in the background (:data:`sahel_sim.viz.live.LOOK_AHEAD_WEEKS`)."""
    import threading

    threading.Thread(target=live.prepare, name="sahel-look-ahead", daemon=True).start()
    return live


@solara.component
def Picture(frame: solara.Reactive[L.Frame | None], css_class: str, map_index: int | None = None):
    """One image of the current frame (a map, or the charts when ``map_index`` is None). Only
    these components read the frame, so a new week re-renders the images and the counter,
    not the page."""
    f = frame.value
    data = None if f is None else (f.charts if map_index is None else f.maps[map_index])
    with solara.Div(classes=css_class.split()):
        if data is not None:
            solara.Image(data, format=L.IMAGE_FORMAT)


@solara.component
def Page():
    solara.Style(CSS)
    solara.Title("sahel-sim: Mali classroom")
    first = solara.use_memo(lambda: _start(L.LiveRun(ClassroomModel(current_controls()))), [])
    run = solara.use_reactive(first[0])
    frame = solara.use_reactive(first[1])
    model = cast(ClassroomModel, run.value.model)

    def rebuild() -> L.LiveRun:
        return L.LiveRun(ClassroomModel(current_controls()))

    def on_controls(new: C.Controls) -> None:
        _controls.set(new)
        fresh, first_frame = _start(rebuild())
        run.set(fresh)
        frame.set(first_frame)

    Header("One run")
    with solara.Div(classes=["sahel-page"]):
        with solara.Div(classes=["sahel-side"]):
            ScenarioCard(on_controls, current_controls(), model.changes)
            solara.Text("Any change restarts the run at the start date.",
                        style={"font-size": "0.85em", "color": "#555", "margin": "6px 2px"})
        with solara.Column(gap="2px", style={"min-width": "0"}):
            RunControls(run, frame, rebuild, model.key_events)
            with solara.Div(classes=["sahel-main"]):
                Picture(frame, "sahel-map", 0)
                Picture(frame, "sahel-charts")


# ---------------------------------------------------------------------------- side by side
_compare_a: solara.Reactive[C.Controls | None] = solara.reactive(cast(C.Controls | None, None))
_compare_b: solara.Reactive[C.Controls | None] = solara.reactive(cast(C.Controls | None, None))


def compare_defaults() -> tuple[C.Controls, C.Controls]:
    """A: the default preset as in its file; B: the same without Wagner (the lesson's question)."""
    a = C.defaults_for(get_presets(), C.DEFAULT_PRESET)
    return a, dataclasses.replace(a, wagner_deployed=not a.wagner_deployed)


def compare_controls() -> tuple[C.Controls, C.Controls]:
    da, db = compare_defaults()
    return _compare_a.value or da, _compare_b.value or db


def arm_label(which: str, c: C.Controls) -> str:
    changes = C.describe(get_presets(), c)
    return f"{which}: {c.preset}" + (f" ({'; '.join(changes)})" if changes else " (as in the file)")


def build_comparison() -> L.LiveComparison:
    a, b = compare_controls()
    return L.LiveComparison(ClassroomModel(a), ClassroomModel(b), ("A", "B"))


@solara.component
def ComparePage():
    solara.Style(CSS)
    solara.Title("sahel-sim: side by side")
    first = solara.use_memo(lambda: _start(build_comparison()), [])
    run = solara.use_reactive(first[0])
    frame = solara.use_reactive(first[1])
    a, b = compare_controls()

    def set_arms(new_a: C.Controls, new_b: C.Controls) -> None:
        # one preset and one seed for both arms: the same window and the same chance
        presets = get_presets()
        if new_a.preset != a.preset:
            new_b = C.with_preset(presets, new_b, new_a.preset)
        new_b = dataclasses.replace(new_b, seed=new_a.seed)
        _compare_a.set(new_a)
        _compare_b.set(new_b)
        fresh, first_frame = _start(build_comparison())
        run.set(fresh)
        frame.set(first_frame)

    model = cast(ClassroomModel, run.value.model)
    Header("Side by side")
    with solara.Div(classes=["sahel-page"]):
        with solara.Div(classes=["sahel-side"]):
            ScenarioCard(lambda c: set_arms(c, b), a, tuple(C.describe(get_presets(), a)), title="A",
                         css_class="sahel-arm-a")
            ScenarioCard(lambda c: set_arms(a, c), b, tuple(C.describe(get_presets(), b)),
                         title="B (same preset, same seed)", show_preset=False, show_seed=False,
                         css_class="sahel-arm-b")
            solara.Text("Both runs use the same preset and seed: the difference is the interventions.",
                        style={"font-size": "0.85em", "color": "#555", "margin": "6px 2px"})
        with solara.Column(gap="2px", style={"min-width": "0"}):
            RunControls(run, frame, build_comparison, model.key_events)
            with solara.Div(classes=["sahel-compare"]):
                for i, (which, c) in enumerate((("A", a), ("B", b))):
                    with solara.Column(gap="0px", style={"min-width": "0"}):
                        solara.Text(arm_label(which, c), style={"font-weight": "600"})
                        Picture(frame, f"sahel-map-{which.lower()}", i)
            Picture(frame, "sahel-charts sahel-compare-charts")
            with solara.Div():
                solara.Markdown("**Reading the charts.** Grey: run A; orange: run B; shaded: B - A "
                            "(red where B is higher, blue where lower). Both runs share the preset and the seed, "
                            "so until the first intervention that differs they are identical week by week; "
                            "after it, the difference is the intervention's effect in this run plus chance. "
                            "Change the seed to see how much of it is chance.")


@solara.component
def Header(current: str):
    """Title and the two pages (no app bar: the screen's height goes to the map)."""
    with solara.Row(classes=["sahel-header"]):
        solara.Text("sahel-sim: Mali classroom", classes=["sahel-title"])
        with solara.Row(classes=["sahel-nav"], gap="14px"):
            for label, path in (("One run", "/"), ("Side by side", "/compare")):
                if label == current:
                    solara.Text(label, style={"font-weight": "600", "text-decoration": "underline"})
                else:
                    solara.Link(path, children=[label])


@solara.component
def Layout(children: list = []):  # noqa: B006  # solara's layout signature
    """The whole page is the route's content: no app bar, no drawer."""
    with solara.Column(gap="0px", style={"padding": "0"}) as main:
        for child in children:
            solara.display(child)
    return main


routes = [
    solara.Route(path="/", component=Page, label="One run", layout=Layout),
    solara.Route(path="compare", component=ComparePage, label="Side by side"),
]
