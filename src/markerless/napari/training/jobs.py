"""The Training dock's work, without Qt: dataset, training and evaluation as one job.

``training_job`` is a generator of progress dicts (each with a ``stage``) for a
napari worker: closing it at a ``yield`` (the dock's Stop) closes the trainer's
generator, which saves the run where it stopped so that Resume continues it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from markerless.napari.project_files import model_dir

#: what the dock sets per run; the rest of the recipe comes from the preset.
SETTINGS = ("net_type", "pretrained", "maxiters", "batch_size", "augment")


def recorded_config(config: Path, shuffle: int, trainingsetindex: int = 0):
    """The ``TrainConfig`` in the model's pose_cfg.yaml, or None when there is none."""
    from markerless.training.dataset import read_pose_cfg
    from markerless.training.recipes import TrainConfig

    path = model_dir(config, shuffle, trainingsetindex) / "train" / "pose_cfg.yaml"
    if not path.is_file():
        return None
    return TrainConfig.from_dict(read_pose_cfg(path).get("train_config", {}))


def ensure_training_dataset(config: Path, shuffle: int, recipe: str, settings: dict,
                            trainingsetindex: int = 0) -> str:
    """Create the model's training dataset when missing or made for another network.

    Returns what was done (``"created"``, ``"rebuilt"`` or ``"kept"``). Iterations and
    batch size are per-run overrides and never need a rebuild. Only this fraction's split
    and pose_cfg.yaml are written, so another fraction's trained model keeps its network.
    """
    from markerless.training.dataset import create_training_dataset
    from markerless.training.recipes import get_recipe

    recorded = recorded_config(config, shuffle, trainingsetindex)
    wanted = get_recipe(recipe, **settings)
    if (recorded is not None and recorded.net_type == wanted.net_type
            and recorded.pretrained == wanted.pretrained
            and recorded.augment_config() == wanted.augment_config()):
        return "kept"
    create_training_dataset(config, Shuffles=[shuffle], recipe=recipe,
                            trainingsetindex=trainingsetindex, **settings)
    return "created" if recorded is None else "rebuilt"


def evaluation_summary(config: Path, shuffle: int, trainingsetindex: int = 0) -> dict[str, Any]:
    """Evaluate the model's last snapshot: ``{"step", "summary" (row dict), "table" (per
    bodypart), "folder" (its evaluation-results folder)}``."""
    import pandas as pd

    from markerless.evaluation import evaluate_network
    from markerless.training.dataset import _load, model_folder, train_fraction_of

    result = evaluate_network(config, Shuffles=[shuffle], trainingsetindex=trainingsetindex,
                              show_errors=False, snapshot_index=-1)  # fmt: skip
    row = result.iloc[-1].to_dict()
    step = int(row["Training iterations:"])
    cfg, project = _load(config)
    folder = project / model_folder(cfg, train_fraction_of(cfg, trainingsetindex), shuffle,
                                    base="evaluation-results")  # fmt: skip
    found = sorted(folder.glob(f"*shuffle{shuffle}_{step}-results-per-bodypart.csv"))
    table = pd.read_csv(found[-1], index_col=[0, 1]) if found else None
    return {"step": step, "summary": row, "table": table, "folder": folder}


def training_job(
    config: str | os.PathLike,
    shuffle: int = 1,
    *,
    trainingsetindex: int = 0,
    resume: bool = False,
    recipe: str = "default",
    settings: dict | None = None,
    displayiters: int | None = None,
    evaluate: bool = True,
    keep_old_run: bool = True,
) -> Iterator[dict[str, Any]]:
    """Dataset (if needed) -> training -> evaluation, as progress dicts with a ``stage``.

    The model is ``model_dir(config, shuffle, trainingsetindex)``. ``resume`` continues
    from ``train_state.msgpack`` with the recorded network and recipe (only ``maxiters``
    from ``settings`` applies). Returns
    ``{"step", "stopped": False, "evaluation": evaluation_summary(...) or None}``;
    when the job is stopped the generator is closed at a ``yield`` and the trainer
    saves the run so far.
    """
    from markerless.training.trainer import iter_train

    config = Path(config)
    settings = dict(settings or {})
    if resume:
        kwargs = {"maxiters": settings.get("maxiters")}
    else:
        yield {"stage": "dataset", "text": "Preparing the training dataset..."}
        done = ensure_training_dataset(config, shuffle, recipe, settings, trainingsetindex)
        yield {"stage": "dataset", "text": f"Training dataset {done}"}
        kwargs = settings
    yield {"stage": "dataset", "text": "Compiling the network (first steps are slow)..."}
    # starting over: train_network's own housekeeping moves an earlier run aside
    gen = iter_train(config, shuffle, trainingsetindex, resume=resume, displayiters=displayiters,
                     keep_old_run=keep_old_run, **kwargs)  # fmt: skip
    step = None
    try:
        for info in gen:
            step = info["step"]
            if info.get("moved_old_run") is not None:
                yield {"stage": "dataset",
                       "text": f"Earlier run moved to {Path(info['moved_old_run']).name}"}
            yield {"stage": "train", **info}
    finally:
        gen.close()
    evaluation = None
    if evaluate:
        yield {"stage": "evaluate", "text": "Evaluating on the train/test split..."}
        evaluation = evaluation_summary(config, shuffle, trainingsetindex)
    return {"step": step, "evaluation": evaluation}


def evaluation_job(config: str | os.PathLike, shuffle: int = 1,
                   trainingsetindex: int = 0) -> Iterator[dict[str, Any]]:
    """`evaluation_summary` as a one-report job (so it can run in the same panel)."""
    yield {"stage": "evaluate", "text": "Evaluating on the train/test split..."}
    return {"step": None,
            "evaluation": evaluation_summary(Path(config), shuffle, trainingsetindex)}
