"""The ``markerless`` command line: the same verbs as the Python API, for clusters.

Each sub-command is a thin wrapper over one API function; heavy imports happen
inside the handlers so ``markerless --help`` is instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

Handler = Callable[[argparse.Namespace], int]
_COMMANDS: list[tuple[str, str, Callable[[argparse.ArgumentParser], None], Handler]] = []


def command(name: str, help: str, args: Callable[[argparse.ArgumentParser], None]):
    """Register a sub-command: ``args`` adds its arguments, the decorated function runs it."""

    def deco(fn: Handler) -> Handler:
        _COMMANDS.append((name, help, args, fn))
        return fn

    return deco


# --- demo -----------------------------------------------------------------
def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workdir", type=Path, default=Path("markerless-demo"),
                   help="folder for the example project (default: ./markerless-demo)")
    p.add_argument("--frames", type=int, default=None, help="length of the synthetic clip")
    p.add_argument("--quick", action="store_true", help="smallest settings (for tests)")
    p.add_argument("--view", action="store_true", help="open napari on the results")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-train", action="store_true",
                   help="only build the project and its labels (no training/analysis)")


@command("demo", "build the synthetic example project and run the loop on it", _demo_args)
def _demo(ns: argparse.Namespace) -> int:
    from markerless.demo import run_demo

    summary = run_demo(ns.workdir, n_frames=ns.frames, quick=ns.quick, seed=ns.seed,
                       train=not ns.no_train)
    print(summary.report())
    if ns.view:
        from markerless.napari.jupyter import view_project

        view_project(summary.config, block=True)
    return 0


# --- project --------------------------------------------------------------
def _create_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("project")
    p.add_argument("experimenter")
    p.add_argument("videos", nargs="+", type=Path)
    p.add_argument("--working-directory", type=Path, default=None)
    p.add_argument("--copy-videos", action="store_true")
    p.add_argument("--multianimal", action="store_true")
    p.add_argument("--bodyparts", nargs="+", default=None)
    p.add_argument("--individuals", nargs="+", default=None)


@command("create-project", "create a DeepLabCut-layout project", _create_args)
def _create(ns: argparse.Namespace) -> int:
    from markerless.project.create import create_new_project

    cfg = create_new_project(ns.project, ns.experimenter, ns.videos, ns.working_directory,
                             copy_videos=ns.copy_videos, multianimal=ns.multianimal,
                             individuals=ns.individuals, bodyparts=ns.bodyparts)
    print(cfg)
    return 0


def _add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path)
    p.add_argument("videos", nargs="+", type=Path)
    p.add_argument("--copy-videos", action="store_true")


@command("add-videos", "add videos to a project", _add_args)
def _add(ns: argparse.Namespace) -> int:
    from markerless.project.create import add_new_videos

    for path in add_new_videos(ns.config, ns.videos, copy_videos=ns.copy_videos):
        print(path)
    return 0


# --- video ----------------------------------------------------------------
def _probe_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("videos", nargs="+", type=Path)


@command("probe", "print frame count, fps, size and keyframes of videos", _probe_args)
def _probe(ns: argparse.Namespace) -> int:
    from markerless.io.video import probe_video

    for path in ns.videos:
        info = probe_video(path)
        kf = info.keyframes
        gaps = [b - a for a, b in zip(kf, kf[1:], strict=False)]
        print(f"{path}: {info.n_frames} frames, {info.fps:g} fps, {info.width}x{info.height}, "
              f"{'grey' if info.is_grey else 'colour'}, {info.codec}/{info.pix_fmt}, "
              f"{len(kf)} keyframes (longest GOP {max(gaps, default=info.n_frames)} frames)")
    return 0


def _reencode_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("video", type=Path)
    p.add_argument("-o", "--output", type=Path, default=None)
    p.add_argument("--gop", type=int, default=None, help="keyframe interval in frames")
    p.add_argument("--crf", type=int, default=None, help="x264 quality (lower is better)")


@command("reencode", "rewrite a video with short keyframe intervals for instant seeking",
         _reencode_args)
def _reencode(ns: argparse.Namespace) -> int:
    from markerless.io.reencode import reencode_video

    kwargs = {k: v for k, v in (("gop", ns.gop), ("crf", ns.crf)) if v is not None}
    print(reencode_video(ns.video, ns.output, **kwargs))
    return 0


# --- frames, training, evaluation, analysis ---------------------------------
def _shuffle_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shuffle", type=int, default=1)
    p.add_argument("--trainingsetindex", type=int, default=0)


def _extract_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path)
    p.add_argument("--algo", choices=["kmeans", "uniform"], default="kmeans")
    p.add_argument("--numframes2pick", type=int, default=None)
    p.add_argument("--videos", nargs="+", type=Path, default=None)


@command("extract-frames", "pick diverse frames to label into labeled-data/", _extract_args)
def _extract(ns: argparse.Namespace) -> int:
    from markerless.project.frames import extract_frames

    out = extract_frames(ns.config, algo=ns.algo, numframes2pick=ns.numframes2pick,
                         videos=ns.videos)
    for video, pngs in out.items():
        print(f"{video}: {len(pngs)} new frames")
    return 0


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path)
    p.add_argument("--no-images", action="store_true",
                   help="only report suspicious labels, do not write labeled frames")
    p.add_argument("--by-bodypart", action="store_true",
                   help="colour multi-animal labels by bodypart, not by individual")


@command("check-labels", "draw labeled frames into labeled-data/<video>_labeled/ and report "
         "swapped left/right and out-of-image labels (exit 1 if any)", _check_args)
def _check(ns: argparse.Namespace) -> int:
    from markerless.project.check_labels import check_labels

    issues = check_labels(ns.config, write_images=not ns.no_images,
                          visualizeindividuals=not ns.by_bodypart)
    for issue in issues:
        print(issue)
    print(f"{len(issues)} suspicious label(s)")
    return 1 if issues else 0


def _ctd_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path)
    p.add_argument("--num-shuffles", type=int, default=1)
    p.add_argument("--net-type", default=None)
    p.add_argument("--recipe", default="default", help="default, resnet18 or test")
    p.add_argument("--trainingsetindex", type=int, default=None,
                   help="only this TrainingFraction (index); default: all of them")


@command("create-training-dataset", "split labeled frames into train/test sets", _ctd_args)
def _ctd(ns: argparse.Namespace) -> int:
    from markerless.training.dataset import create_training_dataset

    for frac, shuffle, (train, test) in create_training_dataset(
        ns.config, num_shuffles=ns.num_shuffles, net_type=ns.net_type, recipe=ns.recipe,
        trainingsetindex=ns.trainingsetindex,
    ):
        print(f"TrainingFraction {frac} shuffle {shuffle}: {len(train)} train, {len(test)} test")
    return 0


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path)
    _shuffle_args(p)
    p.add_argument("--maxiters", type=int, default=None)
    p.add_argument("--displayiters", type=int, default=None)
    p.add_argument("--saveiters", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--net-type", default=None)
    p.add_argument("--no-resume", action="store_true", help="start over instead of resuming")


@command("train", "train (or resume training) a shuffle's network", _train_args)
def _train(ns: argparse.Namespace) -> int:
    from markerless.training.trainer import train_network

    snap = train_network(ns.config, shuffle=ns.shuffle, trainingsetindex=ns.trainingsetindex,
                         maxiters=ns.maxiters, displayiters=ns.displayiters,
                         saveiters=ns.saveiters, batch_size=ns.batch_size,
                         net_type=ns.net_type, resume=not ns.no_resume)
    print(snap)
    return 0


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path)
    p.add_argument("--shuffles", type=int, nargs="+", default=[1])
    p.add_argument("--trainingsetindex", type=int, default=0)
    p.add_argument("--plotting", action="store_true")
    p.add_argument("--snapshot-index", default=None)


@command("evaluate", "train/test RMSE, PCK and per-bodypart errors", _evaluate_args)
def _evaluate(ns: argparse.Namespace) -> int:
    from markerless.evaluation.evaluate import evaluate_network

    snap = ns.snapshot_index
    if snap is not None and snap != "all":
        snap = int(snap)
    evaluate_network(ns.config, Shuffles=ns.shuffles, trainingsetindex=ns.trainingsetindex,
                     plotting=ns.plotting, snapshot_index=snap)
    return 0


def _analyze_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path)
    p.add_argument("videos", nargs="+", type=Path)
    _shuffle_args(p)
    p.add_argument("--scheduler", default=None, help="dask.distributed scheduler address")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--save-as-csv", action="store_true")
    p.add_argument("--destfolder", type=Path, default=None)
    p.add_argument("--redo", action="store_true")


@command("analyze", "predict keypoints on videos (resumable; --scheduler for a cluster)",
         _analyze_args)
def _analyze(ns: argparse.Namespace) -> int:
    from markerless.analysis.analyze import analyze_cli

    return analyze_cli(ns.config, ns.videos, scheduler=ns.scheduler, batch_size=ns.batch_size,
                       shuffle=ns.shuffle, trainingsetindex=ns.trainingsetindex,
                       save_as_csv=ns.save_as_csv, destfolder=ns.destfolder, redo=ns.redo)


# --- refinement and results -------------------------------------------------
def _videos_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path)
    p.add_argument("videos", nargs="+", type=Path)
    _shuffle_args(p)


def _filter_args(p: argparse.ArgumentParser) -> None:
    _videos_args(p)
    p.add_argument("--filtertype", default="median",
                   choices=["median", "savgol", "arima", "spline"])
    p.add_argument("--windowlength", type=int, default=5)
    p.add_argument("--p-bound", type=float, default=0.001)


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
    _videos_args(p)
    p.add_argument("--outlieralgorithm", default="jump",
                   choices=["jump", "uncertain", "fitting"])
    p.add_argument("--epsilon", type=float, default=20)
    p.add_argument("--p-bound", type=float, default=0.01)
    p.add_argument("--numframes2pick", type=int, default=None)
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
    p.add_argument("config", type=Path)


@command("merge", "merge refined labels and start the next iteration", _merge_args)
def _merge(ns: argparse.Namespace) -> int:
    from markerless.postprocessing.refine import merge_datasets

    print(f"iteration: {merge_datasets(ns.config)}")
    return 0


def _labeled_video_args(p: argparse.ArgumentParser) -> None:
    _videos_args(p)
    p.add_argument("--filtered", action="store_true")
    p.add_argument("--draw-skeleton", action="store_true")
    p.add_argument("--trailpoints", type=int, default=0)
    p.add_argument("--pcutoff", type=float, default=None)
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
    _videos_args(p)
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


def build_parser() -> argparse.ArgumentParser:
    from markerless import __version__

    parser = argparse.ArgumentParser(prog="markerless", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"markerless {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_, add_args, fn in _COMMANDS:
        p = sub.add_parser(name, help=help_, description=help_)
        add_args(p)
        p.set_defaults(_handler=fn)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    from markerless.errors import MarkerlessError

    try:
        return ns._handler(ns)
    except MarkerlessError as err:
        print(f"markerless {ns.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
