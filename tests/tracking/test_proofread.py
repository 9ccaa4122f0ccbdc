"""Proofread tracks on disk: `_el.h5` from the tracking API, swapped, saved and read back by
DeepLabCut's, markerless' and movement's readers; .slp; frames sent to labeled-data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from markerless.errors import ConfigError
from markerless.io.atomic import backup_path
from markerless.io.dlc_analysis import read_analysis
from markerless.tracking.edit import swap_identities
from markerless.tracking.proofread import (
    conform_to_project,
    read_tracks_file,
    save_tracks,
    send_to_labeling,
)
from markerless.tracking.simulate_project import write_tracked_project


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A 2-animal project, its video and `_el.h5` with animal0/animal1 swapped from frame 60."""
    return write_tracked_project(tmp_path_factory.mktemp("tracked"), n_animals=2, n_frames=90,
                                 swaps=[(60, 0, 1)])


def _error(poses, truth) -> np.ndarray:
    """Per frame, the largest per-animal mean keypoint distance to the truth."""
    d = np.linalg.norm(poses.xy - truth.xy, axis=-1)
    with np.errstate(invalid="ignore"):
        return np.nanmax(np.nanmean(d, -1), -1)


def test_open_swap_save_round_trip(project, tmp_path):
    import shutil

    src = tmp_path / project.tracks.name
    shutil.copy(project.tracks, src)
    shutil.copy(project.tracks.with_suffix(".csv"), src.with_suffix(".csv"))
    tracks = read_tracks_file(src, video=project.video)
    assert tracks.format == "dlc" and tracks.poses.n_frames == 90
    assert tracks.poses.individuals == ["animal0", "animal1"]
    err = _error(tracks.poses, project.truth)
    assert err[:60].max() < 3 and err[60:].min() > 10  # the injected swap
    original = read_analysis(src)

    swap_identities(tracks.poses, "animal0", "animal1", 60, inplace=True)
    written = save_tracks(tracks)
    assert written == [src, src.with_suffix(".csv")]  # the .csv existed: kept in step
    assert _error(read_analysis(src), project.truth).max() < 3

    back = read_analysis(src)  # markerless' DeepLabCut reader
    assert back.equals(tracks.poses)
    assert read_analysis(src.with_suffix(".csv")).equals(back)  # .csv == .h5 to float precision
    assert read_analysis(backup_path(src)).equals(original)  # the previous file, kept
    from markerless.evaluation.tracking import evaluate_tracking, load_tracks

    assert load_tracks(src).equals(back)  # the tracking stage's reader
    scores = evaluate_tracking(src, project.truth)
    assert scores.id_switches == 0 and scores.idf1 > 0.99
    df = pd.read_hdf(src)  # DeepLabCut: no key; movement: df_with_missing
    assert df.columns.names == ["scorer", "individuals", "bodyparts", "coords"]
    assert pd.read_hdf(src, key="df_with_missing").equals(df)
    import h5py

    with h5py.File(src) as f:
        assert "tracks" in f  # DeepLabCut's stitcher key, a link to the table
    movement = pytest.importorskip("movement.io.load_poses")
    ds = movement.from_dlc_file(src)
    assert list(ds.individuals.values) == ["animal0", "animal1"]
    pos = ds.position.values  # (time, space, keypoints, individuals)
    assert np.allclose(pos[:, :, :, 1].transpose(0, 2, 1), back.xy[:, 1], equal_nan=True)


def test_slp_tracks_round_trip(project, tmp_path):
    pytest.importorskip("sleap_io")
    from markerless.io.slp import read_slp, write_slp

    poses = read_analysis(project.tracks).select_frames(np.arange(0, 90, 3))  # SLEAP skips
    poses.frames = list(range(0, 90, 3))
    slp = write_slp([(poses, project.video)], tmp_path / "mice.slp", [("snout", "leftear")])
    tracks = read_tracks_file(slp)
    assert tracks.format == "slp" and tracks.video == project.video
    assert tracks.poses.n_frames == 90  # one row per video frame (the video's count)
    assert np.isnan(tracks.poses.xy[1]).all() and np.isfinite(tracks.poses.xy[3]).any()
    swap_identities(tracks.poses, "animal0", "animal1", 60, inplace=True)
    (out,) = save_tracks(tracks)
    assert out == slp and backup_path(slp).is_file()
    (back,) = read_slp(slp)
    assert back.edges == [("snout", "leftear")]
    rows = np.asarray(back.poses.frames)
    assert rows.tolist() == list(range(0, 90, 3))
    assert np.allclose(back.poses.xy, tracks.poses.xy[rows], equal_nan=True, atol=1e-4)
    assert _error(tracks.poses.select_frames(rows),
                  project.truth.select_frames(rows)).max() < 3


