"""Synthetic clips where several animals share the arena: meetings, crossings, occlusion."""

from __future__ import annotations

import numpy as np
import pytest

from markerless.synthetic import SyntheticConfig, generate, ground_truth, layout, render
from markerless.synthetic.occlusion import occlusion

SHARED = {"n_frames": 600, "arena": "shared", "seed": 0}


@pytest.mark.parametrize("n_animals", [2, 3, 4])
def test_animals_share_the_arena_and_meet(n_animals):
    cfg = SyntheticConfig(n_animals=n_animals, bodyparts=9, **SHARED)
    poses = ground_truth(cfg)
    assert poses.individuals == [f"animal{i}" for i in range(n_animals)]
    assert np.isfinite(poses.xy).all()  # nobody leaves the frame
    centre = np.nanmean(poses.xy, axis=2)  # (F, A, 2)
    i, j = np.triu_indices(n_animals, 1)
    dist = np.linalg.norm(centre[:, i] - centre[:, j], axis=-1)  # (F, pairs)
    length = np.linalg.norm(poses.xy[:, :, 0] - poses.xy[:, :, 6], axis=-1).mean()
    # every animal roams the whole frame's free box, not a grid cell
    box = layout(cfg).boxes
    assert (box == box[0]).all() and box[0, 1] - box[0, 0] > 0.4 * 256
    span = np.nanmax(centre, (0, 1)) - np.nanmin(centre, (0, 1))
    assert (span > 0.5 * (box[0, 1] - box[0, 0])).all()
    # they come within a body length of each other (touch, overlap)
    assert dist.min() < length
    # and cross paths: the sign of the x-difference of some pair flips while they are close
    dx = centre[:, i, 0] - centre[:, j, 0]
    flips = (np.sign(dx[1:]) != np.sign(dx[:-1])) & (dist[1:] < 1.5 * length)
    assert flips.sum() >= 1


def test_grid_arena_is_unchanged_by_the_new_options():
    base = SyntheticConfig(n_frames=20, n_animals=2, seed=3)
    frames, poses = generate(base)
    frames2, poses2 = generate(SyntheticConfig(n_frames=20, n_animals=2, seed=3, arena="grid"))
    assert np.array_equal(frames, frames2) and poses.equals(poses2)


def test_occlusion_matches_the_pixels():
    cfg = SyntheticConfig(n_animals=2, bodyparts=("snout",), noise_std=0, flicker=0,
                          identity_colors=True, **SHARED)
    frames, poses = generate(cfg)
    hidden = occlusion(cfg, poses.xy)
    assert hidden.shape == (600, 2, 1)
    assert not hidden[:, 1].any()  # the top animal is never hidden
    assert 10 <= hidden[:, 0].sum() < 300  # the other one sometimes is
    nose = render.NOSE * render.noise_plan(0, 0).scale
    px = np.rint(poses.xy[:, 0, 0]).astype(int)
    pix = frames[np.arange(600), px[:, 1], px[:, 0]].astype(float)
    off = np.abs(pix - nose).max(-1)
    h = hidden[:, 0, 0]
    assert (off[h] > 30).mean() > 0.9  # hidden snouts show the other animal
    assert (off[~h] < 30).mean() > 0.98  # visible snouts show the nose


def test_identity_stripes_mark_each_animal_differently():
    kw = {"n_frames": 4, "n_animals": 2, "noise_std": 0, "flicker": 0, "seed": 1}
    plain, poses = generate(SyntheticConfig(**kw))
    striped, _ = generate(SyntheticConfig(**kw, identity_stripes=True))
    assert not np.array_equal(plain, striped)
    # the stripe lies where the animal's stripe position says: between its ears and tailbase
    diff = np.abs(striped.astype(int) - plain.astype(int)).max(-1) > 40  # (F, H, W)
    ys, xs = np.nonzero(diff[0])
    xy = poses.xy[0]  # (2, 4, 2): snout, leftear, rightear, tailbase
    for a, frac in ((0, render.stripe_position(0)), (1, render.stripe_position(1))):
        target = xy[a, 0] + frac * (xy[a, 3] - xy[a, 0])
        near = np.hypot(xs - target[0], ys - target[1]) < 6
        assert near.sum() >= 5, f"no stripe on animal{a} at {frac:.2f} of its body"


def test_bad_arena_is_refused():
    with pytest.raises(ValueError, match="arena"):
        SyntheticConfig(arena="ring")
