"""Bodyparts that are often not visible: the synthetic stand-in for tongues, paws behind
the body and tails out of frame.

Real projects label such a part only in the frames where it shows (DeepLabCut leaves the
other cells empty). Two ways to make that case, each in a chosen share of the frames, in
runs of consecutive frames as a real occlusion lasts:

* :func:`add_tongue` adds a ``tongue`` keypoint, a small red disc in front of the snout
  drawn only in the frames where it is out: where it is absent nothing in the image looks
  like it, as with a real tongue, paw or tail out of frame;
* :func:`hide_part` covers an existing part with a patch of floor copied from an empty
  place of the same frame (its own texture, noise and flicker). Covering a tail tip leaves
  a shorter tail whose end looks like a tip: an occlusion the image alone cannot resolve.
"""

from __future__ import annotations

import numpy as np

from markerless.poses import Poses

__all__ = ["TONGUE", "add_tongue", "hide_part", "hidden_frames"]

#: name of the keypoint `add_tongue` adds
TONGUE = "tongue"
#: its colour (RGB): red, unlike any other part of the synthetic animal
TONGUE_RGB = (215, 40, 60)


def hidden_frames(n_frames: int, fraction: float, seed: int, mean_run: float = 6.0
                  ) -> np.ndarray:
    """``(n_frames,)`` bool: which frames hide the part, ``fraction`` of them in runs.

    A smoothed random process thresholded at its ``fraction`` quantile: runs of hidden
    frames of about ``mean_run`` frames alternate with runs of visible ones, and exactly
    ``round(fraction * n_frames)`` frames are hidden.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    from markerless.synthetic.motion import smooth_noise

    n_hidden = int(round(fraction * n_frames))
    if n_hidden == 0:
        return np.zeros(n_frames, bool)
    signal = smooth_noise((int(seed), 71), n_frames, mean_run / 2.0)
    order = np.argsort(-signal, kind="stable")
    hidden = np.zeros(n_frames, bool)
    hidden[order[:n_hidden]] = True
    return hidden


def hide_part(frames: np.ndarray, poses: Poses, part: str, fraction: float = 0.7,
              seed: int = 0, radius: float | None = None) -> tuple[np.ndarray, Poses, np.ndarray]:
    """Cover ``part`` in ``fraction`` of the frames; returns ``(frames, poses, hidden)``.

    ``frames`` (n, H, W, 3) uint8 and ``poses`` come from `markerless.synthetic.generate`
    (one animal or several: the part is hidden on every animal in the chosen frames).
    ``radius`` is the covered disk's radius in pixels (default: a tenth of the snout to
    tailbase distance, at least 3 px). The returned ``poses`` have NaN for the hidden part
    where it was covered; ``hidden`` is the ``(n_frames,)`` mask. Nothing is changed in
    place.
    """
    if part not in poses.bodyparts:
        raise ValueError(f"{part!r} is not one of the clip's bodyparts {poses.bodyparts}")
    k = poses.bodyparts.index(part)
    frames = np.array(frames, copy=True)
    out = poses.copy()
    n, h, w, _ = frames.shape
    hidden = hidden_frames(n, fraction, seed) & np.isfinite(poses.xy[:, :, k]).all(-1).any(-1)
    if radius is None:
        xy = poses.xy
        ends = [b for b in ("snout", "tailbase") if b in poses.bodyparts]
        if len(ends) == 2:
            a, b = (poses.bodyparts.index(e) for e in ends)
            length = np.nanmedian(np.linalg.norm(xy[:, :, a] - xy[:, :, b], axis=-1))
        else:
            length = 0.2 * min(h, w)
        radius = max(3.0, 0.1 * float(length))
    r = int(np.ceil(radius))
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    inside = dy**2 + dx**2 <= radius**2
    dy, dx = dy[inside], dx[inside]
    ts = np.flatnonzero(hidden)
    # bare floor for every hidden frame at once: the grid point farthest from all keypoints
    gx, gy = np.meshgrid(np.linspace(r, w - 1 - r, 9), np.linspace(r, h - 1 - r, 9))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)  # (G, 2)
    pts = poses.xy[ts].reshape(len(ts), -1, 2)  # (T, I*K, 2)
    d = np.linalg.norm(grid[None, :, None] - pts[:, None], axis=-1)  # (T, G, I*K)
    d = np.where(np.isnan(d), np.inf, d).min(axis=2)
    source = np.rint(grid[np.argmax(d, axis=1)]).astype(int)  # (T, 2)
    centre = poses.xy[ts, :, k]  # (T, I, 2)
    ok = np.isfinite(centre).all(-1)  # (T, I)
    tt = np.broadcast_to(ts[:, None, None], (len(ts), poses.n_individuals, dy.size))
    yy = np.clip(np.rint(np.nan_to_num(centre[..., 1]))[..., None].astype(int) + dy, 0, h - 1)
    xx = np.clip(np.rint(np.nan_to_num(centre[..., 0]))[..., None].astype(int) + dx, 0, w - 1)
    sy = np.clip(source[:, None, None, 1] + dy, 0, h - 1)
    sx = np.clip(source[:, None, None, 0] + dx, 0, w - 1)
    sel = np.broadcast_to(ok[..., None], tt.shape)
    frames[tt[sel], yy[sel], xx[sel]] = frames[tt[sel], np.broadcast_to(sy, tt.shape)[sel],
                                               np.broadcast_to(sx, tt.shape)[sel]]
    out.xy[ts, :, k] = np.nan
    return frames, out, hidden


def add_tongue(frames: np.ndarray, poses: Poses, fraction: float = 0.3, seed: int = 0
               ) -> tuple[np.ndarray, Poses, np.ndarray]:
    """Draw a tongue in ``fraction`` of the frames and add it as the last bodypart.

    Returns ``(frames, poses, shown)``: new frames, poses with a ``tongue`` keypoint (NaN
    where it is not out) and the ``(n_frames,)`` mask of frames that show it. The tongue
    sticks out of the snout along the head's axis (ears' midpoint to snout), 0.11 body
    lengths ahead, with a radius of 0.07 body lengths (at least 1.5 px). Needs the
    ``snout``, ``leftear``, ``rightear`` and ``tailbase`` keypoints; one animal or several.
    """
    from markerless.drawing import draw_discs

    need = ("snout", "leftear", "rightear", "tailbase")
    missing = [b for b in need if b not in poses.bodyparts]
    if missing:
        raise ValueError(f"add_tongue needs the bodyparts {missing}")
    if TONGUE in poses.bodyparts:
        raise ValueError("the clip already has a tongue")
    snout, left, right, tail = (poses.xy[:, :, poses.bodyparts.index(b)] for b in need)
    head = snout - 0.5 * (left + right)
    length = np.linalg.norm(snout - tail, axis=-1, keepdims=True)
    tongue = snout + 0.11 * length * head / np.maximum(
        np.linalg.norm(head, axis=-1, keepdims=True), 1e-9)
    shown = ~hidden_frames(len(frames), 1.0 - fraction, seed + 1)
    h, w = frames.shape[1:3]
    inside = ((tongue[..., 0] >= 0) & (tongue[..., 0] <= w - 1)
              & (tongue[..., 1] >= 0) & (tongue[..., 1] <= h - 1))
    visible = shown[:, None] & inside & np.isfinite(tongue).all(-1)
    frames = np.array(frames, copy=True)
    radius = max(1.5, 0.07 * float(np.nanmedian(length)))
    colors = np.tile(np.asarray(TONGUE_RGB, float), (poses.n_individuals, 1))
    draw_discs(frames, tongue, visible, colors, radius, 1.0)
    xy = np.concatenate([poses.xy, np.where(visible[..., None], tongue, np.nan)[:, :, None]],
                        axis=2)
    defined = np.concatenate([poses.defined, np.ones((poses.n_individuals, 1), bool)], axis=1)
    out = Poses(xy, [*poses.bodyparts, TONGUE], list(poses.individuals), list(poses.frames),
                poses.scorer, None, defined)
    return frames, out, visible.any(axis=1)