def test_send_frames_to_labeling(project):
    from markerless.postprocessing.refine import read_machine_labels

    tracks = read_tracks_file(project.tracks)
    fixed = swap_identities(tracks.poses, "animal0", "animal1", 60)
    sent = send_to_labeling(project.config, project.video, fixed, [70, 5, 33, 70])
    assert sent == [5, 33, 70]
    folder = project.config.parent / "labeled-data" / project.video.stem
    assert sorted(p.name for p in folder.glob("*.png")) == ["img05.png", "img33.png",
                                                           "img70.png"]
    machine = read_machine_labels(project.config, project.video)
    assert machine.individuals == ["animal0", "animal1"]
    assert machine.frames == [f"labeled-data/{folder.name}/img{f:02d}.png" for f in (5, 33, 70)]
    assert np.allclose(machine.xy, fixed.xy[[5, 33, 70]], equal_nan=True)
    assert np.allclose(machine.likelihood, fixed.likelihood[[5, 33, 70]], equal_nan=True)
    assert (folder / "machinelabels-iter0.csv").is_file()
    # frames already waiting are not sent twice; the file keeps the first ones
    assert send_to_labeling(project.config, project.video, fixed, [33, 40]) == [40]
    assert len(read_machine_labels(project.config, project.video).frames) == 4


def test_conform_to_project_names_mismatches(project):
    from markerless.io.config import read_config

    tracks = read_tracks_file(project.tracks).poses
    tracks.individuals = ["female", "male"]
    with pytest.raises(ConfigError, match=r"individuals \['female', 'male'\]"):
        conform_to_project(tracks, read_config(project.config))


def test_command_line_swap_events_and_labeling(project, tmp_path, capsys):
    import shutil

    from markerless.cli import main

    src = tmp_path / project.tracks.name
    shutil.copy(project.tracks, src)
    assert main(["track-events", str(src), "--distance", "1.1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("close: ") and out[1] == "missing: 0 events over 0 frames"
    assert main(["swap-identities", str(src), "animal0", "animal1", "--start", "60"]) == 0
    assert capsys.readouterr().out.split() == [str(src)]  # no .csv beside it: none written
    assert _error(read_analysis(src), project.truth).max() < 3
    assert main(["swap-identities", str(src), "animal0", "rat", "--start", "0"]) == 2
    assert "unknown individual 'rat'" in capsys.readouterr().err
    assert main(["tracks-to-labeling", str(project.config), str(project.tracks),
                 "--frames", "81,82"]) == 0
    assert capsys.readouterr().out.strip().endswith("[81, 82]")


def test_unique_bodyparts_stay_put(project, tmp_path):
    """DeepLabCut's `single` (unique bodyparts) is written, read and saved, never swapped."""
    from markerless.poses import Poses
    from markerless.tracking.events import find_track_events
    from markerless.tracking.tracks_io import write_tracks

    animals = read_analysis(project.tracks)
    n_f, n_a, n_k, _ = animals.xy.shape
    xy = np.full((n_f, n_a + 1, n_k + 1, 2), np.nan)
    xy[:, :n_a, :n_k] = animals.xy
    xy[:, n_a, n_k] = [5.0, 7.0]
    lik = np.full(xy.shape[:3], np.nan)
    lik[:, :n_a, :n_k] = animals.likelihood
    lik[:, n_a, n_k] = 0.9
    defined = np.zeros((n_a + 1, n_k + 1), bool)
    defined[:n_a, :n_k] = defined[n_a, n_k] = True
    poses = Poses(xy, animals.bodyparts + ["arena"], animals.individuals + ["single"],
                  animals.frames, animals.scorer, lik, defined)
    path = write_tracks(poses, tmp_path / "v_el.h5")
    tracks = read_tracks_file(path)
    assert tracks.poses.individuals == ["animal0", "animal1", "single"]
    assert find_track_events(tracks.poses)["missing"].animals == ["animal0", "animal1"]
    swap_identities(tracks.poses, "animal0", "animal1", 60, inplace=True)
    save_tracks(tracks)
    back = read_analysis(path)
    assert back.equals(tracks.poses) and (back.xy[:, 2, n_k] == [5.0, 7.0]).all()
    assert _error(Poses(back.xy[:, :2, :n_k], animals.bodyparts, animals.individuals),
                  project.truth).max() < 3
