"""Finding a video's analysis results by the model's scorer; settings and colours."""

from __future__ import annotations

import numpy as np
import pytest
from pp_helpers import SCORER

from markerless.errors import ConfigError, LabelFileError, ModelError
from markerless.io.config import read_config, write_config
from markerless.postprocessing.common import (
    analysis_file,
    bodypart_colors,
    model_scorer,
    plot_settings,
    resolve_analysis,
    select_names,
)


def test_model_scorer_follows_snapshotindex(project):
    config = project["config"]
    assert model_scorer(config) == SCORER  # snapshotindex -1: the last (step 100)
    assert model_scorer(config, snapshot_index=0).endswith("_50")
    cfg = read_config(config)
    cfg["snapshotindex"] = "all"
    write_config(cfg, config)
    assert model_scorer(config) == SCORER
    with pytest.raises(ModelError, match="shuffle 2"):
        model_scorer(config, shuffle=2)


def test_analysis_file_is_found_by_scorer_or_explained(project):
    video = project["video"]
    assert analysis_file(video, SCORER) == project["analysis"]
    with pytest.raises(LabelFileError, match="filterpredictions"):
        analysis_file(video, SCORER, filtered=True)
    poses, scorer = resolve_analysis(project["config"], video, 1, 0, False, None, None)
    assert scorer == SCORER and poses.equals(project["results"])
    poses, scorer = resolve_analysis(project["config"], video, 1, 0, False, None,
                                     {"mouse": project["results"]})
    assert poses is project["results"]


def test_plot_settings_precedence_and_colours(project):
    cfg = read_config(project["config"])
    cfg["dotsize"] = 5
    s = plot_settings(cfg, pcutoff=0.2)
    assert s["dotsize"] == 5 and s["pcutoff"] == 0.2 and s["colormap"] == "rainbow"
    assert s["skeleton"] == [("snout", "leftear"), ("snout", "rightear")]
    assert plot_settings(None)["dotsize"] == 12
    colors = bodypart_colors(3, "rainbow")
    assert colors.shape == (3, 3)
    np.testing.assert_allclose(colors[0], [0.5, 0, 1], atol=0.01)  # rainbow starts purple
    np.testing.assert_allclose(colors[-1], [1, 0, 0], atol=0.01)  # and ends red
    with pytest.raises(ConfigError, match="colormap"):
        bodypart_colors(2, "no-such-map")


def test_select_names_keeps_file_order():
    names = ["a", "b", "c"]
    assert select_names(names, "all").tolist() == [0, 1, 2]
    assert select_names(names, ["c", "a"]).tolist() == [0, 2]
    assert select_names(names, "b").tolist() == [1]
    with pytest.raises(ConfigError, match="Unknown bodyparts"):
        select_names(names, ["z"])
