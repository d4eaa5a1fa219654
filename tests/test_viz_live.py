"""The classroom app's frames (sahel_sim.viz.live): what the browser is sent each week.

Runs the classroom preset through 2023 once (about 260 weeks) and checks the app's promises
on it: the date shown matches the week; a run never steps past its end; every actor that
took part in an event has its line in the events chart (Wagner included); MINUSMA's camps
are drawn while they exist and only then; the map paints each cell in its layer colour;
town labels never overlap at the app's size nor on the static maps; chart year labels never
run together; and the side-by-side page's two runs are identical until they diverge.
"""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pytest
from matplotlib import colors as mcolors

from sahel_sim.config import load_scenario
from sahel_sim.model import SahelModel
from sahel_sim.viz import figures as F
from sahel_sim.viz import live as L


@pytest.fixture(scope="module")
def classroom(root):
    return load_scenario(root / "scenarios" / "classroom.yaml")


@pytest.fixture(scope="module")
def through_2023(classroom):
    """The classroom preset, seed 1, run to 1 Jan 2024 (after MINUSMA's last camp closed)."""
    model = SahelModel(classroom, seed=1)
    run = L.LiveRun(model)
    weeks = (dt.date(2024, 1, 1) - classroom.start_date).days // 7
    assert run.advance(weeks) == weeks
    return run


def _overlaps(boxes) -> list[tuple[str, str]]:
    bad = []
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1:]:
            if ba.overlaps(bb):
                bad.append((a, b))
    return bad


# ----------------------------------------------------------------------------- clock
def test_shown_date_is_the_date_reached_and_runs_stop_at_their_end(root):
    sc = load_scenario(root / "scenarios" / "classroom.yaml", ["end_date=2019-03-04"])
    run = L.LiveRun(SahelModel(sc, seed=3))
    m = run.model
    assert L.shown_date(m) == sc.start_date
    run.advance(3)
    assert m.steps == 3 and L.shown_date(m) == sc.start_date + dt.timedelta(weeks=3)
    assert run.frame().date == L.shown_date(m) and run.frame().week == 3
    assert run.advance(1000) == m.n_steps - 3  # stops at the last week
    assert L.at_end(m) and m.steps == m.n_steps and run.advance(1) == 0
    assert L.shown_date(m) == sc.end_date  # the end date, not a week past it


# ----------------------------------------------------------------------------- charts
def test_every_actor_that_acted_has_its_line(through_2023):
    run = through_2023
    rec = run.model.recorder
    acted = {a for i, a in enumerate(run.model.actor_ids) if rec.actor_events[: len(rec.dates), i].sum() > 0}
    panel = L.run_panels(run.series)[0]
    drawn = {s.label for s in panel.series}
    assert drawn == acted
    assert "Wagner" in drawn  # the subject of the lesson: deployed Dec 2021, it takes part in events
    assert len(drawn) > 4  # not the top four only
    # the rendered legend lists them all
    run.frame()
    legend = run.charts.axes[0].get_legend()
    assert {t.get_text() for t in legend.get_texts()} == acted


def test_chart_year_labels_never_run_together(root):
    """2012-2024 (historical) at the app's chart size: 13 years, labels every other year."""
    sc = load_scenario(root / "scenarios" / "historical.yaml")
    run = L.LiveRun(SahelModel(sc, seed=1))
    run.advance(2)
    run.frame()
    renderer = run.charts.canvas.get_renderer()
    for ax in run.charts.axes:
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        assert 3 <= len(labels) <= 7
        boxes = [(t.get_text(), t.get_window_extent(renderer).expanded(1.1, 1.0)) for t in labels]
        assert not _overlaps(boxes), boxes
    assert L.year_ticks(dt.date(2012, 1, 16), dt.date(2024, 12, 30))[0] == dt.date(2013, 1, 1)


def test_charts_blit_matches_a_fresh_drawing(through_2023):
    """Weeks of blitting (data redrawn on a cached background) give the picture a fresh
    figure draws from scratch with the same scales."""
    run = through_2023
    fresh = L.LiveCharts(run.model.start_date, run.model.config.end_date)
    fresh._tops, fresh._bottoms = list(run.charts._tops), list(run.charts._bottoms)
    panels = L.run_panels(run.series)
    a = run.charts.render(panels).astype(int)
    b = fresh.render(panels).astype(int)
    differ = (np.abs(a - b).sum(axis=-1) > 60).mean()
    assert differ < 0.002, differ


# ----------------------------------------------------------------------------- map
def test_minusma_camps_drawn_only_while_they_exist(root, classroom, through_2023):
    camps = {(b.kind, b.name) for b in through_2023.model.grid.bases if b.kind in ("minusma_camp", "minusma_hq")}

    def shown(model):
        return {(b.kind, b.name) for b in L.visible_bases(model)}

    # 2019: MINUSMA is deployed, every camp and the HQ are drawn but the Ogossagou base, opened in
    # March 2020 (scenario: minusma_opens_ogossagou)
    start = SahelModel(classroom, seed=1)
    later = {("minusma_camp", "Ogossagou TOB")}
    assert camps - later <= shown(start) and not later & shown(start)
    # Jan 2024: the withdrawal closed them on their documented dates
    assert not camps & shown(through_2023.model)
    # 2012: MINUSMA does not exist yet (deployed Jul 2013): no camp
    hist = SahelModel(load_scenario(root / "scenarios" / "historical.yaml"), seed=1)
    assert not camps & shown(hist)
    # MINUSMA stays: its camps are still drawn in 2024
    stays = SahelModel(load_scenario(root / "scenarios" / "classroom.yaml",
                                     ["interventions.minusma_withdrawal=null", "end_date=2024-02-05"]), seed=1)
    run = L.LiveRun(stays)
    run.advance(stays.n_steps)
    assert camps <= shown(stays)  # Ogossagou included: open from March 2020
    # FAMa's garrisons lost to armed groups are not drawn while lost
    fama = stays.forces["FAMa"]
    fama.base_open[fama.base_names.index("Kidal")] = False
    assert ("fama_garrison", "Kidal") not in shown(stays) and ("fama_garrison", "Gao") in shown(stays)


