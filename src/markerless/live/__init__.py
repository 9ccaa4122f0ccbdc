"""Real-time pose of single frames (DeepLabCut-Live's ``DLCLive`` API) and its benchmark."""

from markerless.live.pose import LivePose
from markerless.live.processor import PoseRecorder, Processor

__all__ = ["LivePose", "PoseRecorder", "Processor", "benchmark_live"]


def __getattr__(name: str):
    if name == "benchmark_live":
        from markerless.live.benchmark import benchmark_live

        return benchmark_live
    raise AttributeError(f"module 'markerless.live' has no attribute {name!r}")
