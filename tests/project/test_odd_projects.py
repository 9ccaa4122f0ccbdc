"""Projects as users really have them: Windows video keys, scalar TrainingFraction, string
iterations, no labeled frames, broken images, labels under another scorer, duplicate
videos. Each gives a clear error or a warning that names the file, never a silent skip."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from project_factory import make_project  # noqa: E402

from markerless.errors import ArgumentError, ConfigError, LabelFileError  # noqa: E402
from markerless.io.config import read_config, write_config  # noqa: E402
from markerless.io.dlc_labels import read_labels, write_labels  # noqa: E402
from markerless.project.check_labels import check_labels  # noqa: E402
from markerless.project.videos import resolve_video, video_name, video_stem  # noqa: E402
from markerless.training.dataset import create_training_dataset  # noqa: E402


@pytest.mark.parametrize(("key", "name"), [
    ("C:\\Users\\alice\\videos\\clip.mp4", "clip.mp4"),
    ("D:/lab/clip.avi", "clip.avi"),
    ("/home/bob/videos/clip.mp4", "clip.mp4"),
    ("videos/clip.mp4", "clip.mp4"),
    ("\\\\server\\share\\mouse 1.mp4", "mouse 1.mp4"),
])
def test_video_names_split_on_both_separators(key, name):
    assert video_name(key) == name
    assert video_stem(key) == Path(name).stem


def test_a_windows_key_finds_the_video_in_videos_and_frames_extract(tmp_path):
    from markerless.napari.project_files import project_videos
    from markerless.project.create import create_new_project
    from markerless.project.frames import extract_frames
    from markerless.synthetic import SyntheticConfig, write_clip

    write_clip(tmp_path / "clip.mp4", SyntheticConfig(n_frames=20, seed=2), gop=5)
    config = Path(create_new_project("win", "alice", [tmp_path / "clip.mp4"],
                                     working_directory=tmp_path, copy_videos=True))
    cfg = read_config(config)
    (entry,) = cfg["video_sets"].values()
    cfg["video_sets"] = {"C:\\Users\\alice\\win-project\\videos\\clip.mp4": entry}
    write_config(cfg, config)
    assert resolve_video(config.parent, "C:\\Users\\alice\\x\\clip.mp4") == (
        config.parent / "videos" / "clip.mp4")
    assert project_videos(config) == [config.parent / "videos" / "clip.mp4"]
    written = extract_frames(config, algo="uniform", numframes2pick=3)
    assert [len(v) for v in written.values()] == [3]
    assert len(list((config.parent / "labeled-data" / "clip").glob("img*.png"))) == 3


@pytest.fixture
def project(tmp_path) -> Path:
    return make_project(tmp_path, n_frames=12)


def test_scalar_training_fraction_and_string_iteration_are_accepted(project):
    text = project.read_text()
    text = text.replace("TrainingFraction:\n- 0.95", "TrainingFraction: 0.8")
    text = text.replace("iteration: 0", "iteration: '2'")
    project.write_text(text)
    cfg = read_config(project)
    assert list(cfg["TrainingFraction"]) == [0.8] and cfg["iteration"] == 2
    ((frac, shuffle, (train, test)),) = create_training_dataset(project, recipe="test")
    assert frac == 0.8 and len(train) + len(test) == 12 and len(test) >= 2
    assert (project.parent / "training-datasets" / "iteration-2").is_dir()


@pytest.mark.parametrize(("line", "key"), [
    ("iteration: 1.5", "iteration"),
    ("iteration: first", "iteration"),
    ("TrainingFraction: [0.8, 1.7]", "TrainingFraction"),
    ("pcutoff: 3", "pcutoff"),
    ("numframes2pick: 0", "numframes2pick"),
    ("batch_size: -4", "batch_size"),
    ("snapshotindex: latest", "snapshotindex"),
])
def test_bad_config_values_name_the_file_and_key(project, line, key):
    from ruamel.yaml import YAML

    yaml = YAML()
    cfg = yaml.load(project.read_text())
    cfg[key] = yaml.load(line)[key]
    with open(project, "w") as f:
        yaml.dump(cfg, f)
    with pytest.raises(ConfigError, match=key) as err:
        read_config(project)
    assert str(project) in str(err.value)


def test_no_labeled_frames_is_a_clear_error(project):
    folder = project.parent / "labeled-data" / "clip0"
    labels = read_labels(folder)
    labels.xy[:] = np.nan
    write_labels(labels, folder, overwrite=True)
    with pytest.warns(UserWarning, match="no label in any frame"), \
            pytest.raises(LabelFileError, match="label some frames first"):
        create_training_dataset(project, recipe="test")


def test_broken_images_are_reported_and_left_out_of_training(project):
    folder = project.parent / "labeled-data" / "clip0"
    pngs = sorted(folder.glob("*.png"))
    pngs[0].write_bytes(b"")  # 0 bytes
    pngs[1].write_bytes(b"not a png at all")
    pngs[2].unlink()
    with pytest.warns(UserWarning) as record:
        ((_, _, (train, test)),) = create_training_dataset(project, recipe="test")
    text = "\n".join(str(w.message) for w in record)
    assert "0 bytes" in text and "unreadable" in text and "missing" in text
    assert pngs[0].name in text and pngs[2].name in text
    assert len(train) + len(test) == 9
    issues = [str(i) for i in check_labels(project, write_images=False)]
    assert sum("image" in i for i in issues) == 3


def test_check_labels_reports_what_training_cannot_use(project):
    root = project.parent
    folder = root / "labeled-data" / "clip0"
    labels = read_labels(folder)
    # a second folder labeled under another scorer
    other = root / "labeled-data" / "video9"
    other.mkdir()
    moved = labels.select_frames([0, 1])
    moved.frames = [f.replace("clip0", "video9") for f in moved.frames]
    moved.scorer = "someone-else"
    write_labels(moved, other)
    # an unreadable label file in a third folder
    broken = root / "labeled-data" / "video8"
    broken.mkdir()
    (broken / "CollectedData_tester.h5").write_bytes(b"\x89HDF garbage")
    # absurd coordinates and a bodypart nobody labeled
    labels.xy[3, 0, 0] = [1e9, 5.0]
    labels.xy[4, 0, 1, 1] = np.nan  # x without y
    labels.xy[:, 0, 2] = np.nan
    write_labels(labels, folder, overwrite=True)
    issues = [str(i) for i in check_labels(project, write_images=False)]
    text = "\n".join(issues)
    assert "labeled by ['someone-else']" in text and "video9" in text
    assert "cannot be read" in text and "video8" in text
    assert text.count("absurd coordinates") == 2
    assert f"bodypart {labels.bodyparts[2]!r} of config.yaml has no label" in text


def test_a_video_already_in_the_project_is_not_added_twice(tmp_path):
    from markerless.project.create import add_new_videos, create_new_project
    from markerless.synthetic import SyntheticConfig, write_clip

    write_clip(tmp_path / "clip.mp4", SyntheticConfig(n_frames=10, seed=2), gop=5)
    config = create_new_project("dup", "me", [tmp_path / "clip.mp4"],
                                working_directory=tmp_path, copy_videos=True)
    with pytest.warns(UserWarning, match="already in the project"):
        assert add_new_videos(config, [tmp_path / "clip.mp4"]) == []
    other = tmp_path / "elsewhere"
    other.mkdir()
    write_clip(other / "clip.mp4", SyntheticConfig(n_frames=10, seed=7), gop=5)
    with pytest.raises(ConfigError, match="already has a video named 'clip'"):
        add_new_videos(config, [other / "clip.mp4"])
    assert len(read_config(config)["video_sets"]) == 1


def test_values_that_used_to_be_replaced_raise(project):
    from markerless.analysis.analyze import analyze_videos
    from markerless.project.frames import extract_frames
    from markerless.training.trainer import train_network

    with pytest.raises(ArgumentError, match="num_shuffles"):
        create_training_dataset(project, num_shuffles=0, recipe="test")
    with pytest.raises(ArgumentError, match="numframes2pick"):
        extract_frames(project, numframes2pick=0)
    create_training_dataset(project, recipe="test")
    with pytest.raises(ArgumentError, match="batch_size"):
        train_network(project, batch_size=0, progress=False)
    with pytest.raises(ArgumentError, match="maxiters"):
        train_network(project, maxiters=-5, progress=False)
    with pytest.raises(ArgumentError, match="batch_size"):
        analyze_videos(project, [str(project)], batch_size=0)
    shutil.rmtree(project.parent / "training-datasets")
