"""A multi-animal project with a video and tracks that have known identity swaps: for tests,
docs and trying the Tracks dock without a trained network.

A shared-arena synthetic clip (animals meet and cross) becomes a DeepLabCut
multi-animal project; its ground truth becomes noisy, shuffled detections
(:func:`~markerless.tracking.simulate.noisy_assemblies`) written as DeepLabCut 3's
``_assemblies.pickle``, which the tracking API turns into ``_el.pickle`` and
``<video><scorer>_el.h5`` (+ .csv) exactly as after ``analyze_videos``. The tracks are
aligned to the true identities, then the requested swaps are injected, so the right
fix is known: undoing each swap gives tracks within the noise of the truth.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from markerless.poses import Poses

__all__ = ["SIM_SCORER", "TrackedProject", "write_tracked_project"]

#: the scorer of the simulated analysis (DeepLabCut's pattern).
SIM_SCORER = "DLC_dlcrnetms5_synthJan01shuffle1_1000"


@dataclass
class TrackedProject:
    config: Path
    video: Path
    tracks: Path  # <video><scorer>_el.h5 (with the injected swaps)
    truth: Poses  # ground truth, individuals named as config.yaml's
    swaps: list[tuple[int, str, str]]  # (frame, a, b): a and b swapped from that frame on


def _align(tracks: Poses, truth: Poses) -> Poses:
    """Tracks reordered so track ``i`` is truth animal ``i`` (most frames within 10 px)."""
    d = np.linalg.norm(tracks.xy[:, :, None] - truth.xy[:, None], axis=-1)  # (F, T, A, K)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        close = (np.nanmean(d, -1) < 10).sum(0)  # (T, A)
    rows, cols = linear_sum_assignment(close, maximize=True)
    order = rows[np.argsort(cols)]
    return Poses(tracks.xy[:, order], tracks.bodyparts, truth.individuals, tracks.frames,
                 tracks.scorer, tracks.likelihood[:, order], tracks.defined[order])


def write_tracked_project(
    root: str | os.PathLike,
    n_animals: int = 2,
    n_frames: int = 120,
    swaps: Sequence[tuple[int, int, int]] = ((60, 0, 1),),
    bodyparts: int = 4,
    size: int = 128,
    seed: int = 1,
    noise_px: float = 0.5,
) -> TrackedProject:
    """Write the project under ``root``; ``swaps`` are ``(frame, a, b)``: animals ``a`` and
    ``b`` (indices) swapped from ``frame`` on, applied in order."""
    from markerless.io.config import read_config, write_config
    from markerless.project.create import create_new_project
    from markerless.synthetic import SyntheticConfig, write_clip
    from markerless.tracking.api import convert_detections2tracklets, stitch_tracklets
    from markerless.tracking.detections import write_assemblies_pickle
    from markerless.tracking.simulate import noisy_assemblies
    from markerless.tracking.stitch import StitchWarning
    from markerless.tracking.tracks_io import write_tracks

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    clip = root / "mice.mp4"
    truth = write_clip(clip, SyntheticConfig(n_frames=n_frames, height=size, width=size,
                                             n_animals=n_animals, arena="shared",
                                             bodyparts=bodyparts, seed=seed))  # fmt: skip
    config = Path(create_new_project("synth", "tracker", [clip], working_directory=root,
                                     copy_videos=True, multianimal=True,
                                     individuals=truth.individuals,
                                     bodyparts=truth.bodyparts))  # fmt: skip
    clip.unlink()
    cfg = read_config(config)
    cfg["skeleton"] = [[a, b] for a, b in zip(truth.bodyparts, truth.bodyparts[1:],
                                               strict=False)]  # fmt: skip
    write_config(cfg, config)
    video = config.parent / "videos" / clip.name
    det = noisy_assemblies(truth, noise_px=noise_px, keypoint_dropout=0.02, seed=seed + 1)
    prefix = video.parent / f"{video.stem}{SIM_SCORER}"
    write_assemblies_pickle(prefix.with_name(prefix.name + "_assemblies.pickle"),
                            det.assemblies.chunks(256))
    convert_detections2tracklets(config, [video], track_method="ellipse", scorer=SIM_SCORER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StitchWarning)
        (h5,) = stitch_tracklets(config, [video], scorer=SIM_SCORER, min_length=5,
                                 save_as_csv=True)
    from markerless.io.dlc_analysis import read_analysis

    tracks = _align(read_analysis(h5), truth)
    done = []
    for frame, a, b in swaps:
        tracks.xy[int(frame):, [a, b]] = tracks.xy[int(frame):, [b, a]]
        tracks.likelihood[int(frame):, [a, b]] = tracks.likelihood[int(frame):, [b, a]]
        done.append((int(frame), truth.individuals[a], truth.individuals[b]))
    write_tracks(tracks, h5, save_as_csv=True, backup=False)
    return TrackedProject(config, video, h5, truth, done)
