"""config.yaml: byte-exact round trips, DeepLabCut's defaults and the name helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ruamel.yaml import YAML

from markerless.errors import ConfigError
from markerless.io.config import (
    config_template,
    default_config,
    dump_config,
    get_all_bodyparts,
    get_bodyparts,
    get_individuals,
    get_skeleton,
    get_unique_bodyparts,
    is_multianimal,
    pose_layout,
    read_config,
    write_config,
)

# DeepLabCut's key order (create_config_template + create_new_project).
SINGLE_KEYS = [
    "Task", "scorer", "date", "multianimalproject", "identity", "project_path", "engine",
    "video_sets", "bodyparts", "start", "stop", "numframes2pick", "skeleton", "skeleton_color",
    "pcutoff", "dotsize", "alphavalue", "colormap", "TrainingFraction", "iteration",
    "default_net_type", "default_augmenter", "snapshotindex", "detector_snapshotindex",
    "batch_size", "detector_batch_size", "cropping", "x1", "x2", "y1", "y2", "corner2move2",
    "move2corner", "SuperAnimalConversionTables",
]  # fmt: skip
MULTI_EXTRA = ["individuals", "uniquebodyparts", "multianimalbodyparts", "default_track_method"]


@pytest.fixture
def madlc_config(dlc_fixtures_dir) -> Path:
    return dlc_fixtures_dir / "madlc_230_config.yaml"


@pytest.fixture
def openfield_config(openfield_dir) -> Path:
    return openfield_dir / "config.yaml"


# --- round trips on DeepLabCut's own files --------------------------------------
@pytest.mark.shared
@pytest.mark.parametrize("which", ["openfield_config", "madlc_config"])
def test_round_trip_is_byte_exact(which, request, tmp_path):
    src = request.getfixturevalue(which)
    out = write_config(read_config(src), tmp_path / "config.yaml")
    assert out.read_bytes() == src.read_bytes()


@pytest.mark.shared
def test_edit_changes_only_that_line_and_keeps_unknown_keys(madlc_config, tmp_path):
    text = madlc_config.read_text()
    text += "# my own note\nlab_specific:\n  rig: 3   # camera rig\n  ok: [1, 2]\n"
    path = tmp_path / "config.yaml"
    path.write_text(text)
    cfg = read_config(path)
    assert cfg["lab_specific"] == {"rig": 3, "ok": [1, 2]}
    cfg["pcutoff"] = 0.9
    write_config(cfg, path)
    before, after = text.splitlines(), path.read_text().splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [("pcutoff: 0.6", "pcutoff: 0.9")]
    assert path.with_name("config.yaml.bak").read_text() == text  # previous version kept


@pytest.mark.shared
def test_openfield_helpers(openfield_config):
    cfg = read_config(openfield_config.parent)  # a project folder works too
    assert cfg["Task"] == "openfield" and cfg["scorer"] == "Pranav" and cfg["pcutoff"] == 0.4
    assert cfg["multianimalproject"] is None and not is_multianimal(cfg)
    assert get_bodyparts(cfg) == ["snout", "leftear", "rightear", "tailbase"]
    assert get_unique_bodyparts(cfg) == []
    assert get_individuals(cfg) == [""]
    assert get_skeleton(cfg) == []
    assert cfg["SuperAnimalConversionTables"]["superanimal_topviewmouse"]["snout"] == "nose"
    individuals, bodyparts, defined = pose_layout(cfg)
    assert individuals == [""] and bodyparts == get_bodyparts(cfg)
    assert defined.shape == (1, 4) and defined.all()


@pytest.mark.shared
def test_multianimal_helpers(madlc_config):
    cfg = read_config(madlc_config)
    assert is_multianimal(cfg) and cfg["bodyparts"] == "MULTI!"
    assert get_bodyparts(cfg) == ["A", "B", "C"]
    assert get_unique_bodyparts(cfg) == ["D", "E"]
    assert get_all_bodyparts(cfg) == ["A", "B", "C", "D", "E"]
    assert get_individuals(cfg) == ["individual1", "individual2", "individual3"]
    assert get_individuals(cfg, with_single=True)[-1] == "single"
    assert get_skeleton(cfg) == [("A", "B"), ("B", "C"), ("A", "C")]
    assert cfg["project_path"].startswith("D:\\social-leap")  # Windows path kept verbatim
    individuals, bodyparts, defined = pose_layout(cfg)
    assert individuals == ["individual1", "individual2", "individual3", "single"]
    assert defined.astype(int).tolist() == [[1, 1, 1, 0, 0]] * 3 + [[0, 0, 0, 1, 1]]


# --- defaults -------------------------------------------------------------------
def test_default_single_animal_config_has_dlc_keys_and_defaults(tmp_path):
    cfg = default_config(
        "openfield",
        "Pranav",
        "Oct30",
        project_path=tmp_path,
        video_sets={str(tmp_path / "v.mp4"): {"crop": "0, 640, 0, 480"}},
    )
    assert list(cfg) == SINGLE_KEYS
    assert cfg["multianimalproject"] is False and cfg["identity"] is None
    assert cfg["bodyparts"] == ["bodypart1", "bodypart2", "bodypart3", "objectA"]
    assert cfg["skeleton"] == [["bodypart1", "bodypart2"], ["objectA", "bodypart3"]]
    expected = {
        "engine": "pytorch", "start": 0, "stop": 1, "numframes2pick": 20, "pcutoff": 0.6,
        "dotsize": 12, "alphavalue": 0.7, "colormap": "rainbow", "skeleton_color": "black",
        "TrainingFraction": [0.95], "iteration": 0, "default_net_type": "resnet_50",
        "default_augmenter": "default", "snapshotindex": -1, "detector_snapshotindex": -1,
        "batch_size": 8, "detector_batch_size": 1, "cropping": False, "x1": 0, "x2": 640,
        "y1": 277, "y2": 624, "corner2move2": [50, 50], "move2corner": True,
        "SuperAnimalConversionTables": None, "project_path": str(tmp_path),
    }  # fmt: skip
    assert {k: cfg[k] for k in expected} == expected
    text = dump_config(cfg)
    assert text.startswith("# Project definitions (do not edit)\nTask: openfield\n")
    assert "\n\n\n# Plotting configuration\nskeleton:\n" in text
    # written and read back: same values (plain YAML readers agree too)
    path = write_config(cfg, tmp_path / "config.yaml")
    assert read_config(path) == cfg
    assert YAML(typ="safe").load(path.read_text()) == dict(cfg)


def test_default_multianimal_config():
    cfg = default_config(
        "ma",
        "LM",
        "Mar1",
        multianimal=True,
        bodyparts=["A", "B"],
        individuals=["m1", "m2"],
        unique_bodyparts=["D"],
    )
    assert set(cfg) == set(SINGLE_KEYS) | set(MULTI_EXTRA)
    order = list(cfg)
    assert order.index("video_sets") < order.index("individuals") < order.index("bodyparts")
    assert cfg["bodyparts"] == "MULTI!" and cfg["identity"] is False
    assert cfg["multianimalbodyparts"] == ["A", "B"] and cfg["uniquebodyparts"] == ["D"]
    assert cfg["individuals"] == ["m1", "m2"]
    assert cfg["skeleton"] == []  # DeepLabCut's example skeleton only for its placeholder names
    assert (cfg["default_net_type"], cfg["default_augmenter"], cfg["default_track_method"]) == (
        "dlcrnet_ms5",
        "multi-animal-imgaug",
        "ellipse",
    )
    placeholder = default_config(multianimal=True)
    assert placeholder["individuals"] == ["individual1", "individual2", "individual3"]
    assert placeholder["skeleton"] == [
        ["bodypart1", "bodypart2"],
        ["bodypart2", "bodypart3"],
        ["bodypart1", "bodypart3"],
    ]
    assert pose_layout(cfg)[0] == ["m1", "m2", "single"]
    with pytest.raises(ValueError, match="multianimal=True"):
        default_config(unique_bodyparts=["D"])


def test_template_has_all_keys_empty():
    tpl = config_template()
    assert list(tpl) == SINGLE_KEYS
    assert all(v is None for k, v in tpl.items() if k != "engine") and tpl["engine"] == "pytorch"


# --- writing plain values --------------------------------------------------------
def test_plain_dict_goes_through_dlc_template(tmp_path):
    path = write_config(
        {"Task": "x", "bodyparts": ["a"], "my_key": {"k": 1}}, tmp_path / "config.yaml"
    )
    cfg = read_config(path)
    assert list(cfg)[: len(SINGLE_KEYS)] == SINGLE_KEYS and list(cfg)[-1] == "my_key"
    assert cfg["my_key"] == {"k": 1} and cfg["skeleton"] == [] and cfg["skeleton_color"] == "black"
    assert cfg["engine"] == "pytorch" and cfg["scorer"] is None


def test_numpy_tuples_and_paths_become_plain_yaml(tmp_path):
    cfg = default_config("t", "s", "d")
    cfg["pcutoff"] = np.float64(0.25)
    cfg["iteration"] = np.int64(3)
    cfg["corner2move2"] = (10, 20)
    cfg["TrainingFraction"] = np.array([0.8, 0.9])
    cfg["project_path"] = tmp_path
    back = read_config(write_config(cfg, tmp_path))  # a folder gets config.yaml
    assert back["pcutoff"] == 0.25 and back["iteration"] == 3
    assert back["corner2move2"] == [10, 20] and back["TrainingFraction"] == [0.8, 0.9]
    assert back["project_path"] == str(tmp_path)


def test_long_video_paths_stay_plain_keys(tmp_path):
    video = "/data/" + "very_long_folder_name/" * 12 + "mouse.mp4"
    assert len(video) > 128
    cfg = default_config("t", "s", "d", video_sets={video: {"crop": "0, 64, 0, 48"}})
    text = dump_config(cfg)
    assert f"\n  {video}:\n    crop: 0, 64, 0, 48\n" in text and "? " not in text
    assert read_config(write_config(cfg, tmp_path / "config.yaml"))["video_sets"][video]["crop"]


# --- errors -----------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        read_config(tmp_path / "config.yaml")


@pytest.mark.parametrize(
    ("text", "match"),
    [("Task: [unclosed\n", "not valid YAML"), ("", "empty"), ("- a\n- b\n", "mapping")],
)
def test_malformed_files(tmp_path, text, match):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        read_config(path)
    assert str(path) in str(info.value)


def test_helpers_explain_bad_values():
    with pytest.raises(ConfigError, match="'bodyparts'"):
        get_bodyparts({"Task": "x"})
    with pytest.raises(ConfigError, match="'multianimalbodyparts'"):
        get_bodyparts({"multianimalproject": True, "bodyparts": "MULTI!"})
    with pytest.raises(ConfigError, match="duplicate"):
        get_bodyparts({"bodyparts": ["a", "a"]})
    with pytest.raises(ConfigError, match="list of names"):
        get_bodyparts({"bodyparts": "snout"})
    with pytest.raises(ConfigError, match=r"unknown bodyparts \['tail'\]"):
        get_skeleton({"bodyparts": ["snout"], "skeleton": [["snout", "tail"]]})
    with pytest.raises(ConfigError, match="not a pair"):
        get_skeleton({"bodyparts": ["snout"], "skeleton": [["snout"]]})
