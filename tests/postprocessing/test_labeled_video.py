"""Labeled videos: exact rasterising, then colours, counts and pcutoff in the decoded mp4."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.drawing import disc_offsets, draw_discs, draw_segments
from markerless.io.video import VideoReader
from markerless.poses import Poses
from markerless.postprocessing.common import bodypart_colors
from markerless.postprocessing.labeled_video import (
    LabelStyle,
    create_labeled_video,
    iter_create_labeled_video,
    iter_labeled_video,
)

#: four bodyparts well apart, drifting one pixel per frame to the right
CORNERS = np.array([[30.0, 30.0], [90.0, 30.0], [30.0, 90.0], [90.0, 90.0]])


def _corner_poses(n: int, bodyparts: list[str]) -> Poses:
    t = np.arange(n)[:, None, None]
    xy = np.broadcast_to(CORNERS, (n, 4, 2)).copy()
    xy[..., 0] += (t[..., 0] % 10)
    lik = np.full((n, 1, 4), 0.95)
    lik[::2, 0, 3] = 0.1  # bodypart 3 is unsure on even frames
    return Poses(xy[:, None], bodyparts, likelihood=lik, scorer="DLC_corner")


def test_disc_and_segment_rasterising_is_exact():
    frames = np.zeros((2, 20, 30, 3), np.uint8)
    xy = np.array([[[5.4, 6.6], [np.nan, 1]], [[28.0, 19.0], [10, 10]]])
    visible = np.array([[True, True], [True, False]])
    colors = np.array([[255, 0, 0], [0, 255, 0]])
    draw_discs(frames, xy, visible, colors, radius=2)
    assert len(disc_offsets(2)) == 9  # the 3x3 square, as skimage.draw.disk(r=2)
    red = np.all(frames[0] == [255, 0, 0], axis=-1)
    assert red.sum() == 9 and red[6:9, 4:7].all()  # centred on round(y)=7, round(x)=5
    assert np.all(frames[1, 18:20, 27:30] == [255, 0, 0]) and frames[1].any(-1).sum() == 6
    assert not np.all(frames == [0, 255, 0], axis=-1).any()  # NaN and hidden points
    half = np.full((1, 5, 5, 3), 100, np.uint8)
    draw_discs(half, np.array([[[2.0, 2.0]]]), np.ones((1, 1), bool), np.array([[200, 0, 0]]),
               1, alpha=0.5)  # fmt: skip
    assert half[0, 2, 2].tolist() == [150, 50, 50] and half[0, 0, 0].tolist() == [100] * 3
    lines = np.zeros((1, 10, 10, 3), np.uint8)
    draw_segments(lines, np.array([[[1.0, 1.0]]]), np.array([[[8.0, 8.0]]]),
                  np.ones((1, 1), bool), np.array([[0, 0, 255]]))  # fmt: skip
    blue = np.all(lines[0] == [0, 0, 255], axis=-1)
    np.testing.assert_array_equal(np.argwhere(blue), [[i, i] for i in range(1, 9)])


def test_labeled_video_colours_counts_and_pcutoff(project, tmp_path):
    video, config = project["video"], project["config"]
    bodyparts = project["truth"].bodyparts
    poses = _corner_poses(48, bodyparts)
    out = create_labeled_video(config, [video], dotsize=5, pcutoff=0.6, alphavalue=1.0,
                               analysis=poses, output_path=tmp_path, progress=False)  # fmt: skip
    assert out == [str(tmp_path / "mouseDLC_corner_labeled.mp4")]
    colors = np.rint(bodypart_colors(4, "rainbow") * 255)
    with VideoReader(out[0]) as labeled, VideoReader(video) as original:
        assert len(labeled) == len(original) == 48
        lab, orig = labeled[0:48].astype(float), original[0:48].astype(float)
    for f in (0, 1, 17, 47):
        for k in range(4):
            x, y = np.rint(poses.xy[f, 0, k]).astype(int)
            patch = lab[f, y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).mean(0)
            if k == 3 and f % 2 == 0:  # below pcutoff: not drawn, the video shows through
                before = orig[f, y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).mean(0)
                assert np.abs(patch - before).max() < 12, (f, k)
            else:
                assert np.abs(patch - colors[k]).max() < 28, (f, k, patch, colors[k])
    # far from every keypoint the frame is the original, within codec tolerance
    assert np.abs(lab[:, 55:70, 55:70] - orig[:, 55:70, 55:70]).mean() < 6


def test_skeleton_trails_and_generator(project, tmp_path):
    video = project["video"]
    poses = _corner_poses(48, ["snout", "leftear", "rightear", "tailbase"])
    style = LabelStyle(dotsize=3, alphavalue=1.0, pcutoff=0.6, skeleton=[("snout", "leftear")],
                       skeleton_color="black", draw_skeleton=True, trailpoints=3)  # fmt: skip
    events = list(iter_labeled_video(video, poses, tmp_path / "s.mp4", style))
    assert events[-1]["status"] == "done" and events[-1]["frames_done"] == 48
    assert all(e["frames_done"] <= 48 for e in events)
    with VideoReader(tmp_path / "s.mp4") as r:
        frame = r[5].astype(float)
    xa = int(poses.xy[5, 0, 0, 0])
    line = frame[30, xa + 10 : xa + 50]  # between snout (x~35) and leftear (x~95), y = 30
    assert line.mean() < 40  # black skeleton line
    trail = frame[90, int(poses.xy[2, 0, 2, 0])]  # rightear 3 frames ago, faded purple-ish
    now = np.rint(bodypart_colors(4, "rainbow")[2] * 255)
    assert np.abs(trail - now).max() > 10  # blended: not the full colour ...
    with VideoReader(video) as r:
        assert np.abs(trail - r[5][90, int(poses.xy[2, 0, 2, 0])]).max() > 10  # ... not absent


def test_names_skip_and_overwrite(project):
    config, video, root = project["config"], project["video"], project["root"]
    results = project["results"]
    ev = list(iter_create_labeled_video(config, [video], dotsize=2, filtered=False))
    target = root / "videos" / f"mouse{results.scorer}_labeled.mp4"
    assert ev[-1]["status"] == "done" and ev[-1]["output"] == str(target) and target.is_file()
    again = list(iter_create_labeled_video(config, [video]))
    assert [e["status"] for e in again] == ["skipped"]
    assert list(iter_create_labeled_video(config, [video], overwrite=True, dotsize=2))[-1][
        "status"] == "done"
    with pytest.warns(UserWarning, match="fastmode"):
        create_labeled_video(config, [video], fastmode=True, progress=False)
    # a folder: the labeled video in it is not taken for an input
    assert create_labeled_video(config, root / "videos", progress=False) == [str(target)]
