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
