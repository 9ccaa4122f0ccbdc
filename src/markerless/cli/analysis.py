"""CLI verb of video analysis: analyze."""

from __future__ import annotations

import argparse

from markerless.cli import command
from markerless.cli._args import (
    config_file,
    existing_file,
    folder,
    nonnegative_int,
    positive_int,
    probability,
)
from markerless.cli.training import shuffle_args


def _analyze_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file)
    p.add_argument("videos", nargs="+", type=existing_file)
    shuffle_args(p)
    p.add_argument("--scheduler", default=None, help="dask.distributed scheduler address")
    p.add_argument("--batch-size", type=batch_size, default=None,
                   help="frames per network call, or 'auto' to time a few sizes and use the "
                        "fastest (default: config.yaml's batch_size)")
    p.add_argument("--dynamic", choices=("auto", "on", "off"), default="auto",
                   help="two-stage inference (find the animal, then a crop at full "
                        "resolution; DeepLabCut's dynamic cropping): on, off (whole frames), "
                        "or auto: on when the model was trained on crops (default)")
    p.add_argument("--pcutoff", type=probability, default=0.5,
                   help="with --dynamic: the likelihood a keypoint needs to count as found")
    p.add_argument("--margin", type=nonnegative_int, default=10,
                   help="with --dynamic: pixels kept between the animal and the crop's edge")
    p.add_argument("--save-as-csv", action="store_true")
    p.add_argument("--destfolder", type=folder, default=None)
    p.add_argument("--redo", action="store_true")
    p.add_argument("--n-tracks", type=positive_int, default=None,
                   help="multi-animal: most animals per frame (default: the individuals)")
    p.add_argument("--identity-only", action="store_true",
                   help="multi-animal: assemble by the identity head alone")
    p.add_argument("--no-auto-track", action="store_true",
                   help="multi-animal: stop after the _full/_assemblies pickles")


@command("analyze", "predict keypoints on videos (resumable; --scheduler for a cluster)",
         _analyze_args)
def _analyze(ns: argparse.Namespace) -> int:
    from markerless.analysis.analyze import analyze_cli

    return analyze_cli(ns.config, ns.videos, scheduler=ns.scheduler, batch_size=ns.batch_size,
                       shuffle=ns.shuffle, trainingsetindex=ns.trainingsetindex,
                       save_as_csv=ns.save_as_csv, destfolder=ns.destfolder, redo=ns.redo,
                       n_tracks=ns.n_tracks, identity_only=ns.identity_only,
                       auto_track=not ns.no_auto_track,
                       dynamic=None if ns.dynamic == "auto" else (ns.dynamic == "on",
                                                                  ns.pcutoff, ns.margin))


def batch_size(text: str) -> int | str:
    """``auto`` or a whole number >= 1."""
    return "auto" if text.strip().lower() == "auto" else positive_int(text)
