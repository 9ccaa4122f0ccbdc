"""analyze_with_model / ``markerless analyze-with``: DLC analysis files from an exported folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
from export_helpers import ANIMAL, HEIGHT, WIDTH

from markerless.errors import ConfigError


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    from markerless.synthetic import SyntheticConfig, write_clip

    path = tmp_path_factory.mktemp("aw") / "mouse.mp4"
    truth = write_clip(path, SyntheticConfig(height=HEIGHT, width=WIDTH, n_frames=20, seed=9,
                                             speed=2.0, animal_length=ANIMAL), gop=10)
    return path, truth


def test_same_files_and_numbers_as_analyze_videos(exported, trained_project, video, tmp_path):
    from markerless import analyze_videos, analyze_with_model
    from markerless.io.dlc_analysis import read_analysis

    path, truth = video
    ours = tmp_path / "with"
    scorer = analyze_with_model(exported, [path], destfolder=ours, progress=False)
    assert scorer == exported.name
    h5 = ours / f"{path.stem}{scorer}.h5"
    assert h5.is_file() and (ours / f"{path.stem}{scorer}_meta.pickle").is_file()
    meta = json.loads((ours / f"{path.stem}{scorer}_meta.json").read_text())["data"]
    assert meta["fps"] == 30 and meta["Scorer"] == scorer
    assert meta["DLC-model-config file"]["exported_model"] == str(exported)
    got = read_analysis(h5)
    assert got.n_frames == 20 and got.bodyparts == truth.bodyparts
    err = np.linalg.norm(got.xy - truth.xy, axis=-1)
    assert np.median(err) < 5.0
    ref_dir = tmp_path / "project"
    # the exported function is whole-frame inference: compare with the same path
    ref_scorer = analyze_videos(trained_project, [path], destfolder=ref_dir, progress=False,
                                batch_size=8, dynamic=(False, 0.5, 8))
    assert ref_scorer == scorer  # same model, same name
    ref = read_analysis(ref_dir / f"{path.stem}{scorer}.h5")
    np.testing.assert_array_equal(got.xy, ref.xy)  # StableHLO: identical numbers
    np.testing.assert_array_equal(got.likelihood, ref.likelihood)
    onnx_dir = tmp_path / "onnx"
    analyze_with_model(exported, [path], backend="onnx", destfolder=onnx_dir, progress=False,
                       save_as_csv=True)
    onnx = read_analysis(onnx_dir / f"{path.stem}{scorer}.csv")
    assert np.abs(onnx.xy - ref.xy).max() < 1e-3  # csv keeps fewer digits


def test_skips_finished_videos_and_checks_frame_size(exported, video, tmp_path):
    from markerless.export.analyze import iter_analyze_with_model

    path, _ = video
    events = list(iter_analyze_with_model(exported, [path], destfolder=tmp_path))
    assert events[-1]["status"] == "done"
    again = list(iter_analyze_with_model(exported, [path], destfolder=tmp_path))
    assert [e["status"] for e in again] == ["skipped"]
    with pytest.raises(ConfigError, match="96x128"):
        list(iter_analyze_with_model(exported, [path], backend="onnx", destfolder=tmp_path,
                                     cropping=[0, 64, 0, 64], redo=True))


def test_cli_verbs(exported, trained_project, video, tmp_path, capsys):
    from markerless.cli import main

    path, _ = video
    assert main(["analyze-with", str(exported), str(path), "--destfolder",
                 str(tmp_path)]) == 0
    assert list(tmp_path.glob(f"{path.stem}DLC_*.h5"))
    assert main(["export", str(trained_project), "--formats", "stablehlo", "--destfolder",
                 str(tmp_path / "exp")]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert (tmp_path / "exp" / exported.name / "model.stablehlo").is_file()
    assert out.endswith(exported.name)
    with pytest.raises(SystemExit) as exc:  # not a model folder: a usage error
        main(["analyze-with", str(tmp_path), str(path)])
    assert exc.value.code == 2
