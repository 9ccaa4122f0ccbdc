"""The whole refinement loop with a tiny model: train -> analyze -> extract outliers ->
correct (from the synthetic ground truth) -> merge -> retrain; the error on the outlier
frames must fall."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # two trainings (resnet_tiny, 250 steps) and two analyses

N_FRAMES = 120
#: Short trainings are chaotic across CPUs (the same seed gives other weights on another
#: instruction set), so the assertions below are set by measurements over seeds, not one run.
#: With 150 steps the error on the picked frames fell to 0.46-0.87 of its value over seeds
#: 0-2 (0.87 on an AMD EPYC failed the old 0.75 bound); with 200-250 steps to 0.29-0.63
#: over seeds 0-5, and the retrained model's error on them was 0.9-1.7x its error on the
#: frames labeled first.
STEPS = 250


def _train_and_analyze(config: Path, video: Path, dest: Path):
    from markerless.analysis.analyze import analyze_videos
    from markerless.io.dlc_analysis import read_analysis
    from markerless.training.dataset import create_training_dataset
    from markerless.training.trainer import train_network

    create_training_dataset(config, recipe="test")
    train_network(config, maxiters=STEPS, progress=False)
    scorer = analyze_videos(config, [str(video)], destfolder=dest, progress=False)
    return read_analysis(dest / f"{video.stem}{scorer}.h5")


def test_refinement_loop_lowers_the_error_on_outlier_frames(tmp_path):
    from markerless.io.config import read_config, write_config
    from markerless.io.dlc_labels import write_labels
    from markerless.postprocessing import (
        extract_outlier_frames,
        merge_datasets,
        read_machine_labels,
        refine_labels,
    )
    from markerless.project.create import create_new_project
    from markerless.project.frames import frame_name, write_frames
    from markerless.synthetic import SyntheticConfig, write_clip
    from markerless.training.dataset import load_split

    synth = SyntheticConfig(height=128, width=128, n_frames=N_FRAMES, seed=3, speed=1.5)
    truth = write_clip(tmp_path / "mouse.mp4", synth, gop=10)
    config = Path(create_new_project("loop", "me", [tmp_path / "mouse.mp4"],
                                     working_directory=tmp_path, copy_videos=True,
                                     bodyparts=list(synth.bodyparts)))  # fmt: skip
    cfg = read_config(config)
    cfg["TrainingFraction"], cfg["numframes2pick"] = [1.0], 8
    cfg["start"] = 0.34  # outliers are looked for after the frames labeled first
    write_config(cfg, config)
    video = config.parent / "videos" / "mouse.mp4"

    # iteration 0: six hand-labeled frames (the ground truth) from the first third only, so
    # the model meets poses it never saw later in the video: clear outliers, whatever small
    # numerical differences between machines do to a short training (measured: the error on
    # the picked frames drops to 0.56-0.61 of its value with 150 or 200 steps)
    first = np.linspace(0, N_FRAMES // 3 - 1, 6).round().astype(int)
    folder = config.parent / "labeled-data" / "mouse"
    write_frames(video, first, folder)
    labels = truth.select_frames(first)
    labels.frames = [f"labeled-data/mouse/{frame_name(i, N_FRAMES)}" for i in first]
    labels.scorer = "me"
    write_labels(labels, folder)
    before = _train_and_analyze(config, video, tmp_path / "iter0")

    # frames far from an ARMA fit of the tracks, corrected by "a person" who knows the truth
    # epsilon 2 px: enough candidates that 8 frames are picked whatever the model's quality
    picked = extract_outlier_frames(config, [video], outlieralgorithm="fitting", epsilon=2,
                                    extractionalgo="uniform",
                                    destfolder=tmp_path / "iter0")[str(video)]  # fmt: skip
    assert len(picked) == 8 and min(picked) >= int(0.34 * N_FRAMES)
    machine = read_machine_labels(config, video)
    np.testing.assert_allclose(machine.xy, before.xy[picked])
    corrected = machine.copy()
    corrected.xy[:] = truth.xy[picked]
    refine_labels(config, video, corrected)
    assert merge_datasets(config) == 1

    after = _train_and_analyze(config, video, tmp_path / "iter1")
    split = load_split(config)
    assert {f"labeled-data/mouse/{frame_name(i, N_FRAMES)}" for i in picked} <= set(
        split["train_frames"])  # the corrected frames are training frames now

    def error(poses, frames=picked):
        return np.linalg.norm(poses.xy[frames] - truth.xy[frames], axis=-1).mean()

    # the corrected frames' error falls, and they are now fit like the frames labeled first
    assert error(after) < 0.85 * error(before), (error(before), error(after))
    assert error(after) < 2.5 * error(after, first), (error(after), error(after, first))
