"""Bad multi-animal input gets a clear warning or error naming the file, frame or individual."""

from __future__ import annotations

import types

import numpy as np
import pytest
from ma_project import make_ma_project

from markerless.analysis.ma_analyze import _warn_crowded, crowded_frames
from markerless.assembly.spec import MultiAnimalSpec
from markerless.errors import ConfigError, LabelFileError
from markerless.io.config import read_config, write_config
from markerless.training.dataset import create_training_dataset


def test_labels_with_other_individuals_or_bodyparts_are_named(tmp_path):
    config = make_ma_project(tmp_path, n_frames=6)
    cfg = read_config(config)
    cfg["individuals"] = ["animal0", "mouse9"]
    cfg["multianimalbodyparts"] = ["snout", "leftear", "rightear", "tailbase", "tailtip"]
    write_config(cfg, config)
    with pytest.warns(UserWarning) as rec:
        create_training_dataset(config, recipe="test")
    text = " ".join(str(w.message) for w in rec)
    assert "animal1" in text and "not in config.yaml" in text and "clip0" in text
    assert "tailtip" in text
    cfg["individuals"] = ["nobody", "else"]
    write_config(cfg, config)
    with pytest.raises(LabelFileError, match="none of the config's"):
        create_training_dataset(config, recipe="test")


def test_a_graph_outside_the_bodyparts_is_refused():
    with pytest.raises(ConfigError, match="do not join two"):
        MultiAnimalSpec(("a", "b"), ("x", "y"), (), [(0, 2)])
    with pytest.raises(ConfigError, match="paf_best"):
        MultiAnimalSpec(("a", "b"), ("x", "y"), (), [(0, 1)], paf_best=(3,))


def test_more_animals_than_n_tracks_warns_with_the_frames():
    peaks = np.zeros((6, 3, 4, 3))
    peaks[..., 2] = 0.9
    peaks[:, :, 3, 2] = 0.0  # three animals ...
    peaks[:2, :, 2, 2] = 0.0  # ... except in frames 0-1
    crowded = crowded_frames(peaks, n_multi=3, n_tracks=2)
    np.testing.assert_array_equal(crowded, [False, False, True, True, True, True])
    job = types.SimpleNamespace(job=types.SimpleNamespace(video="arena.mp4"),
                                assembler=types.SimpleNamespace(max_n_individuals=2))
    with pytest.warns(UserWarning, match=r"4 frame\(s\) of 'arena.mp4'.*n_tracks=2 "
                                         r"\(frames 2-5\)"):
        _warn_crowded(job, crowded)
