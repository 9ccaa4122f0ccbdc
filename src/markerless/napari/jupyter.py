"""Drive the markerless napari viewer from a Jupyter notebook (or any Python session).

In a notebook, start Qt's event loop first (``%gui qt``), then::

    import napari
    from markerless.napari import jupyter

    viewer = napari.Viewer()
    jupyter.open_project(viewer, "my-project/config.yaml")
    jupyter.show_predictions(viewer, "my-project/videos/mouse.mp4", pcutoff=0.6)
    jupyter.add_docks(viewer, config="my-project/config.yaml")

The viewer stays live while further cells run; ``napari.utils.nbscreenshot(viewer)``
puts a picture of it into the notebook. See docs/notebooks/markerless-in-jupyter.ipynb.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "DOCKS",
    "add_docks",
    "make_example_project",
    "open_project",
    "show_predictions",
    "view_project",
]

#: short names of the docks -> their display names in napari.yaml.
DOCKS = {
    "project": "Project",
    "frames": "Extract frames",
    "labeling": "Labeling",
    "training": "Training",
    "analysis": "Analysis",
    "refine": "Refine and results",
}
DEFAULT_DOCKS = ("project", "labeling", "training", "analysis")


def open_project(viewer: Any, config: str | os.PathLike) -> list[Any]:
    """Open a project's labeled frames and labels (markerless' reader); returns the new layers."""
    config = Path(config)
    if config.is_dir():
        config = config / "config.yaml"
    return list(viewer.open(str(config), plugin="markerless"))


def show_predictions(
    viewer: Any,
    video: str | os.PathLike,
    analysis_h5: str | os.PathLike | None = None,
    pcutoff: float | None = None,
    config: str | os.PathLike | None = None,
    shuffle: int = 1,
) -> list[Any]:
    """Show a video with its predictions (Points) and trajectories (Tracks).

    ``analysis_h5`` defaults to the video's results for the project's current model
    (``config``), else the newest ``<video stem>DLC_*.h5`` beside the video. ``pcutoff``
    defaults to config.yaml's (0.6 without a config). Open Analysis docks take the layers
    over, so their pcutoff slider applies to them. Returns ``[image, points, tracks]``.
    """
    from markerless.errors import LabelFileError
    from markerless.napari.analysis.dock import AnalysisWidget
    from markerless.napari.layers.predictions import add_prediction_layers
    from markerless.napari.project_files import find_analysis

    video = Path(video)
    cfg: Any = {}
    if config is not None:
        from markerless.io.config import read_config

        config = Path(config) / "config.yaml" if Path(config).is_dir() else Path(config)
        cfg = read_config(config)
    if analysis_h5 is None:
        analysis_h5 = find_analysis(config, video, shuffle) if config is not None else None
        if analysis_h5 is None:
            found = sorted(video.parent.glob(f"{video.stem}DLC_*.h5"),
                           key=lambda p: p.stat().st_mtime)  # fmt: skip
            found = [p for p in found if not p.stem.endswith("_filtered")]
            if not found:
                raise LabelFileError(f"No analysis results for {str(video)!r}: run "
                                     "analyze_videos first or pass analysis_h5=")  # fmt: skip
            analysis_h5 = found[-1]
    if pcutoff is None:
        pcutoff = float(cfg.get("pcutoff") or 0.6)
    layers = add_prediction_layers(viewer, video, analysis_h5, float(pcutoff),
                                   str(cfg.get("colormap") or "rainbow"))  # fmt: skip
    for dock in _docks_of(viewer, AnalysisWidget):  # their pcutoff slider now drives these
        dock.results[str(analysis_h5)] = layers
    return [layers.image, layers.points, layers.tracks]


def _docks_of(viewer: Any, cls: type) -> list[Any]:
    """The open dock widgets of a class (napari's ``window.dock_widgets``, if available)."""
    try:
        widgets = list(viewer.window.dock_widgets.values())
    except AttributeError:  # a headless viewer: no docks
        return []
    return [w for w in widgets if isinstance(w, cls)]


def add_docks(
    viewer: Any,
    which: Sequence[str] = DEFAULT_DOCKS,
    config: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Add markerless docks by short name (see `DOCKS`); returns name -> dock widget.

    With ``config`` each dock that has ``set_config`` is pointed at the project.
    A dock that cannot be created is skipped with a warning naming it.
    """
    out: dict[str, Any] = {}
    unknown = [name for name in which if name not in DOCKS]
    if unknown:
        raise ValueError(f"Unknown dock(s) {unknown}; choose from {sorted(DOCKS)}")
    for name in which:
        try:  # one tab group on the right: each dock keeps its full height
            _, widget = viewer.window.add_plugin_dock_widget("markerless", DOCKS[name],
                                                             tabify=bool(out))
        except Exception as err:  # noqa: BLE001 - one missing dock must not stop the others
            warnings.warn(f"Could not add the {DOCKS[name]!r} dock: {err}", stacklevel=2)
            continue
        if config is not None and hasattr(widget, "set_config"):
            widget.set_config(config)
        out[name] = widget
    return out


def view_project(
    config: str | os.PathLike,
    block: bool = False,
    docks: Sequence[str] = DEFAULT_DOCKS,
    predictions: bool = True,
) -> Any:
    """A new viewer with the project open, its docks added and, with ``predictions``,
    the analysed videos shown. ``block=True`` runs napari's event loop until the window
    closes (the ``markerless demo --view`` behaviour); returns the viewer.
    """
    import napari
    from markerless.napari.project_files import find_analysis, project_videos

    config = Path(config)
    if config.is_dir():
        config = config / "config.yaml"
    viewer = napari.Viewer(title=f"markerless: {config.parent.name}")
    open_project(viewer, config)
    if predictions:
        for video in project_videos(config):
            found = find_analysis(config, video)
            if found is not None:
                show_predictions(viewer, video, found, config=config)
    add_docks(viewer, docks, config=config)
    if block:
        napari.run()
    return viewer


def make_example_project(
    workdir: str | os.PathLike,
    n_frames: int = 60,
    height: int = 96,
    width: int = 128,
    numframes2pick: int = 16,
    train_fraction: float = 0.8,
    seed: int = 0,
) -> Path:
    """A small synthetic project ready to train; returns its config.yaml.

    A synthetic clip with exact ground truth, a DeepLabCut-layout project around it,
    ``numframes2pick`` frames extracted (evenly spaced) and labeled from the ground
    truth, standing in for a person clicking. Small enough for a notebook or a test.
    """
    from markerless import synthetic
    from markerless.demo import label_from_ground_truth
    from markerless.io.config import read_config, write_config
    from markerless.project.create import create_new_project
    from markerless.project.frames import extract_frames

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    clip = workdir / "synthetic-mouse.mp4"
    truth = synthetic.write_clip(clip, synthetic.SyntheticConfig(
        height=height, width=width, n_frames=n_frames, seed=seed))
    config = Path(create_new_project("example", "markerless", [clip], working_directory=workdir,
                                     copy_videos=True, bodyparts=truth.bodyparts))  # fmt: skip
    clip.unlink()
    cfg = read_config(config)
    cfg["numframes2pick"] = int(numframes2pick)
    cfg["TrainingFraction"] = [float(train_fraction)]
    write_config(cfg, config)
    extract_frames(config, algo="uniform", seed=seed)
    label_from_ground_truth(config.parent, config.parent / "videos" / clip.name, truth,
                            str(cfg["scorer"]))  # fmt: skip
    return config
