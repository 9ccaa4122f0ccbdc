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
        gaps = [b - a for a, b in zip(kf, kf[1:])]
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
