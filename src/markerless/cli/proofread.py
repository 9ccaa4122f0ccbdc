"""CLI verbs for proofreading tracks: swap identities, list the events worth a look, send
frames to labeled-data (the Tracks dock's actions, for scripts and remote machines)."""

from __future__ import annotations

import argparse

from markerless.cli import command
from markerless.cli._args import (
    config_file,
    existing_file,
    nonnegative_int,
    positive_float,
    probability,
)
from markerless.cli.multianimal import _frames


def _swap_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("tracks", type=existing_file, help="_el.h5 (or .csv, .slp) to correct")
    p.add_argument("a", help="an animal (individual name)")
    p.add_argument("b", help="the animal it was swapped with")
    p.add_argument("--start", type=nonnegative_int, required=True,
                   help="first video frame to swap")
    p.add_argument("--stop", type=nonnegative_int, default=None,
                   help="first frame NOT swapped (default: to the end of the video)")
    p.add_argument("-o", "--output", default=None,
                   help="write here instead of replacing the file (kept as .bak)")
    p.add_argument("--csv", dest="csv", action="store_true", default=None,
                   help="also write the .csv (default: when one exists)")


@command("swap-identities", "swap two animals' tracks from a frame on (or over a range)",
         _swap_args)
def _swap(ns: argparse.Namespace) -> int:
    from markerless.tracking.edit import swap_identities
    from markerless.tracking.proofread import read_tracks_file, save_tracks

    tracks = read_tracks_file(ns.tracks)
    swap_identities(tracks.poses, ns.a, ns.b, ns.start, ns.stop, inplace=True)
    for path in save_tracks(tracks, ns.output, save_as_csv=ns.csv):
        print(path)
    return 0


def _events_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("tracks", type=existing_file, help="_el.h5, .csv or .slp")
    p.add_argument("--distance", type=positive_float, default=0.5,
                   help="'close' below this distance between centres (default 0.5)")
    p.add_argument("--unit", choices=["body", "px"], default="body",
                   help="distance in body lengths (default) or pixels")
    p.add_argument("--pcutoff", type=probability, default=0.6,
                   help="'low_confidence' below this mean likelihood")


@command("track-events", "frames where animals come close, a track is missing, or "
         "confidence drops", _events_args)
def _events(ns: argparse.Namespace) -> int:
    from markerless.tracking.events import find_track_events
    from markerless.tracking.proofread import read_tracks_file
    from markerless.tracking.stitch import frame_ranges

    poses = read_tracks_file(ns.tracks).poses
    for kind, ev in find_track_events(poses, distance=ns.distance, unit=ns.unit,
                                pcutoff=ns.pcutoff).items():
        starts = ev.starts()
        print(f"{kind}: {len(starts)} events over {ev.n_frames} frames"
              + (f"; they begin at frames {frame_ranges(starts.tolist())}" if len(starts)
                 else ""))
    return 0


def _send_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=config_file)
    p.add_argument("tracks", type=existing_file, help="_el.h5, .csv or .slp")
    p.add_argument("--frames", type=_frames, required=True, help="e.g. 12,40,133 or 0:900:100")
    p.add_argument("--video", type=existing_file, default=None,
                   help="default: the video beside the tracks (or named in the .slp)")


@command("tracks-to-labeling", "extract frames with the tracks as multi-animal machine labels",
         _send_args)
def _send(ns: argparse.Namespace) -> int:
    from markerless.errors import VideoError
    from markerless.tracking.proofread import read_tracks_file, send_to_labeling

    tracks = read_tracks_file(ns.tracks, ns.video)
    if tracks.video is None or not tracks.video.is_file():
        raise VideoError("no video found for the tracks; pass --video", ns.tracks)
    sent = send_to_labeling(ns.config, tracks.video, tracks.poses, list(ns.frames))
    print(f"{len(sent)} frames sent to labeled-data/{tracks.video.stem}: {sent}")
    return 0