def test_map_paints_each_cell_in_its_layer_colour(through_2023):
    m = through_2023.model
    r = L.MapRenderer(m.grid, m.factions, "control")
    frame = r.render(m.control, [])
    colours = r.cell_rgb(m.control)
    L_ = r._layout
    # pixels of cells the overlay leaves clear carry the cell's colour exactly
    clear = np.ones(frame.shape[0] * frame.shape[1], dtype=bool)
    clear[L_.overlay_index] = False
    ok = clear[L_.pixel_index]
    got = frame.reshape(-1, 3)[L_.pixel_index[ok]]
    want = colours[L_.cell_of_pixel[ok]]
    assert (got == want).all()
    # every faction holding a cell shows on the map, in its own colour (CMA orange included)
    for f in {m.factions[c] for c in m.control if c >= 0}:
        rgb = (np.array(mcolors.to_rgb(F.actor_color(f))) * 255).round()
        assert (got == rgb.astype(np.uint8)).all(axis=1).any(), f
    # a continuous layer saturates at its fixed top and is 0 where the value is 0
    v = L.MapRenderer(m.grid, m.factions, "violence")
    rgb = v.cell_rgb(np.array([0.0, 1e9] + [0.0] * (m.grid.n_cells - 2)))
    assert tuple(rgb[1]) != tuple(rgb[0])


def test_live_map_town_labels_never_overlap(through_2023):
    """At the app's map size: labels clear of each other, of other towns' dots and of every
    base marker; Bamako and most regional capitals labelled."""
    from sahel_sim.viz.mapplot import CAPITALS, TownLabels

    m = through_2023.model
    fig, canvas = L._agg(L.MAP_SIZE_PX, 100.0)
    ax = fig.add_axes(L.map_axes_rect("control"))
    F.draw_layer(ax, m.grid, "control", m.control, factions=m.factions, legend=True, legend_below=False,
                 bases=[], label_clear_of=m.grid.bases, text_scale=L.MAP_TEXT_SCALE)
    canvas.draw()
    labels = next(a for a in ax.get_children() if isinstance(a, TownLabels))
    assert len(labels.placed) >= 12
    assert not _overlaps(labels.placed)
    names = {n for n, _ in labels.placed}
    assert "Bamako" in names
    assert len(names & set(CAPITALS)) >= 8, names
    # the boxes are what is drawn: Segou/San and Bougouni/Sikasso, once overlapping, are apart
    for a, b in (("Ségou", "San"), ("Bougouni", "Sikasso")):
        boxes = dict(labels.placed)
        if a in boxes and b in boxes:
            assert not boxes[a].overlaps(boxes[b])


@pytest.mark.parametrize("size", [(10, 8), (6.2, 5.2)])
def test_static_map_town_labels_never_overlap(size):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from sahel_sim.geography import load_grid
    from sahel_sim.viz.mapplot import TownLabels, draw_grid

    fig = Figure(figsize=size, dpi=100, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    draw_grid(ax, load_grid())
    canvas.draw()
    labels = next(a for a in ax.get_children() if isinstance(a, TownLabels))
    assert labels.placed and not _overlaps(labels.placed)


# ----------------------------------------------------------------------------- side by side
def test_side_by_side_runs_are_identical_until_they_diverge(classroom):
    from sahel_sim.config import apply_overrides, scenario_to_data, validate_scenario

    short = apply_overrides(scenario_to_data(classroom), {"end_date": "2022-09-05"})
    a_sc = validate_scenario(short)
    b_sc = validate_scenario(apply_overrides(short, {"interventions.wagner_deploy": None}))
    cmp = L.LiveComparison(SahelModel(a_sc, seed=2), SahelModel(b_sc, seed=2), ("A", "B"))
    wagner = a_sc.interventions["wagner_deploy"].date
    before = (wagner - a_sc.start_date).days // 7 - 1
    cmp.advance(before)
    f = cmp.frame()
    assert f.maps[0] == f.maps[1]  # same seed, same scenario so far: the same map
    panels = L.compare_panels(cmp.runs[0].series, cmp.runs[1].series, ("A", "B"))
    assert all(not np.any(p.series[2].y) for p in panels)  # B - A is zero everywhere
    cmp.advance(20)
    panels = L.compare_panels(cmp.runs[0].series, cmp.runs[1].series, ("A", "B"))
    assert any(np.any(p.series[2].y) for p in panels)  # then the runs differ
    assert cmp.frame().week == before + 20


def test_look_ahead_scales_the_charts_without_changing_the_run(classroom):
    run = L.LiveRun(SahelModel(classroom, seed=4))
    twin = copy.deepcopy(run.model)
    run.frame()
    run.prepare(8)
    assert run.model.steps == 0  # the look-ahead ran on a copy
    scales = (list(run.charts._tops), list(run.charts._bottoms))
    assert max(scales[0]) > 1.0
    for _ in range(8):
        run.advance(1)
        twin.step()
        run.frame()
    assert (run.charts._tops, run.charts._bottoms) == scales  # the first weeks fit the prepared scales
    assert np.array_equal(run.model.control, twin.control)
