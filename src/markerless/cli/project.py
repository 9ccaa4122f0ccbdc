"""CLI verbs of the project and video stages: demo, create-project, add-videos, probe,
reencode, extract-frames, check-labels."""

from __future__ import annotations

import argparse
from pathlib import Path

from markerless.cli import command
from markerless.cli._args import config_file, existing_file, nonnegative_int, positive_int


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workdir", type=Path, default=Path("markerless-demo"),
                   help="folder for the example project (default: ./markerless-demo)")
    p.add_argument("--frames", type=positive_int, default=None,
                   help="length of the synthetic clip")
    p.add_argument("--quick", action="store_true", help="smallest settings (for tests)")
    p.add_argument("--view", action="store_true", help="open napari on the results")
    p.add_argument("--seed", type=nonnegative_int, default=0)
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


def _create_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("project")
    p.add_argument("experimenter")
    p.add_argument("videos", nargs="+", type=existing_file)
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
    p.add_argument("config", type=config_file)
    p.add_argument("videos", nargs="+", type=existing_file)
    p.add_argument("--copy-videos", action="store_true")


@command("add-videos", "add videos to a project", _add_args)
def _add(ns: argparse.Namespace) -> int:
    from markerless.project.create import add_new_videos

    for path in add_new_videos(ns.config, ns.videos, copy_videos=ns.copy_videos):
        print(path)
    return 0


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
    p.add_argument("video", type=existing_file)
    p.add_argument("-o", "--output", type=Path, default=None)
    p.add_argument("--gop", type=positive_int, default=None, help="keyframe interval in frames")
    p.add_argument("--crf", type=nonnegative_int, default=None,
                   help="x264 quality, 0-51 (lower is better)")


@command("reencode", "rewrite a video with short keyframe intervals for instant seeking",
         _reencode_args)
def _reencode(ns: argparse.Namespace) -> int:
    from markerless.io.reencode import reencode_video

    kwargs = {k: v for k, v in (("gop", ns.gop), ("crf", ns.crf)) if v is not None}
    print(reencode_video(ns.video, ns.output, **kwargs))
    return 0


def _extract_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file)
    p.add_argument("--algo", choices=["kmeans", "uniform"], default="kmeans")
    p.add_argument("--numframes2pick", type=positive_int, default=None)
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
    p.add_argument("config", type=config_file)
    p.add_argument("--no-images", action="store_true",
                   help="only report suspicious labels, do not write labeled frames")
    p.add_argument("--by-bodypart", action="store_true",
                   help="colour multi-animal labels by bodypart, not by individual")


@command("check-labels", "draw labeled frames into labeled-data/<video>_labeled/ and report "
         "problems with the labels (exit 1 if any)", _check_args)
def _check(ns: argparse.Namespace) -> int:
    from markerless.project.check_labels import check_labels

    issues = check_labels(ns.config, write_images=not ns.no_images,
                          visualizeindividuals=not ns.by_bodypart)
    for issue in issues:
        print(issue)
    print(f"{len(issues)} suspicious label(s)")
    return 1 if issues else 0
