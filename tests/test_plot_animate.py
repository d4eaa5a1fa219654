"""`sahel-sim plot` and `sahel-sim animate` write figures and animations that open."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from sahel_sim.cli import main as cli_main
from sahel_sim.config import ConfigError


@pytest.fixture(scope="module")
def run_result(root):
    from sahel_sim.config import load_scenario
    from sahel_sim.run import run

    # the classroom preset cut to 18 months: crosses nothing dramatic but has events and maps
    sc = load_scenario(root / "scenarios" / "classroom.yaml", ["end_date=2020-06-29"])
    return run(sc, seed=11)


@pytest.fixture(scope="module")
def run_dir(run_result, tmp_path_factory):
    from sahel_sim.io.results import write_run

    return write_run(run_result, tmp_path_factory.mktemp("runs") / "classroom-11")


def _opens(path, *, size=(300, 200)):
    with Image.open(path) as im:
        im.load()
        assert im.width >= size[0] and im.height >= size[1], (path, im.size)
        return im.size


def test_summary_figure_from_a_fresh_result(run_result, tmp_path):
    from sahel_sim.viz.figures import summary_figure

    paths = summary_figure(run_result, tmp_path / "summary.png")
    assert [p.name for p in paths] == ["summary.png"]
    _opens(paths[0], size=(1000, 600))


def test_plot_cli_writes_png_and_svg(run_dir, capsys):
    assert cli_main(["plot", str(run_dir)]) == 0
    out = run_dir / "figures"
    for name in ("trajectories", "maps_control", "maps_layers", "event_mix", "summary"):
        _opens(out / f"{name}.png")
        svg = (out / f"{name}.svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    printed = capsys.readouterr().out.split()
    assert str(out / "trajectories.png") in printed


def test_plot_a_comparison_folder(run_result, run_dir, tmp_path):
    """A folder holding several runs (a comparison's arms) gives overlaid trajectories."""
    from sahel_sim.io.results import write_run
    from sahel_sim.viz.figures import plot_results

    cmp = tmp_path / "cmp"
    shutil.copytree(run_dir, cmp / "arm_a", ignore=shutil.ignore_patterns("figures"))
    write_run(run_result, cmp / "arm_b")
    paths = plot_results(cmp, formats=("png",))
    names = {p.name for p in paths}
    assert {"trajectories.png", "event_mix.png"} <= names
    assert sum(n.startswith("maps_control_") for n in names) == 2
    for p in paths:
        _opens(p)


def test_plot_rejects_a_folder_without_runs(tmp_path):
    with pytest.raises(ConfigError, match="no run folders"):
        from sahel_sim.viz.figures import plot_results

        plot_results(tmp_path)
    assert cli_main(["plot", str(tmp_path / "missing")]) == 2


def test_animate_cli_writes_a_looping_gif(run_dir):
    out = run_dir / "anim.gif"
    assert cli_main(["animate", str(run_dir), "--out", str(out), "--max-frames", "6"]) == 0
    with Image.open(out) as im:
        assert im.format == "GIF" and im.n_frames == 6
        assert im.info.get("loop") == 0
        im.seek(0)
        first = np.asarray(im.convert("RGB"))
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("RGB"))
    assert first.shape == last.shape and first.shape[0] > 400
    assert (first != last).any()  # the date caption at least changes


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_animate_mp4_with_ffmpeg(run_dir):
    out = run_dir / "anim.mp4"
    assert cli_main(["animate", str(run_dir), "--out", str(out), "--max-frames", "4",
                     "--layer", "violence"]) == 0
    assert out.stat().st_size > 1000


def test_captions_name_recent_interventions():
    import datetime as dt

    from sahel_sim.viz.animate import caption_for, frame_indices

    events = [(dt.date(2021, 12, 20), "Wagner deploys (1,000)"), (dt.date(2022, 2, 17), "Barkhane withdraws")]
    assert caption_for(dt.date(2022, 1, 3), events) == "Dec 2021: Wagner deploys (1,000)"
    assert caption_for(dt.date(2022, 2, 20), events).startswith("Feb 2022: Barkhane withdraws")
    assert caption_for(dt.date(2023, 1, 1), events) == ""
    idx = frame_indices(100, 7)
    assert idx[0] == 0 and idx[-1] == 99 and len(idx) == 7


