"""CLI verb of video analysis: analyze."""

from __future__ import annotations

import argparse

from markerless.cli import command
from markerless.cli._args import config_file, existing_file, folder, positive_int
from markerless.cli.training import shuffle_args


def _analyze_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file)
    p.add_argument("videos", nargs="+", type=existing_file)
    shuffle_args(p)
    p.add_argument("--scheduler", default=None, help="dask.distributed scheduler address")
    p.add_argument("--batch-size", type=positive_int, default=None)
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
                       auto_track=not ns.no_auto_track)
