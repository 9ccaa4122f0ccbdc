"""markerless.synthetic: determinism, exact keypoints on the drawing, plausible motion, files."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.synthetic import (
    ALL_BODYPARTS,
    DEFAULT_BODYPARTS,
    SyntheticConfig,
    generate,
    ground_truth,
    iter_frames,
    layout,
    render,
    sample_clip,
    write_clip,
)

SMALL = {"height": 96, "width": 128, "n_frames": 12}
CLEAN = {"noise_std": 0.0, "flicker": 0}  # exact colours: stored value == design colour


def _pixel(frames: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """RGB of the pixel whose centre is nearest to each (frame, x, y): (F, 3) int."""
    f = np.arange(len(frames))
    ix, iy = np.rint(xy[:, 0]).astype(int), np.rint(xy[:, 1]).astype(int)
    return frames[f, iy, ix].astype(int)


# --- determinism and streaming ---------------------------------------------------


def test_same_seed_is_bit_identical_and_other_seed_differs():
    f1, p1 = generate(SyntheticConfig(**SMALL, seed=3))
    f2, p2 = generate(SyntheticConfig(**SMALL, seed=3))
    f3, p3 = generate(SyntheticConfig(**SMALL, seed=4))
    assert f1.dtype == np.uint8 and f1.shape == (12, 96, 128, 3)
    assert np.array_equal(f1, f2) and p1.equals(p2)
    assert (f1 != f3).mean() > 0.5
    assert np.abs(p1.xy - p3.xy).max() > 5


@pytest.mark.parametrize("chunk", [1, 5, 64])
@pytest.mark.parametrize("size", [(96, 128), (50, 66)])  # 50*66*3 is not a multiple of 8
def test_iter_frames_chunks_concatenate_to_generate(chunk, size):
    cfg = SyntheticConfig(height=size[0], width=size[1], n_frames=11, n_animals=1, seed=1)
    frames, poses = generate(cfg)
    parts = list(iter_frames(cfg, chunk=chunk))
    assert [len(f) for f, _ in parts] == [min(chunk, 11 - i) for i in range(0, 11, chunk)]
    assert all(f.flags.c_contiguous for f, _ in parts)
    assert np.array_equal(np.concatenate([f for f, _ in parts]), frames)
    assert np.array_equal(np.concatenate([xy for _, xy in parts]), poses.xy)


def test_longer_clip_starts_with_the_shorter_one():
    short, p_short = generate(SyntheticConfig(**{**SMALL, "n_frames": 10}))
    long, p_long = generate(SyntheticConfig(**{**SMALL, "n_frames": 25}))
    assert np.array_equal(long[:10], short)
    assert np.array_equal(p_long.xy[:10], p_short.xy)


def test_ground_truth_matches_generate_without_drawing():
    cfg = SyntheticConfig(**SMALL, n_animals=2, bodyparts=5)
    assert ground_truth(cfg).equals(generate(cfg)[1])


# --- poses layout -------------------------------------------------------------------


def test_single_animal_poses_follow_dlc_conventions():
    frames, poses = generate(SyntheticConfig(**SMALL))
    assert poses.individuals == [""] and not poses.multianimal
    assert (
        poses.bodyparts == list(DEFAULT_BODYPARTS) == ["snout", "leftear", "rightear", "tailbase"]
    )
    assert poses.xy.shape == (12, 1, 4, 2) and poses.frames == list(range(12))
    assert poses.likelihood is None and poses.n_labeled == 12 * 4


@pytest.mark.parametrize("n_animals", [2, 3])
def test_multi_animal_shape_and_animals_never_fully_overlap(n_animals):
    cfg = SyntheticConfig(height=128, width=160, n_frames=300, n_animals=n_animals, bodyparts=9)
    poses = ground_truth(cfg)
    assert poses.xy.shape == (300, n_animals, 9, 2)
    assert poses.individuals == [f"animal{i}" for i in range(n_animals)]
    centre = poses.xy[:, :, ALL_BODYPARTS.index("spine1")]
    dist = np.linalg.norm(centre[:, :, None] - centre[:, None], axis=-1)
    i, j = np.triu_indices(n_animals, 1)
    assert dist[:, i, j].min() > 0.6 * layout(cfg).length


def test_bodypart_selection_by_name_or_count():
    cfg = SyntheticConfig(**SMALL, bodyparts=("tailtip", "snout"))
    assert cfg.bodyparts == ("tailtip", "snout")
    full = ground_truth(SyntheticConfig(**SMALL, bodyparts=ALL_BODYPARTS))
    sub = ground_truth(cfg)
    order = [ALL_BODYPARTS.index("tailtip"), ALL_BODYPARTS.index("snout")]
    assert np.array_equal(sub.xy, full.xy[:, :, order])
    assert SyntheticConfig(**SMALL, bodyparts=4).bodyparts == DEFAULT_BODYPARTS
    assert SyntheticConfig(**SMALL, bodyparts=2).bodyparts == ("snout", "tailbase")
    assert len(SyntheticConfig(**SMALL, bodyparts=9).bodyparts) == 9
    with pytest.raises(ValueError, match="Unknown synthetic bodyparts.*'paw'"):
        SyntheticConfig(bodyparts=("snout", "paw"))
    with pytest.raises(ValueError, match="duplicates"):
        SyntheticConfig(bodyparts=("snout", "snout"))
    with pytest.raises(ValueError, match="count"):
        SyntheticConfig(bodyparts=10)


def test_config_errors_name_the_problem():
    with pytest.raises(ValueError, match="animal_length=200 px is too large"):
        SyntheticConfig(animal_length=200)
    with pytest.raises(ValueError, match="do not fit"):
        SyntheticConfig(height=32, width=32, n_animals=6)
    with pytest.raises(ValueError, match="noise_std"):
        SyntheticConfig(noise_std=-1)
    with pytest.raises(ValueError, match="n_frames"):
        SyntheticConfig(n_frames=0)
    with pytest.raises(ValueError, match="iter_frames"):
        generate(SyntheticConfig(height=2048, width=2048, n_frames=400))


# --- keypoints are on the drawing ----------------------------------------------------


def test_keypoints_sit_on_their_drawn_features():
    cfg = SyntheticConfig(height=176, width=176, n_frames=40, bodyparts=ALL_BODYPARTS, seed=5,
                          animal_length=52, **CLEAN)  # fmt: skip
    frames, poses = generate(cfg)
    xy = {b: poses.xy[:, 0, k] for k, b in enumerate(poses.bodyparts)}
    # the features are drawn in exactly these colours (alpha == 1 at the nearest pixel)
    for name, colour in [
        ("snout", render.NOSE),
        ("leftear", render.LEFT_EAR),
        ("rightear", render.RIGHT_EAR),
        ("neck", render.BODY),
        ("spine1", render.BODY),
        ("spine2", render.BODY),
        ("tailbase", render.BODY),
        ("tailmid", render.TAIL),
    ]:
        err = np.abs(_pixel(frames, xy[name]) - colour).max(axis=1)
        assert err.max() <= 1, (name, err.max())
    # the thin tail tip is partly covered: closer to the tail colour than the floor is
    floor = _pixel(np.broadcast_to(render.background_design(176, 176, 5), frames.shape),
                   xy["tailtip"])  # fmt: skip
    tip = _pixel(frames, xy["tailtip"])
    assert np.all(np.abs(tip - render.TAIL).sum(1) < np.abs(floor - render.TAIL).sum(1))
    # and the floor away from the animal is far from every animal colour
    assert np.abs(floor - render.BODY).sum(1).min() > 150


def test_keypoint_colours_survive_default_noise():
    frames, poses = generate(SyntheticConfig(n_frames=20, seed=2))
    left = _pixel(frames, poses.xy[:, 0, 1])
    right = _pixel(frames, poses.xy[:, 0, 2])
    assert np.all(left[:, 0] > left[:, 2] + 50)  # pink: red >> blue
    assert np.all(right[:, 2] > right[:, 0] + 50)  # blue
    snout = _pixel(frames, poses.xy[:, 0, 0])
    assert np.all(snout.mean(1) > 120)  # light nose tip on a dark body
    assert np.all(np.abs(_pixel(frames, poses.xy[:, 0, 3]) - render.BODY).max(1) < 30)


def test_left_ear_is_on_the_animals_left():
    poses = ground_truth(SyntheticConfig(n_frames=500, bodyparts=ALL_BODYPARTS))
    p = {b: poses.xy[:, 0, k] for k, b in enumerate(poses.bodyparts)}
    fwd = p["snout"] - p["neck"]

    def cross(a, b):
        return a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]

    # image y points down: the animal's left is where cross(forward, v) < 0
    assert np.all(cross(fwd, p["leftear"] - p["neck"]) < 0)
    assert np.all(cross(fwd, p["rightear"] - p["neck"]) > 0)


def test_motion_is_smooth_forward_and_inside_the_frame():
    cfg = SyntheticConfig(height=256, width=320, n_frames=3000, bodyparts=ALL_BODYPARTS, seed=7)
    poses = ground_truth(cfg)
    length = layout(cfg).length
    xy = poses.xy[:, 0]
    assert not np.isnan(xy).any()
    assert xy[..., 0].min() >= 0 and xy[..., 0].max() <= cfg.width - 1
    assert xy[..., 1].min() >= 0 and xy[..., 1].max() <= cfg.height - 1
    step = np.linalg.norm(np.diff(xy, axis=0), axis=-1) / length  # body lengths per frame
    body = [ALL_BODYPARTS.index(b) for b in ("snout", "leftear", "rightear", "spine1", "tailbase")]
    assert step[:, body].max() < 0.2 and np.median(step[:, body]) < 0.05
    assert step.max() < 0.5  # the tail tip swings fastest
    centre, snout = xy[:, ALL_BODYPARTS.index("spine1")], xy[:, 0]
    travelled = np.linalg.norm(np.diff(centre, axis=0), axis=-1).sum() / length
    assert 0.2 * 100 < travelled < 1.0 * 100  # 100 s at ~0.6 body lengths/s (slower near walls)
    v = np.gradient(centre, axis=0)
    moving = np.linalg.norm(v, axis=1) > 0.01 * length / cfg.fps
    ahead = snout - centre
    cos = (v * ahead).sum(1) / np.linalg.norm(v, axis=1) / np.linalg.norm(ahead, axis=1)
    assert (cos[moving] > 0).mean() > 0.97  # walks head first
    # it turns and bends: the heading covers all directions, the body is not rigid
    heading = np.arctan2(*(snout - centre).T[::-1])
    assert np.histogram(heading, bins=8, range=(-np.pi, np.pi))[0].min() > 0
    span = np.linalg.norm(snout - xy[:, ALL_BODYPARTS.index("tailbase")], axis=1) / length
    assert span.min() < 0.97 and span.max() > 0.999


# --- noise, flicker, background -------------------------------------------------------


def test_sensor_noise_has_the_requested_spread_and_flicker_moves_brightness():
    cfg = SyntheticConfig(**{**SMALL, "n_frames": 40}, noise_std=3.5, flicker=0, seed=1)
    frames, _ = generate(cfg)
    spread = np.median(frames.astype(float).std(axis=0))
    assert abs(spread - render.noise_plan(3.5, 0).std) < 0.4
    still, _ = generate(SyntheticConfig(**{**SMALL, "n_frames": 40}, **CLEAN))
    floor = still.std(axis=0).max(axis=-1) == 0  # pixels the animal never touches
    assert floor.mean() > 0.5
    flick, _ = generate(SyntheticConfig(**{**SMALL, "n_frames": 40}, noise_std=0, flicker=3))
    level = flick[:, floor].mean(axis=(1, 2))
    assert np.ptp(level) >= 2  # brightness changes between frames ...
    assert np.all(np.diff(flick[:, floor].astype(int), axis=0).std(axis=1) < 1e-9)  # ... uniformly


def test_sample_clip_is_small_and_has_every_keypoint():
    frames, poses = sample_clip()
    assert frames.shape == (60, 256, 256, 3) and frames.dtype == np.uint8
    assert poses.bodyparts == list(ALL_BODYPARTS) and poses.n_labeled == 60 * 9


# --- files ------------------------------------------------------------------------------


def test_write_clip_frame_count_fps_and_content(tmp_path):
    import av

    cfg = SyntheticConfig(height=128, width=160, n_frames=45, fps=15.0, animal_length=40, **CLEAN)
    path = tmp_path / "clip.mp4"
    poses = write_clip(path, cfg, gop=10, crf=23)
    assert poses.equals(ground_truth(cfg))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 15 and (stream.width, stream.height) == (160, 128)
        decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    assert len(decoded) == 45
    frames, _ = generate(cfg)
    assert np.abs(decoded.astype(int) - frames).mean() < 3.0  # crf 23 keeps the drawing
    left = _pixel(decoded, poses.xy[:, 0, 1])
    right = _pixel(decoded, poses.xy[:, 0, 2])
    assert np.all(left[:, 0] > left[:, 2] + 50) and np.all(right[:, 2] > right[:, 0] + 50)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
