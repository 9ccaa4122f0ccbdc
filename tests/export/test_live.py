"""LivePose on the synthetic clip: DLC-Live's API, dynamic cropping following the animal,
processors, static cropping and resizing mapped back to frame pixels."""

from __future__ import annotations

import numpy as np
import pytest
from export_helpers import ANIMAL

from markerless.errors import ArgumentError
from markerless.export import ExportedModel
from markerless.live import LivePose, PoseRecorder


def _clip(n=24, height=192, width=256, animal=ANIMAL, seed=7):
    from markerless.synthetic import SyntheticConfig, generate

    frames, poses = generate(SyntheticConfig(height=height, width=width, n_frames=n,
                                             seed=seed, speed=2.0, animal_length=animal))
    return frames, poses.xy[:, 0]


def _error(poses, truth):
    return np.linalg.norm(np.asarray(poses)[..., :2] - truth, axis=-1)


def test_full_frame_equals_the_exported_function(exported):
    frames, truth = _clip(n=6)
    live = LivePose(exported)
    first = live.init_inference(frames[0])
    assert live.is_initialized and first.shape == (4, 3)
    poses = np.stack([live.get_pose(f) for f in frames])
    np.testing.assert_array_equal(poses, ExportedModel(exported)(frames).astype(np.float64))
    assert np.median(_error(poses, truth)) < 5.0


def test_dynamic_cropping_follows_the_animal(exported):
    frames, truth = _clip()
    live = LivePose(exported, dynamic=(True, 0.5, 10))
    live.init_inference(frames[0])
    boxes, poses = [], []
    for f in frames:
        poses.append(live.get_pose(f))
        boxes.append(live.dynamic_cropping)
    boxes = boxes[1:]  # frame 0 has no previous pose
    cropped = [b for b in boxes if b is not None]
    assert len(cropped) >= 0.8 * len(boxes)
    area = np.mean([(b[1] - b[0]) * (b[3] - b[2]) for b in cropped])
    assert area < 0.35 * frames.shape[1] * frames.shape[2]
    assert all((b[1] - b[0]) % 32 == 0 and (b[3] - b[2]) % 32 == 0 for b in cropped)
    assert len({(b[1] - b[0], b[3] - b[2]) for b in cropped}) <= 2  # few shapes to compile
    # the box of frame t (from the pose of t-1) holds the animal of frame t
    inside = [np.all((truth[t + 1, :, 0] >= b[0]) & (truth[t + 1, :, 0] < b[1])
                     & (truth[t + 1, :, 1] >= b[2]) & (truth[t + 1, :, 1] < b[3]))
              for t, b in enumerate(boxes) if b is not None]
    assert np.mean(inside) >= 0.9
    full = ExportedModel(exported)(frames)
    assert np.median(_error(poses, truth)) < np.median(_error(full, truth)) + 1.0
    # animal lost (a blank frame): the next frame is analysed whole again
    blank = np.full_like(frames[0], 128)
    lost = live.get_pose(blank)
    assert lost[:, 2].max() < 0.5
    live.get_pose(frames[0])
    assert live.dynamic_cropping is None


class DlcStyleProcessor:
    """Written the way DLC-Live's processors are (a plain object, no markerless base)."""

    def __init__(self):
        self.calls, self.saved = [], None

    def process(self, pose, **kwargs):
        self.calls.append(kwargs)
        out = pose.copy()
        out[:, 0] += 1000.0
        return out

    def save(self, file=""):
        self.saved = file
        return 1


def test_processor_objects_work_unchanged(exported, tmp_path):
    frames, _ = _clip(n=3)
    proc = DlcStyleProcessor()
    live = LivePose(exported, processor=proc)
    live.init_inference(frames[0], frame_time=0.0)
    out = live.get_pose(frames[1], frame_time=0.033)
    raw = ExportedModel(exported)(frames[1:2])[0]
    assert proc.calls[-1] == {"frame_time": 0.033}
    np.testing.assert_allclose(out[:, 0], raw[:, 0] + 1000.0, rtol=0, atol=1e-4)
    # the crop follows the network, not the processor's output (1000 px off the frame)
    live = LivePose(exported, processor=DlcStyleProcessor(), dynamic=(True, 0.5, 10))
    live.init_inference(frames[0])
    live.get_pose(frames[1])
    assert live.dynamic_cropping is not None
    assert proc.save(str(tmp_path / "x")) == 1
    rec = PoseRecorder()
    live = LivePose(exported, processor=rec)
    live.init_inference(frames[0])
    live.get_pose(frames[1])
    assert rec.save(str(tmp_path / "log.npz")) == 1
    assert np.load(tmp_path / "log.npz")["poses"].shape == (2, 4, 3)


def test_static_crop_and_resize_map_back_to_frame_pixels(exported):
    frames, _ = _clip(n=2)
    x1, x2, y1, y2 = 40, 200, 30, 170
    live = LivePose(exported, cropping=[x1, x2, y1, y2])
    got = live.init_inference(frames[0])
    want = ExportedModel(exported)(frames[:1, y1:y2, x1:x2])[0].astype(np.float64)
    want[:, 0] += x1
    want[:, 1] += y1
    np.testing.assert_array_equal(got, want)
    # an animal twice the trained size, halved before the network, found in full-res pixels
    big, truth = _clip(n=4, height=192, width=256, animal=2 * ANIMAL, seed=3)
    live = LivePose(exported, resize=0.5)
    live.init_inference(big[0])
    poses = np.stack([live.get_pose(f) for f in big])
    assert np.median(_error(poses, truth)) < 6.0


def test_arguments_are_checked(exported):
    with pytest.raises(ArgumentError, match="dynamic cropping needs backend='xla'"):
        LivePose(exported, backend="onnx", dynamic=(True, 0.5, 10))
    with pytest.raises(ArgumentError, match="backend"):
        LivePose(exported, backend="tflite")
    with pytest.raises(ArgumentError, match="resize"):
        LivePose(exported, resize=0)


def test_grey_and_bgr_frames(exported):
    frames, _ = _clip(n=1)
    live = LivePose(exported)
    assert live.init_inference(frames[0, ..., 0]).shape == (4, 3)
    bgr = LivePose(exported, convert2rgb=True)
    np.testing.assert_array_equal(bgr.init_inference(frames[0, ..., ::-1]),
                                  LivePose(exported).init_inference(frames[0]))


def test_benchmark_reports_both_modes(exported, tmp_path):
    from markerless.io.video_write import VideoWriter
    from markerless.live.benchmark import benchmark_live, format_table

    frames, _ = _clip(n=14)
    video = tmp_path / "clip.mp4"
    with VideoWriter(video, 30) as w:
        w.write(frames)
    results = benchmark_live(exported, video, n_frames=10, warmup=4)
    assert [r.mode for r in results] == ["full frame", "dynamic crop"]
    full, dyn = results
    assert full.n_frames == 10 and full.frame_size == (192, 256)
    assert 0 < full.p50_ms <= full.p95_ms <= full.p99_ms and full.fps > 0
    assert full.cropped_fraction == 0 and dyn.cropped_fraction > 0.5
    assert dyn.mean_crop_pixels < full.mean_crop_pixels
    table = format_table(results)
    assert "p95" in table and "dynamic crop" in table
