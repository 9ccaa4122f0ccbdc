"""CLI verbs of refinement and results: filter, extract-outliers, merge, labeled-video, plot."""

from __future__ import annotations

import argparse
import sys

from markerless.cli import command
from markerless.cli._args import (
    config_file,
    existing_file,
    nonnegative_int,
    positive_float,
    positive_int,
    probability,
)
from markerless.cli.training import shuffle_args


def videos_args(p: argparse.ArgumentParser) -> None:
    """``config videos... --shuffle --trainingsetindex``."""
    p.add_argument("config", type=config_file)
    p.add_argument("videos", nargs="+", type=existing_file)
    shuffle_args(p)


def _filter_args(p: argparse.ArgumentParser) -> None:
    videos_args(p)
    p.add_argument("--filtertype", default="median",
                   choices=["median", "savgol", "arima", "spline"])
    p.add_argument("--windowlength", type=positive_int, default=5)
    p.add_argument("--p-bound", type=probability, default=0.001)


@command("filter", "smooth predictions into <video><scorer>_filtered.h5", _filter_args)
def _filter(ns: argparse.Namespace) -> int:
    from markerless.postprocessing.filtering import filterpredictions

    out = filterpredictions(ns.config, ns.videos, shuffle=ns.shuffle,
                            trainingsetindex=ns.trainingsetindex, filtertype=ns.filtertype,
                            windowlength=ns.windowlength, p_bound=ns.p_bound)
    for path in out.values():
        print(path)
    return 0


def _outlier_args(p: argparse.ArgumentParser) -> None:
    videos_args(p)
    p.add_argument("--outlieralgorithm", default="jump",
                   choices=["jump", "uncertain", "fitting"])
    p.add_argument("--epsilon", type=positive_float, default=20)
    p.add_argument("--p-bound", type=probability, default=0.01)
    p.add_argument("--numframes2pick", type=positive_int, default=None)
    p.add_argument("--extractionalgo", default="kmeans", choices=["kmeans", "uniform"])


@command("extract-outliers", "pick frames where the network likely failed, with its labels",
         _outlier_args)
def _outliers(ns: argparse.Namespace) -> int:
    from markerless.postprocessing.outliers import extract_outlier_frames

    out = extract_outlier_frames(ns.config, ns.videos, shuffle=ns.shuffle,
                                 trainingsetindex=ns.trainingsetindex,
                                 outlieralgorithm=ns.outlieralgorithm, epsilon=ns.epsilon,
                                 p_bound=ns.p_bound, numframes2pick=ns.numframes2pick,
                                 extractionalgo=ns.extractionalgo)
    print(out)
    return 0


def _merge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file)


@command("merge", "merge refined labels and start the next iteration", _merge_args)
def _merge(ns: argparse.Namespace) -> int:
    from markerless.postprocessing.refine import merge_datasets

    iteration = merge_datasets(ns.config)
    if iteration is None:
        print("not merged (see the warning above): the iteration is unchanged", file=sys.stderr)
        return 1
    print(f"iteration: {iteration}")
    return 0


def _labeled_video_args(p: argparse.ArgumentParser) -> None:
    videos_args(p)
    p.add_argument("--filtered", action="store_true")
    p.add_argument("--draw-skeleton", action="store_true")
    p.add_argument("--trailpoints", type=nonnegative_int, default=0)
    p.add_argument("--pcutoff", type=probability, default=None)
    p.add_argument("--color-by", default="bodypart", choices=["bodypart", "individual"])


@command("labeled-video", "draw predictions onto the videos (mp4)", _labeled_video_args)
def _labeled_video(ns: argparse.Namespace) -> int:
    from markerless.postprocessing.labeled_video import create_labeled_video

    for path in create_labeled_video(ns.config, ns.videos, shuffle=ns.shuffle,
                                     trainingsetindex=ns.trainingsetindex,
                                     filtered=ns.filtered, draw_skeleton=ns.draw_skeleton,
                                     trailpoints=ns.trailpoints, pcutoff=ns.pcutoff,
                                     color_by=ns.color_by):
        print(path)
    return 0


def _plot_args(p: argparse.ArgumentParser) -> None:
    videos_args(p)
    p.add_argument("--filtered", action="store_true")


@command("plot", "trajectory, likelihood and displacement plots (plot-poses/)", _plot_args)
def _plot(ns: argparse.Namespace) -> int:
    from markerless.postprocessing.plots import plot_trajectories

    for files in plot_trajectories(ns.config, ns.videos, shuffle=ns.shuffle,
                                   trainingsetindex=ns.trainingsetindex,
                                   filtered=ns.filtered).values():
        for f in files:
            print(f)
    return 0