def test_gif_keeps_every_faction_colour(run_dir, tmp_path):
    """Read the GIF back: each frame shows the exact colour of every faction that holds cells
    in that frame (CMA's orange was mapped to grey by a palette built from the first frame)."""
    from matplotlib import colors as mcolors

    from sahel_sim.viz import figures as F
    from sahel_sim.viz.animate import exact_colors, render_frames, write_gif

    data = F.run_data(run_dir)
    frames, _ = render_frames(data, max_frames=5)
    out = write_gif(frames, tmp_path / "a.gif", fps=4, exact=exact_colors("control", data.snapshots.factions))
    checked = 0
    with Image.open(out) as im:
        for k, src in enumerate(frames):
            im.seek(k)
            got = np.asarray(im.convert("RGB"))
            for i, f in enumerate(data.snapshots.factions):
                rgb = np.array([round(255 * c) for c in mcolors.to_rgb(F.actor_color(f, i))], dtype=np.uint8)
                where = (src == rgb).all(axis=-1)
                if where.any():  # every pixel of the faction's colour keeps it exactly
                    assert (got[where] == rgb).all(), (k, f, int(where.sum()))
                    checked += 1
    assert checked >= 5
    cma = np.array([round(255 * c) for c in mcolors.to_rgb(F.actor_color("CMA"))], dtype=np.uint8)
    assert "CMA" in data.snapshots.factions and (frames[-1] == cma).all(axis=-1).any()


def test_animation_caption_fits_the_frame():
    """Three long interventions in a caption: every line is inside the frame and above the map."""
    import datetime as dt

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from sahel_sim.geography import load_grid
    from sahel_sim.viz.animate import FRAME_SIZE_IN, caption_for, draw_frame

    events = [(dt.date(2021, 12, 20), "Wagner deploys (1,000)"),
              (dt.date(2022, 2, 17), "Barkhane withdraws"),
              (dt.date(2022, 3, 1), "restrict_movement of the national army's columns in the north and centre")]
    caption = caption_for(dt.date(2022, 3, 7), events)
    assert caption.splitlines()[0].startswith("Mar 2022") and "Wagner deploys (1,000)" in caption
    grid = load_grid()
    for dpi in (90, 150):
        fig = Figure(figsize=FRAME_SIZE_IN, dpi=dpi)
        canvas = FigureCanvasAgg(fig)
        parts = draw_frame(fig, grid, "control", np.zeros(grid.n_cells, dtype=int), factions=("FAMa",),
                           date=dt.date(2022, 3, 7), caption=caption, label="classroom (seed 1)", vmax=None)
        canvas.draw()
        r = canvas.get_renderer()
        frame = fig.bbox
        cap = parts["caption"].get_window_extent(r)
        assert frame.x0 <= cap.x0 and cap.x1 <= frame.x1 and frame.y0 <= cap.y0 and cap.y1 <= frame.y1, (dpi, cap)
        title = parts["axes"].title.get_window_extent(r)
        assert cap.y0 > title.y1, (cap, title)  # the caption ends above the map's title
        assert not cap.overlaps(parts["date"].get_window_extent(r))
        assert parts["caption"].get_text() == caption


def test_static_maps_draw_camps_only_while_they_exist(run_result, root):
    """Maps of a results folder read the camps' existence from the run: MINUSMA's camps are
    drawn while it has fighters and until a withdrawal that follows their closure dates closes
    them; FAMa's garrisons lost in a dated close_bases are not drawn."""
    import dataclasses
    import datetime as dt

    from sahel_sim.config import load_scenario, scenario_to_data
    from sahel_sim.geography import load_grid
    from sahel_sim.viz import figures as F

    data = F.run_data(run_result)
    grid = load_grid()
    camps = {(b.kind, b.name) for b in grid.bases if b.kind.startswith("minusma")}
    end = data.snapshots.dates[-1]
    shown = {(b.kind, b.name) for b in F.bases_at(data, grid, end)}
    assert camps <= shown  # 2020: MINUSMA is there
    # after the documented withdrawal (historical.yaml's intervention), past the closure dates
    hist = scenario_to_data(load_scenario(root / "scenarios" / "historical.yaml"))["interventions"]
    later = dataclasses.replace(data, interventions={**data.interventions,
                                                     "minusma_withdrawal": hist["minusma_withdrawal"]})
    assert not camps & {(b.kind, b.name) for b in F.bases_at(later, grid, dt.date(2024, 1, 8))}
    # a run where MINUSMA has no fighters (before it deploys): no camp
    weekly = data.weekly.copy()
    weekly["strength_MINUSMA"] = 0.0
    absent = dataclasses.replace(data, weekly=weekly)
    assert not camps & {(b.kind, b.name) for b in F.bases_at(absent, grid, end)}
    # FAMa's dated loss of Kidal (historical.yaml, 2012) hides that garrison
    lost = dataclasses.replace(data, interventions={"k": hist["fama_loses_kidal"]})
    assert ("fama_garrison", "Kidal") not in {(b.kind, b.name) for b in F.bases_at(lost, grid, end)}
