"""Trajectory figures: files exist, are not blank, and show the bodyparts' colours."""

from __future__ import annotations

import numpy as np
from PIL import Image

from markerless.poses import Poses
from markerless.postprocessing.common import bodypart_colors
from markerless.postprocessing.plots import (
    FIGURE_NAMES,
    make_trajectory_figures,
    plot_trajectories,
)


def _has_colour(png, rgb, tol=12) -> bool:
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    return bool((np.abs(img - np.rint(np.asarray(rgb) * 255)).max(-1) <= tol).any())


def test_plot_trajectories_writes_non_blank_png_and_svg(project):
    config, video = project["config"], project["video"]
    written = plot_trajectories(config, [video])[str(video)]
    folder = project["root"] / "videos" / "plot-poses" / "mouse"
    assert sorted(p.name for p in written) == sorted(
        f"{n}{e}" for n in FIGURE_NAMES for e in (".png", ".svg"))
    colors = bodypart_colors(4, "rainbow")
    for name in FIGURE_NAMES:
        png = folder / f"{name}.png"
        img = np.asarray(Image.open(png).convert("L"), dtype=float)
        assert img.std() > 10, name  # not a blank canvas
        assert (folder / f"{name}.svg").read_text().lstrip().startswith("<?xml")
    assert _has_colour(folder / "trajectory.png", colors[0])  # snout's line colour
    assert _has_colour(folder / "plot.png", colors[3])
    assert _has_colour(folder / "hist.png", colors[1])


def test_filtered_suffix_destfolder_and_pcutoff(project, tmp_path):
    config, video, results = project["config"], project["video"], project["results"]
    masked = results.copy()
    masked.likelihood[:, 0, 0] = 0.1  # snout always below pcutoff: never drawn
    written = plot_trajectories(config, [video], filtered=True, destfolder=tmp_path,
                                analysis=masked, svg=False)[str(video)]  # fmt: skip
    assert {p.name for p in written} == {f"{n}_filtered.png" for n in FIGURE_NAMES}
    colors = bodypart_colors(4, "rainbow")
    assert _has_colour(tmp_path / "plot-poses" / "mouse" / "plot-likelihood_filtered.png",
                       colors[0])  # the likelihood panel shows the masked snout ...
    figs = make_trajectory_figures(masked, pcutoff=0.6)
    snout, ear = figs["trajectory"].axes[0].get_lines()[:2]
    assert np.isnan(snout.get_xdata()).all()  # ... the other panels do not
    np.testing.assert_allclose(ear.get_ydata(), masked.xy[:, 0, 1, 1])


def test_make_trajectory_figures_for_several_individuals():
    rng = np.random.default_rng(0)
    xy = 50 + np.cumsum(rng.normal(0, 1, (30, 2, 3, 2)), axis=0)
    poses = Poses(xy, ["a", "b", "c"], ["mouse1", "mouse2"], likelihood=np.ones((30, 2, 3)))
    figs = make_trajectory_figures(poses, bodyparts=["a", "c"], individuals=["mouse2"])
    assert set(figs) == {f"{n}_mouse2" for n in FIGURE_NAMES}
    ax = figs["trajectory_mouse2"].axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["a", "c"]
    np.testing.assert_allclose(ax.get_lines()[1].get_xdata(), xy[:, 1, 2, 0])
