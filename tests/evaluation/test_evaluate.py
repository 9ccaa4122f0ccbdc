"""evaluate_network on a tiny project: files where DeepLabCut puts them, consistent numbers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from project_factory import make_project  # noqa: E402

from markerless.errors import ConfigError  # noqa: E402
from markerless.evaluation import evaluate_network, evaluate_predictions  # noqa: E402
from markerless.io.dlc_analysis import read_analysis  # noqa: E402
from markerless.training.dataset import create_training_dataset  # noqa: E402
from markerless.training.trainer import Trainer  # noqa: E402


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project with two (untrained) snapshots: evaluation does not need a good model."""
    config = make_project(tmp_path_factory.mktemp("eval"), n_frames=12, height=64, width=96)
    create_training_dataset(config, recipe="test")
    trainer = Trainer(config, resume=False)
    trainer.save()  # snapshot-0
    trainer.step = 5  # a second snapshot with the same weights under another step
    trainer.save()
    return config


def test_evaluate_network_writes_dlc_results(project, capsys):
    root = project.parent
    result = evaluate_network(project, Shuffles=[1], plotting=True, snapshot_index="all")
    assert list(result["Training iterations:"]) == [0, 5]
    assert set(result["%Training dataset"]) == {95} and set(result["Shuffle number"]) == {1}
    # Same weights -> same numbers for both snapshots.
    test_err = result[" Test error(px)"]
    np.testing.assert_allclose(test_err.iloc[0], test_err.iloc[1])
    assert (result[" Train error(px)"] > 0).all()
    assert "Test error(px)" in capsys.readouterr().out

    eval_root = root / "evaluation-results" / "iteration-0"
    combined = pd.read_csv(eval_root / "CombinedEvaluation-results.csv", index_col=0)
    assert len(combined) == 2
    folder = eval_root / "synthJan01-trainset95shuffle1"
    scorer = "DLC_resnettiny_synthJan01shuffle1_5"
    preds = read_analysis(folder / f"{scorer}-snapshot-5.h5")
    assert preds.n_frames == 12 and preds.scorer == scorer and preds.likelihood is not None
    table = pd.read_csv(folder / f"{scorer}-results-per-bodypart.csv", index_col=[0, 1])
    assert set(table.index.get_level_values(0)) == {"train", "test"}
    pngs = sorted((folder / f"LabeledImages_{scorer}").glob("Test-*.png"))
    assert len(pngs) == 1  # one test frame (round(0.05 * 12) = 1)

    # Re-evaluating the last snapshot replaces its row instead of adding one.
    evaluate_network(project, Shuffles=[1], show_errors=False, comparisonbodyparts=["snout"])
    combined = pd.read_csv(eval_root / "CombinedEvaluation-results.csv", index_col=0)
    assert len(combined) == 2


def test_unknown_comparison_bodypart(project):
    with pytest.raises(ConfigError, match="not bodyparts"):
        evaluate_network(project, comparisonbodyparts=["wing"], show_errors=False)


def test_evaluate_predictions_splits_train_and_test():
    gt = np.zeros((4, 2, 2))
    pred = np.zeros((4, 2, 3))
    pred[..., 2] = 0.9
    pred[2:, :, 0] = 3.0  # test frames 3 px off in x
    pred[3, 1, 2] = 0.1  # one low-confidence prediction
    m = evaluate_predictions(pred, gt, [0, 1], [2, 3], pcutoff=0.5, pck_pixels=(2.0, 5.0),
                             pck_bbox=())
    assert m["train_error"] == 0.0 and m["test_error"] == 3.0
    assert m["test_error_pcutoff"] == 3.0
    assert m["test_pck@2px"] == 0.0 and m["test_pck@5px"] == 1.0
