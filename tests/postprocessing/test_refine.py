"""refine_labels (corrections -> CollectedData), refinement_status and merge_datasets."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.errors import ConfigError
from markerless.io.config import read_config
from markerless.io.dlc_labels import read_labels, write_labels
from markerless.postprocessing.outliers import extract_outlier_frames
from markerless.postprocessing.refine import (
    merge_datasets,
    read_machine_labels,
    refine_labels,
    refinement_status,
)


def _extract(project, frames=(20, 33), analysis=None):
    extract_outlier_frames(project["config"], [project["video"]], outlieralgorithm="manual",
                           frames=list(frames), numframes2pick=10, analysis=analysis)  # fmt: skip
    return read_machine_labels(project["config"], project["video"])


def test_refine_merges_corrections_into_collected_data(project):
    config, truth, root = project["config"], project["truth"], project["root"]
    folder = root / "labeled-data" / "mouse"
    folder.mkdir(parents=True)
    human = truth.select_frames([5])
    human.frames, human.scorer = ["labeled-data/mouse/img05.png"], "me"
    write_labels(human, folder)
    machine = _extract(project)
    assert machine.frames == ["labeled-data/mouse/img20.png", "labeled-data/mouse/img33.png"]
    corrected = machine.copy()
    corrected.xy[:] = truth.xy[[20, 33]]  # the person moved every point to the truth ...
    corrected.xy[1, 0, 3] = np.nan  # ... and removed one (tail base not visible)
    path = refine_labels(config, project["video"], corrected)
    assert path == folder / "CollectedData_me.h5" and path.with_suffix(".csv").is_file()
    labels = read_labels(path)
    assert labels.scorer == "me" and labels.likelihood is None
    assert labels.frames == [f"labeled-data/mouse/img{i:02d}.png" for i in (5, 20, 33)]
    np.testing.assert_allclose(labels.xy[0], truth.xy[5])  # human labels untouched
    np.testing.assert_allclose(labels.xy[1], truth.xy[20])
    assert np.isnan(labels.xy[2, 0, 3]).all()
    np.testing.assert_allclose(labels.xy[2, 0, :3], truth.xy[33, 0, :3])
    assert (folder / "CollectedData_me.h5.bak").is_file()  # the previous file is kept


def test_refine_accepts_frame_numbers_bare_names_and_pcutoff(project):
    config, truth, root = project["config"], project["truth"], project["root"]
    machine = _extract(project)
    corrected = machine.copy()
    corrected.frames = [20, "img33.png"]
    corrected.likelihood[1, 0, 0] = 0.1  # an unchecked, unsure guess
    path = refine_labels(config, "mouse", corrected, pcutoff=0.5)
    labels = read_labels(path)
    assert labels.frames == ["labeled-data/mouse/img20.png", "labeled-data/mouse/img33.png"]
    assert np.isnan(labels.xy[1, 0, 0]).all() and np.isfinite(labels.xy[0]).all()
    with pytest.raises(ConfigError, match="bodyparts"):
        bad = machine.copy()
        bad.bodyparts = ["snout", "leftear", "rightear", "tail"]
        refine_labels(config, root / "labeled-data" / "mouse", bad)
    del truth


def test_status_and_merge_datasets_bump_the_iteration_once_refined(project):
    config, root = project["config"], project["root"]
    assert refinement_status(config) == {}
    text = config.read_text().replace("iteration: 0", "iteration: 0  # refinement round")
    config.write_text(text)
    machine = _extract(project)
    assert refinement_status(config) == {"mouse": "unrefined"}
    with pytest.warns(UserWarning, match="mouse"):
        assert merge_datasets(config) is None
    assert read_config(config)["iteration"] == 0
    half = machine.select_frames([0])
    refine_labels(config, project["video"], half)
    assert refinement_status(config) == {"mouse": "unrefined"}  # img33 still waits
    refine_labels(config, project["video"], machine)
    assert refinement_status(config) == {"mouse": "refined"}
    (root / "labeled-data" / "other").mkdir()
    (root / "labeled-data" / "other" / "img1.png").write_bytes(b"")
    with pytest.warns(UserWarning, match="other"):
        assert merge_datasets(config) is None
    (root / "labeled-data" / "other" / "img1.png").unlink()  # empty folders do not count
    assert merge_datasets(config) == 1
    assert read_config(config)["iteration"] == 1
    assert "# refinement round" in config.read_text()  # comments survive
    assert merge_datasets(config, forceiterate=5) == 5
    # the next extraction (no iteration-5 model here: results given) writes
    # machinelabels-iter5 and leaves iter0 alone
    _extract(project, frames=(40,), analysis=project["results"])
    assert read_machine_labels(config, "mouse").frames == ["labeled-data/mouse/img40.png"]
    assert read_machine_labels(config, "mouse", iteration=0).n_frames == 2
