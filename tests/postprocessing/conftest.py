"""A small project with a synthetic video and analysis results made from its ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest
from pp_helpers import N_FRAMES, SCORER, fake_model, make_results

from markerless.io.config import default_config, write_config
from markerless.io.dlc_analysis import write_analysis
from markerless.poses import Poses
from markerless.synthetic import SyntheticConfig, write_clip


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> tuple[Path, Poses]:
    """``(video, ground truth)``: 48 frames, 128x128, 4 bodyparts, keyframe every 8 frames."""
    folder = tmp_path_factory.mktemp("clip")
    cfg = SyntheticConfig(height=128, width=128, n_frames=N_FRAMES, seed=1, speed=2.0)
    truth = write_clip(folder / "mouse.mp4", cfg, gop=8)
    return folder / "mouse.mp4", truth


@pytest.fixture
def project(tmp_path, clip) -> dict:
    """Project folder with config.yaml, videos/mouse.mp4 and its analysis results."""
    video_src, truth = clip
    root = tmp_path / "synth-me-2024-01-01"
    (root / "videos").mkdir(parents=True)
    (root / "labeled-data").mkdir()
    video = root / "videos" / "mouse.mp4"
    video.write_bytes(video_src.read_bytes())
    cfg = default_config(task="synth", scorer="me", date="Jan01", project_path=str(root),
                         bodyparts=list(truth.bodyparts),
                         skeleton=[["snout", "leftear"], ["snout", "rightear"]])
    cfg["video_sets"] = {str(video): {"crop": "0, 128, 0, 128"}}
    cfg["numframes2pick"] = 4
    config = write_config(cfg, root / "config.yaml")
    fake_model(root)  # scorer SCORER: snapshot-100 is the last one
    results = make_results(truth)
    analysis = write_analysis(results, root / "videos" / f"mouse{SCORER}.h5")
    return {"config": config, "root": root, "video": video, "truth": truth,
            "results": results, "analysis": analysis}
