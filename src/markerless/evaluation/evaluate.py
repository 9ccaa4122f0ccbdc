"""``evaluate_network``: pixel errors of trained snapshots on the recorded train/test split.

Inference runs on whole frames (the network is fully convolutional; see
`markerless.training.snapshots.Predictor`), with the same ``global_scale`` as training and
coordinates mapped back to original pixels, so the numbers are what ``analyze_videos`` will
deliver. Results go where DeepLabCut puts them:

* ``evaluation-results/iteration-<N>/CombinedEvaluation-results.csv``: one row per
  (training fraction, shuffle, snapshot), DeepLabCut's columns plus PCK;
* ``evaluation-results/iteration-<N>/<Task><date>-trainset<pct>shuffle<k>/``: the predictions
  (``<scorer>-snapshot-<step>.h5``, DLC analysis format), the per-bodypart table
  (``<scorer>-results-per-bodypart.csv``) and with ``plotting`` the PNGs
  (``LabeledImages_<scorer>/``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from markerless.errors import ConfigError
from markerless.evaluation.diagnostics import SUGGESTIONS_SUFFIX, label_suggestions
from markerless.evaluation.metrics import compute_pck, compute_rmse, per_bodypart_table
from markerless.io.atomic import atomic_write
from markerless.io.config import get_bodyparts, get_individuals, is_multianimal

__all__ = ["evaluate_network", "evaluate_predictions", "predict_frames"]

log = logging.getLogger(__name__)

PCK_PIXELS = (2.0, 5.0, 10.0)
PCK_BBOX = (0.05, 0.1)


def predict_frames(model: Any, info: Any, images: np.ndarray, batch_size: int = 8,
                   sizes: np.ndarray | None = None) -> np.ndarray:
    """``(N, K, 3)`` predictions in original pixels for a stack of whole frames (``sizes``:
    each image's own (height, width) when the stack is padded to its largest image)."""
    from markerless.training.snapshots import Predictor

    return Predictor(model, info).predict_batches(images, batch_size, sizes)


def evaluate_predictions(
    pred: np.ndarray,
    gt: np.ndarray,
    train_idx: Sequence[int],
    test_idx: Sequence[int],
    pcutoff: float = 0.6,
    pck_pixels: Sequence[float] = PCK_PIXELS,
    pck_bbox: Sequence[float] = PCK_BBOX,
) -> dict[str, float]:
    """DeepLabCut's error summary (+ PCK) for ``pred`` ``(N, K, 3)`` vs ``gt`` ``(N, K, 2)``.

    Keys: ``train_error``, ``test_error`` (mean Euclidean px over labeled points),
    ``train_error_pcutoff``, ``test_error_pcutoff``, ``test_pck@<t>px`` and
    ``test_pck@<f>bbox`` (fractions of the animal's keypoint bounding-box diagonal).
    """
    out: dict[str, float] = {}
    for name, idx in (("train", np.asarray(train_idx, int)), ("test", np.asarray(test_idx, int))):
        p, g = pred[idx], gt[idx]
        out[f"{name}_error"] = compute_rmse(p, g)
        out[f"{name}_error_pcutoff"] = compute_rmse(p, g, p[..., 2], pcutoff)
    p, g = pred[np.asarray(test_idx, int)], gt[np.asarray(test_idx, int)]
    for t, v in zip(pck_pixels, compute_pck(p, g, pck_pixels), strict=True):
        out[f"test_pck@{t:g}px"] = float(v)
    for t, v in zip(pck_bbox, compute_pck(p, g, pck_bbox, normalize="bbox"), strict=True):
        out[f"test_pck@{t:g}bbox"] = float(v)
    return out


def _bodypart_subset(bodyparts: list[str], comparisonbodyparts: str | Sequence[str]) -> list[int]:
    if isinstance(comparisonbodyparts, str) and comparisonbodyparts == "all":
        return list(range(len(bodyparts)))
    names = [comparisonbodyparts] if isinstance(comparisonbodyparts, str) else comparisonbodyparts
    unknown = [n for n in names if n not in bodyparts]
    if unknown:
        raise ConfigError(f"comparisonbodyparts {unknown} are not bodyparts of this project "
                          f"({bodyparts})")  # fmt: skip
    return [bodyparts.index(n) for n in names]


def _save_predictions(pred: np.ndarray, data: Any, scorer: str, path: Path,
                      bodyparts: list[str] | None = None,
                      individuals: list[str] | None = None) -> None:
    """Predictions as a DLC analysis file: ``(N, K, 3)``, or ``(N, I, K, 3)`` for the
    multi-animal ``individuals`` (matched to the labeled animals)."""
    from markerless.io.dlc_analysis import write_analysis
    from markerless.poses import Poses

    if pred.ndim == 3:
        pred = pred[:, None]
        individuals = data.individuals[:1]
    poses = Poses(pred[..., :2], bodyparts or data.bodyparts, individuals, data.frames,
                  scorer, pred[..., 2])  # fmt: skip
    write_analysis(poses, path)


def _combined_csv(path: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """Merge new rows into CombinedEvaluation-results.csv (same snapshot+shuffle replaced)."""
    from markerless.io.atomic import atomic_write

    keys = ["Training iterations:", "%Training dataset", "Shuffle number"]
    if path.exists():
        old = pd.read_csv(path, index_col=0)
        merged = pd.concat([old, rows], ignore_index=True)
        merged = merged.drop_duplicates(subset=keys, keep="last")
    else:
        merged = rows.reset_index(drop=True)
    merged = merged.sort_values(keys).reset_index(drop=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: merged.to_csv(tmp), backup=False)
    return merged


def _print_suggestions(suggestions: pd.DataFrame, limit: int = 8) -> None:
    """What to look at next: counts per problem and bodypart, then the worst frames."""
    if suggestions.empty:
        print("Label suggestions: none (every labeled point is predicted near its label)")
        return
    counts = suggestions.groupby(["problem", "bodypart"]).size()
    print("Label suggestions (look at these frames, or label more like them):")
    for (problem, bodypart), n in counts.items():
        print(f"  {bodypart}: {n} x {problem}")
    for row in suggestions.head(limit).itertuples():
        print(f"  {row.frame} ({row.set}): {row.bodypart} {row.problem} "
              f"({row.error_px:.1f} px, likelihood {row.likelihood:.2f})")


def evaluate_network(
    config: str | os.PathLike,
    Shuffles: Sequence[int] = (1,),  # noqa: N803 (DeepLabCut's name)
    trainingsetindex: int | str = 0,
    plotting: bool = False,
    show_errors: bool = True,
    comparisonbodyparts: str | Sequence[str] = "all",
    snapshot_index: int | str | None = None,
    batch_size: int = 8,
    pck_pixels: Sequence[float] = PCK_PIXELS,
    pck_bbox: Sequence[float] = PCK_BBOX,
    **_dlc_only: Any,
) -> pd.DataFrame:
    """Evaluate trained snapshots on their shuffle's train and test frames.

    Parameters
    ----------
    config
        Path of config.yaml.
    Shuffles, trainingsetindex
        Which models; ``trainingsetindex="all"`` evaluates every ``TrainingFraction``.
    plotting
        Save PNGs of predictions vs labels for every test frame.
    show_errors
        Print the summary table.
    comparisonbodyparts
        ``"all"`` or the bodyparts the errors are computed on.
    snapshot_index
        ``None`` uses config.yaml ``snapshotindex`` (``-1`` last, ``"all"``, or an index).

    Returns
    -------
    DataFrame with one row per evaluated snapshot (also merged into
    ``CombinedEvaluation-results.csv``).
    """
    from markerless.evaluation.plots import plot_evaluation_frames
    from markerless.training.dataset import _load, load_split, model_folder, train_fraction_of
    from markerless.training.snapshots import (
        list_snapshots,
        load_snapshot,
        scorer_name,
        select_snapshots,
    )
    from markerless.training.training_data import load_training_data

    cfg, project = _load(config)
    pcutoff = float(cfg.get("pcutoff", 0.6) or 0.6)
    n_fractions = len(cfg.get("TrainingFraction") or [])
    indices = range(n_fractions) if trainingsetindex == "all" else [int(trainingsetindex)]
    index = cfg.get("snapshotindex", -1) if snapshot_index is None else snapshot_index
    rows, tables = [], []
    last_suggestions = None
    for ts_index in indices:
        fraction = train_fraction_of(cfg, ts_index)
        for shuffle in Shuffles:
            model_dir = project / model_folder(cfg, fraction, shuffle)
            snaps = select_snapshots(list_snapshots(model_dir), index)
            split = load_split(project, shuffle, ts_index)
            data = load_training_data(project, shuffle, ts_index, "all")
            pos = {f: i for i, f in enumerate(data.frames)}
            train_idx = [pos[f] for f in split["train_frames"]]
            test_idx = [pos[f] for f in split["test_frames"]]
            multi = is_multianimal(cfg)
            bodyparts = get_bodyparts(cfg) if multi else data.bodyparts
            keep = _bodypart_subset(bodyparts, comparisonbodyparts)
            if multi:  # (N, I, Km, 2): every animal, matched to the assemblies below
                from markerless.evaluation.ma_evaluate import multi_truth, predict_matched

                gt_all = multi_truth(data.keypoints, len(get_individuals(cfg)), len(bodyparts))
                gt = gt_all[..., keep, :]
            else:
                gt = data.keypoints[:, 0].astype(np.float64)[:, keep]
            eval_dir = project / model_folder(cfg, fraction, shuffle, base="evaluation-results")
            for snap in snaps:
                model, info = load_snapshot(snap)
                scorer = scorer_name(info.net_type, str(cfg["Task"]), str(cfg["date"]), shuffle,
                                     info.step)
                if multi:
                    full, assembled = predict_matched(model, info, data.images, gt_all,
                                                      batch_size)
                else:
                    full = predict_frames(model, info, data.images, batch_size, data.sizes)
                eval_dir.mkdir(parents=True, exist_ok=True)
                _save_predictions(full, data, scorer,
                                  eval_dir / f"{scorer}-snapshot-{info.step}.h5", bodyparts,
                                  get_individuals(cfg) if multi else None)
                pred = full[..., keep, :]
                m = evaluate_predictions(pred, gt, train_idx, test_idx, pcutoff, pck_pixels,
                                         pck_bbox)
                rows.append({
                    "Training iterations:": info.step,
                    "%Training dataset": int(round(100 * fraction)),
                    "Shuffle number": int(shuffle), " Train error(px)": m["train_error"],
                    " Test error(px)": m["test_error"], "p-cutoff used": pcutoff,
                    "Train error with p-cutoff": m["train_error_pcutoff"],
                    "Test error with p-cutoff": m["test_error_pcutoff"],
                    **{k: v for k, v in m.items() if k.startswith("test_pck")},
                })  # fmt: skip
                if multi:
                    from markerless.evaluation.ma_evaluate import oks_columns

                    for which, idx in (("train", train_idx), ("test", test_idx)):
                        rows[-1].update(oks_columns(assembled[..., keep, :], gt, data.frames,
                                                    [bodyparts[k] for k in keep], idx, which))
                names = [bodyparts[k] for k in keep]
                table = pd.concat({
                    "train": per_bodypart_table(pred[train_idx], gt[train_idx], names,
                                                pred[train_idx][..., 2], pcutoff, pck_pixels),
                    "test": per_bodypart_table(pred[test_idx], gt[test_idx], names,
                                               pred[test_idx][..., 2], pcutoff, pck_pixels),
                }, names=["set"])  # fmt: skip
                table.to_csv(eval_dir / f"{scorer}-results-per-bodypart.csv")
                n_ind = gt.shape[1] if multi else 1  # multi-animal: every animal's points
                suggestions = label_suggestions(
                    pred.reshape(len(pred), -1, 3), gt.reshape(len(gt), -1, 2), data.frames,
                    names * n_ind, {"train": train_idx, "test": test_idx}, pcutoff)
                atomic_write(eval_dir / f"{scorer}{SUGGESTIONS_SUFFIX}",
                             lambda tmp, s=suggestions: s.to_csv(tmp, index=False),
                             backup=False)
                last_suggestions = suggestions
                pd.DataFrame([rows[-1]]).to_csv(eval_dir / f"{scorer}-results.csv")
                tables.append(table)
                if plotting:
                    folder = eval_dir / f"LabeledImages_{scorer}"
                    n_t = len(test_idx)  # multi-animal: every animal's points in one frame
                    plot_evaluation_frames(
                        data.images[test_idx], gt[test_idx].reshape(n_t, -1, 2),
                        pred[test_idx].reshape(n_t, -1, 3),
                        [data.frames[i] for i in test_idx],
                        names * (gt.shape[1] if multi else 1), folder, pcutoff, "Test",
                        str(cfg.get("colormap") or "rainbow"), float(cfg.get("dotsize") or 8),
                        float(cfg.get("alphavalue") or 0.7), data.sizes[test_idx],
                    )  # fmt: skip
                log.info("Shuffle %d, %d%%, step %d: train %.2f px, test %.2f px", shuffle,
                         round(100 * fraction), info.step, m["train_error"], m["test_error"])
    if not rows:
        raise ConfigError("Nothing to evaluate: no shuffles given")
    result = pd.DataFrame(rows)
    iteration = int(cfg.get("iteration", 0) or 0)
    _combined_csv(project / "evaluation-results" / f"iteration-{iteration}" /
                  "CombinedEvaluation-results.csv", result)
    if show_errors:
        with pd.option_context("display.max_columns", None, "display.width", 160,
                               "display.precision", 2):
            print(result.to_string(index=False))
            if len(tables) == 1:
                print(tables[0].to_string())
            if last_suggestions is not None:
                _print_suggestions(last_suggestions)
    return result
