"""``plot_trajectories``: quick-look figures of analysis results (DeepLabCut's ``plot-poses``).

Figures are built as ``matplotlib.figure.Figure`` objects, never through pyplot,
so they can be saved headless (Agg) or embedded in a napari dock's canvas
(:func:`make_trajectory_figures`), and nothing global (pyplot's figure list,
the backend) is touched.

Per video, in ``plot-poses/<video stem>/`` (next to the video, or in ``destfolder``):
``trajectory`` (x against y), ``plot`` (x and y over time), ``plot-likelihood`` and
``hist`` (frame-to-frame displacement), each as PNG (``imagetype``) and SVG. Points
below ``pcutoff`` are left out of every panel except the likelihood one.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from markerless.poses import Poses
from markerless.postprocessing.common import (
    PoseSource,
    bodypart_colors,
    list_videos,
    model_scorer,
    plot_settings,
    read_project,
    resolve_analysis,
    select_names,
)

__all__ = ["FIGURE_NAMES", "make_trajectory_figures", "plot_trajectories"]

#: figure names (DeepLabCut's file names without suffix).
FIGURE_NAMES = ("trajectory", "plot", "plot-likelihood", "hist")


def _figure(width: float = 6.4, height: float = 4.8):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _individual_figures(xy: np.ndarray, lik: np.ndarray | None, names: list[str],
                        colors: np.ndarray, title: str, size: tuple[int, int] | None,
                        linewidth: float, alpha: float) -> dict[str, Any]:
    """The four figures of one individual: ``xy`` (frames, K, 2) already masked by pcutoff."""
    n = xy.shape[0]
    t = np.arange(n)
    figs: dict[str, Any] = {}

    fig = _figure()
    ax = fig.add_subplot()
    for k, name in enumerate(names):
        ax.plot(xy[:, k, 0], xy[:, k, 1], ".-", color=colors[k], ms=2, lw=linewidth,
                alpha=alpha, label=name)  # fmt: skip
    if size is not None:
        ax.set_xlim(0, size[0])
        ax.set_ylim(0, size[1])
    ax.invert_yaxis()  # image coordinates: y grows downwards
    ax.set_aspect("equal", adjustable="box")
    ax.set(xlabel="x (px)", ylabel="y (px)", title=f"{title}trajectories")
    ax.legend(loc="best", fontsize="small", markerscale=3)
    figs["trajectory"] = fig

    fig = _figure(8, 4.8)
    axes = fig.subplots(2, 1, sharex=True)
    for c, (ax, label) in enumerate(zip(axes, ("x (px)", "y (px)"), strict=True)):
        for k, name in enumerate(names):
            ax.plot(t, xy[:, k, c], "-", color=colors[k], lw=linewidth, alpha=alpha, label=name)
        ax.set_ylabel(label)
    axes[0].set_title(f"{title}position over time")
    axes[0].legend(loc="best", fontsize="small")
    axes[1].set_xlabel("frame")
    figs["plot"] = fig

    fig = _figure(8, 3.6)
    ax = fig.add_subplot()
    if lik is not None:
        for k, name in enumerate(names):
            ax.plot(t, lik[:, k], "-", color=colors[k], lw=linewidth, alpha=alpha, label=name)
        ax.legend(loc="best", fontsize="small")
    else:
        ax.text(0.5, 0.5, "no likelihood (labels)", ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip
    ax.set(xlabel="frame", ylabel="likelihood", ylim=(-0.05, 1.05),
           title=f"{title}likelihood")  # fmt: skip
    figs["plot-likelihood"] = fig

    fig = _figure()
    ax = fig.add_subplot()
    step = np.linalg.norm(np.diff(xy, axis=0), axis=-1)  # (n-1, K), NaN where unknown
    finite = step[np.isfinite(step)]
    top = float(np.percentile(finite, 99.5)) if finite.size else 1.0
    bins = np.linspace(0, max(top, 1e-6), 41)
    for k, name in enumerate(names):
        d = step[:, k][np.isfinite(step[:, k])]
        if d.size:
            ax.hist(np.clip(d, 0, bins[-1]), bins=bins, histtype="step", color=colors[k],
                    lw=1.5, label=name)  # fmt: skip
    ax.set(xlabel="displacement between consecutive frames (px)", ylabel="count",
           title=f"{title}frame-to-frame displacement")  # fmt: skip
    if finite.size:
        ax.legend(loc="best", fontsize="small")
    figs["hist"] = fig
    return figs


def make_trajectory_figures(
    poses: Poses,
    bodyparts: str | Sequence[str] = "all",
    individuals: str | Sequence[str] = "all",
    pcutoff: float = 0.6,
    colormap: str = "rainbow",
    image_size: tuple[int, int] | None = None,
    linewidth: float = 1.0,
    alpha: float = 1.0,
) -> dict[str, Any]:
    """Figures of ``poses``: name -> ``matplotlib.figure.Figure`` (not registered with pyplot).

    Names are :data:`FIGURE_NAMES`; with several individuals each name gets ``_<individual>``.
    One colour per bodypart from ``colormap`` (the labeled videos' and napari's colours);
    points below ``pcutoff`` likelihood are masked. ``image_size`` ``(width, height)`` sets
    the trajectory axes to the frame. Close them with ``fig.clear()`` or let them be collected.
    """
    kp = select_names(poses.bodyparts, bodyparts)
    ind = select_names(poses.individuals, individuals, "individuals")
    colors = bodypart_colors(len(kp), colormap)
    xy = poses.xy[:, :, kp].copy()
    lik = None if poses.likelihood is None else poses.likelihood[:, :, kp]
    if lik is not None:
        xy[lik < pcutoff] = np.nan
    out: dict[str, Any] = {}
    for i in ind:
        cols = poses.defined[i, kp]
        if not cols.any():
            continue
        who = poses.individuals[i]
        title = f"{who}: " if who else ""
        figs = _individual_figures(xy[:, i][:, cols], None if lik is None else lik[:, i][:, cols],
                                   [poses.bodyparts[k] for k in kp[cols]], colors[cols], title,
                                   image_size, linewidth, alpha)  # fmt: skip
        out.update({f"{name}_{who}" if poses.multianimal else name: f for name, f in figs.items()})
    return out


def plot_trajectories(
    config: str | os.PathLike,
    videos: str | os.PathLike | Sequence[str | os.PathLike],
    videotype: str = "",
    shuffle: int = 1,
    trainingsetindex: int = 0,
    filtered: bool = False,
    displayedbodyparts: str | Sequence[str] = "all",
    showfigures: bool = False,
    destfolder: str | os.PathLike | None = None,
    pcutoff: float | None = None,
    imagetype: str = ".png",
    *,
    displayedindividuals: str | Sequence[str] = "all",
    analysis: PoseSource | Mapping[str, PoseSource] | None = None,
    svg: bool = True,
    dpi: int = 100,
    **dlc_kwargs: Any,
) -> dict[str, list[Path]]:
    """Save trajectory, position, likelihood and displacement figures per video (DeepLabCut's API).

    Results come from ``<video stem><scorer>[_filtered].h5`` in ``destfolder`` (default:
    next to each video), or ``analysis=``; figures go to ``<destfolder or video folder>/
    plot-poses/<video stem>/<name>[_filtered]<imagetype>`` and, with ``svg``, ``.svg``.
    ``showfigures`` is accepted for compatibility but never opens windows (core code
    stays headless): use :func:`make_trajectory_figures` to get the figures.

    Returns video path -> files written.
    """
    if dlc_kwargs:
        warnings.warn(f"ignored DeepLabCut options: {sorted(dlc_kwargs)}", stacklevel=2)
    if showfigures:
        warnings.warn("showfigures is ignored: use make_trajectory_figures() to display them",
                      stacklevel=2)  # fmt: skip
    from markerless.io.video import probe_video

    cfg, project = read_project(config)
    settings = plot_settings(cfg, pcutoff=pcutoff)
    scorer = None if analysis is not None else model_scorer(project, shuffle, trainingsetindex)
    ext = imagetype if imagetype.startswith(".") else f".{imagetype}"
    suffix = "_filtered" if filtered else ""
    written: dict[str, list[Path]] = {}
    for video in list_videos(videos, videotype):
        poses, _ = resolve_analysis(project, video, shuffle, trainingsetindex, filtered,
                                    destfolder, analysis, scorer)  # fmt: skip
        try:
            info = probe_video(video)
            size = (info.width, info.height)
        except Exception:  # noqa: BLE001 - the plots do not need the video itself
            size = None
        figs = make_trajectory_figures(poses, displayedbodyparts, displayedindividuals,
                                       settings["pcutoff"], settings["colormap"], size)
        folder = Path(destfolder or video.parent) / "plot-poses" / video.stem
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, fig in figs.items():
            for e in dict.fromkeys([ext] + ([".svg"] if svg else [])):
                path = folder / f"{name}{suffix}{e}"
                fig.savefig(path, dpi=dpi)
                paths.append(path)
            fig.clear()
        written[str(video)] = paths
    return written
