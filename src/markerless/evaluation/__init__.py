"""Evaluation of trained networks: pixel errors, PCK and plots on the held-out frames."""

from markerless.evaluation.evaluate import evaluate_network, evaluate_predictions, predict_frames
from markerless.evaluation.metrics import compute_pck, compute_rmse, keypoint_errors

__all__ = [
    "compute_pck",
    "compute_rmse",
    "evaluate_network",
    "evaluate_predictions",
    "keypoint_errors",
    "predict_frames",
]
