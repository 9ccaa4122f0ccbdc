"""Synthetic multi-camera data with exact ground truth, for 3D tests and benchmarks.

* :func:`make_rig`: known cameras (intrinsics with distortion, poses on a ring around an
  arena, all looking at its centre); ``opposite=True`` gives two cameras facing each other.
* :func:`board_poses` + :func:`render_board_images`: a ChArUco (or checker) board at
  random poses, rendered into every camera's image by ray casting through the true lens
  model (2x2 supersampling, blur and sensor noise), with the true corner positions.
  :func:`board_observations` gives the same corners without rendering (fast tests).
* :func:`animal_3d` + :func:`project_animal`: a mouse-like 3D skeleton (a kinematic chain:
  bone lengths are exactly constant) walking in the arena, projected into every view with
  pixel noise, missing views and outliers.

World units are mm, z up; same seed, same data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from markerless.pose3d.boards import Board, CharucoBoard
from markerless.pose3d.camera import Camera, CameraGroup
from markerless.pose3d.distortion import pixels_to_normalized, rotation_to_rvec

ANIMAL_BODYPARTS = ("snout", "leftear", "rightear", "neck", "spine1", "spine2", "tailbase",
                    "tail1", "tail2", "tailtip")
ANIMAL_SKELETON = (("snout", "neck"), ("leftear", "neck"), ("rightear", "neck"),
                   ("neck", "spine1"), ("spine1", "spine2"), ("spine2", "tailbase"),
                   ("tailbase", "tail1"), ("tail1", "tail2"), ("tail2", "tailtip"))


def look_at(centre: np.ndarray, target: np.ndarray, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """World -> camera rotation of a camera at ``centre`` looking at ``target``, image up = up."""
    z = np.asarray(target, float) - np.asarray(centre, float)
    z /= np.linalg.norm(z)
    down = -np.asarray(up, float)
    y = down - down.dot(z) * z
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    return np.stack([x, y, z])


def make_rig(n_cameras: int = 4, image_size: tuple[int, int] = (800, 600), radius: float = 700.0,
             height: float = 450.0, focal: float = 900.0, distortion: bool = True,
             opposite: bool = False, seed: int = 0, names=None,
             azimuths: list[float] | None = None) -> CameraGroup:
    """Cameras on a ring (radius, height in mm) around the arena, looking at its centre.

    Evenly spread unless ``azimuths`` (degrees) places them; ``opposite``: two cameras at
    the same height on opposite sides, facing each other.
    """
    rng = np.random.default_rng(seed)
    if opposite:
        n_cameras, height, azimuths = 2, 60.0, None
    if azimuths is not None:
        n_cameras = len(azimuths)
    w, h = image_size
    names = list(names) if names is not None else [f"camera-{i + 1}" for i in range(n_cameras)]
    cams = []
    for i in range(n_cameras):
        az = (np.deg2rad(azimuths[i]) if azimuths is not None else 2 * np.pi * i / n_cameras) \
            + (0 if opposite else rng.uniform(-0.15, 0.15))
        hz = height * (1 if opposite else rng.uniform(0.85, 1.15))
        centre = np.array([radius * np.cos(az), radius * np.sin(az), hz])
        rot = look_at(centre, np.array([0.0, 0.0, 40.0 if not opposite else 60.0]))
        fx = focal * rng.uniform(0.95, 1.05)
        fy = fx * rng.uniform(0.997, 1.003)
        k = np.array([[fx, 0, (w - 1) / 2 + rng.uniform(-12, 12)],
                      [0, fy, (h - 1) / 2 + rng.uniform(-12, 12)], [0, 0, 1]])
        dist = np.zeros(5)
        if distortion:
            dist = np.array([rng.uniform(-0.2, 0.05), rng.uniform(-0.05, 0.1),
                             rng.uniform(-1e-3, 1e-3), rng.uniform(-1e-3, 1e-3), 0.0])
        cams.append(Camera(k, dist, (w, h), rotation_to_rvec(rot), -rot @ centre, names[i]))
    return CameraGroup(cams, {"synthetic": True})


# --- boards ----------------------------------------------------------------------------------
@dataclass
class BoardPoses:
    """``rotations`` (V, 3, 3) board -> world; ``origins`` (V, 3) the board's (0, 0) corner."""

    rotations: np.ndarray
    origins: np.ndarray

    def corners_world(self, board: Board) -> np.ndarray:
        obj = board.object_points()
        return np.einsum("vij,kj->vki", self.rotations, obj) + self.origins[:, None, :]


def _board_extent(board: Board) -> tuple[float, float]:
    if isinstance(board, CharucoBoard):
        return board.squares_x * board.square_length, board.squares_y * board.square_length
    return (board.squares_x + 1) * board.square_length, (board.squares_y + 1) * board.square_length


def board_poses(board: Board, n_views: int, seed: int = 0, spread: float = 140.0,
                max_tilt: float = 50.0, edge_on: bool = False,
                facing: np.ndarray | None = None) -> BoardPoses:
    """Random board poses over the arena: printed face up (or towards the point ``facing``),
    tilted up to ``max_tilt`` degrees towards a random side, random in-plane rotation.
    ``edge_on``: the board stands vertical, its face turned along the y axis, so cameras on
    the x axis see it only at grazing angles (the degenerate case of opposite cameras)."""
    rng = np.random.default_rng(seed)
    W, H = _board_extent(board)
    rots, origins = [], []
    for _ in range(n_views):
        centre = np.array([rng.uniform(-spread, spread), rng.uniform(-spread, spread),
                           rng.uniform(40, 140)])
        if edge_on:  # off the line between the cameras, face turned towards that line
            side = 1.0 if rng.random() < 0.5 else -1.0
            centre[:2] = rng.uniform(-20, 20), side * rng.uniform(40, 90)
            az = (-np.pi / 2 if side > 0 else np.pi / 2) + rng.uniform(-0.02, 0.02)
            tilt = np.deg2rad(90 + rng.uniform(-2, 2))
        else:
            az = rng.uniform(0, 2 * np.pi)
            tilt = np.deg2rad(rng.uniform(0, max_tilt))
        face = np.array([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), np.cos(tilt)])
        if facing is not None:  # rotate "up" onto the direction of the point
            up = np.asarray(facing, float) - centre
            up /= np.linalg.norm(up)
            a = np.cross([0.0, 0.0, 1.0], up)
            s_, c_ = np.linalg.norm(a), up[2]
            if s_ > 1e-9:
                k = a / s_
                kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
                face = (np.eye(3) + s_ * kx + (1 - c_) * kx @ kx) @ face
        zb = -face
        helper = np.array([1.0, 0, 0]) if abs(zb[0]) < 0.9 else np.array([0, 1.0, 0])
        x0 = np.cross(helper, zb)
        x0 /= np.linalg.norm(x0)
        y0 = np.cross(zb, x0)
        psi = rng.uniform(0, 2 * np.pi)
        xb = np.cos(psi) * x0 + np.sin(psi) * y0
        yb = np.cross(zb, xb)
        rot = np.stack([xb, yb, zb], axis=1)
        rots.append(rot)
        origins.append(centre - rot @ np.array([W / 2, H / 2, 0.0]))
    return BoardPoses(np.array(rots), np.array(origins))


def _visible(group: CameraGroup, poses: BoardPoses, board: Board, max_view_angle: float):
    """(C, V) whether each camera sees the printed face at less than ``max_view_angle``."""
    W, H = _board_extent(board)
    centres = poses.origins + np.einsum("vij,j->vi", poses.rotations, [W / 2, H / 2, 0.0])
    face = -poses.rotations[:, :, 2]
    out = []
    for cam in group.cameras:
        ray = cam.centre[None] - centres
        ray /= np.linalg.norm(ray, axis=1, keepdims=True)
        cosang = np.einsum("vi,vi->v", ray, face)
        out.append(cosang > np.cos(np.deg2rad(max_view_angle)))
    return np.array(out)


def board_observations(group: CameraGroup, board: Board, poses: BoardPoses, noise: float = 0.1,
                       seed: int = 0, max_view_angle: float = 75.0) -> np.ndarray:
    """(C, V, n_corners, 2) true corner pixels + noise; NaN where the camera does not see it."""
    rng = np.random.default_rng(seed)
    world = poses.corners_world(board)  # (V, K, 3)
    px = group.project(world.reshape(-1, 3)).reshape(len(group), *world.shape[:2], 2)
    px = px + rng.normal(scale=noise, size=px.shape) if noise else px
    vis = _visible(group, poses, board, max_view_angle)
    for c, cam in enumerate(group.cameras):
        w, h = cam.size
        inside = ((px[c, ..., 0] > 2) & (px[c, ..., 0] < w - 3) & (px[c, ..., 1] > 2)
                  & (px[c, ..., 1] < h - 3))
        depth = (world @ cam.rotation_matrix.T + cam.tvec)[..., 2]
        px[c][~(inside & (depth > 0) & vis[c][:, None])] = np.nan
    return px


def _rays(cam: Camera, ss: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """(rows*ss, cols*ss, 3) camera-frame rays through the sub-pixel samples of the pixel box
    ``(x0, x1, y0, y1)`` (NaN where the lens model is not invertible)."""
    x0, x1, y0, y1 = box
    off = (np.arange(ss) + 0.5) / ss - 0.5
    us = (np.arange(x0, x1)[:, None] + off[None]).ravel()
    vs = (np.arange(y0, y1)[:, None] + off[None]).ravel()
    uu, vv = np.meshgrid(us, vs)
    xy = pixels_to_normalized(np.stack([uu, vv], -1).reshape(-1, 2), cam.matrix, cam.dist)
    return np.concatenate([xy, np.ones((len(xy), 1))], 1).reshape(len(vs), len(us), 3)


def _outline(board: Board, margin: float, n: int = 16) -> np.ndarray:
    """(4n, 3) points along the board's outer edge (board frame)."""
    W, H = _board_extent(board)
    s = np.linspace(0, 1, n, endpoint=False)
    xs, ys = -margin + s * (W + 2 * margin), -margin + s * (H + 2 * margin)
    lo_x, hi_x, lo_y, hi_y = -margin, W + margin, -margin, H + margin
    pts = np.concatenate([np.stack([xs, np.full(n, lo_y)], 1), np.stack([np.full(n, hi_x), ys], 1),
                          np.stack([xs[::-1] + (W + 2 * margin) / n, np.full(n, hi_y)], 1),
                          np.stack([np.full(n, lo_x), ys[::-1] + (H + 2 * margin) / n], 1)])
    return np.concatenate([pts, np.zeros((len(pts), 1))], 1)


def _background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.ndimage import gaussian_filter, zoom

    coarse = rng.uniform(70, 160, size=(h // 16 + 2, w // 16 + 2))
    return gaussian_filter(zoom(coarse, 16, order=1)[:h, :w], 4)


def render_board_images(group: CameraGroup, board: Board, poses: BoardPoses, seed: int = 0,
                        px_per_mm: float = 6.0, noise: float = 2.0, blur: float = 0.6,
                        supersample: int = 2):
    """Render the board into every camera at every pose.

    Returns ``(images (C, V, h, w) uint8, corners (C, V, n_corners, 2))``: the true pixel
    positions of the corners (NaN when outside the image, behind the camera or on the back
    face). All cameras must share one image size.
    """
    from scipy.ndimage import gaussian_filter, map_coordinates

    rng = np.random.default_rng(seed)
    tex = gaussian_filter(board.texture(px_per_mm).astype(np.float64), 0.7)
    W, H = _board_extent(board)
    margin = 0.4 * board.square_length
    sizes = {c.size for c in group.cameras}
    if len(sizes) != 1:
        raise ValueError("render_board_images needs cameras of one image size")
    w, h = sizes.pop()
    ss = supersample
    images = np.zeros((len(group), len(poses.origins), h, w), np.uint8)
    truth = board_observations(group, board, poses, noise=0.0, max_view_angle=89.9)
    outline = _outline(board, margin)
    for c, cam in enumerate(group.cameras):
        back = _background(h, w, rng)
        all_rays = _rays(cam, ss, (0, w, 0, h))
        r_cw = cam.rotation_matrix
        for v in range(len(poses.origins)):
            img = back.copy()
            world = outline @ poses.rotations[v].T + poses.origins[v]
            depth = (world @ r_cw.T + cam.tvec)[:, 2]
            edge = group.cameras[c].project(world)[:, 0]
            if (depth <= 0).any() or not np.isfinite(edge).all():
                box = (0, w, 0, h)
            else:
                box = (int(np.clip(np.floor(edge[:, 0].min()) - 3, 0, w)),
                       int(np.clip(np.ceil(edge[:, 0].max()) + 4, 0, w)),
                       int(np.clip(np.floor(edge[:, 1].min()) - 3, 0, h)),
                       int(np.clip(np.ceil(edge[:, 1].max()) + 4, 0, h)))
            if box[1] > box[0] and box[3] > box[2]:
                x0, x1, y0, y1 = box
                rays = all_rays[y0 * ss:y1 * ss, x0 * ss:x1 * ss]
                r_cb = r_cw @ poses.rotations[v]
                t_cb = r_cw @ poses.origins[v] + cam.tvec
                n = r_cb[:, 2]
                with np.errstate(divide="ignore", invalid="ignore"):
                    lam = (n @ t_cb) / (rays @ n)
                    b = (rays * lam[..., None] - t_cb) @ r_cb  # board coordinates
                bx, by = b[..., 0], b[..., 1]
                on = ((lam > 0) & (bx > -margin) & (bx < W + margin) & (by > -margin)
                      & (by < H + margin))
                if n @ t_cb > 0:  # the camera is on the printed side
                    val = map_coordinates(tex, [np.nan_to_num(by * px_per_mm - 0.5),
                                                np.nan_to_num(bx * px_per_mm - 0.5)],
                                          order=1, mode="constant", cval=255.0)
                else:
                    val = np.full(bx.shape, 185.0)
                sub = np.kron(back[y0:y1, x0:x1], np.ones((ss, ss)))
                sub = np.where(on, val, sub)
                img[y0:y1, x0:x1] = sub.reshape(y1 - y0, ss, x1 - x0, ss).mean(axis=(1, 3))
            img = gaussian_filter(img, blur) + rng.normal(scale=noise, size=img.shape)
            images[c, v] = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return images, truth


# --- the animal ----------------------------------------------------------------------------
def _smooth(rng: np.random.Generator, n: int, sigma: float, scale: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(rng.normal(size=n + 200), sigma, mode="wrap")[100:-100] * scale


def animal_3d(n_frames: int = 200, seed: int = 0, arena: float = 120.0) -> np.ndarray:
    """(n_frames, 10, 3) mm: :data:`ANIMAL_BODYPARTS` of a walking, bending animal."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)
    w1, w2 = rng.uniform(0.01, 0.02, 2)
    ph = rng.uniform(0, 2 * np.pi, 4)
    cx = arena * 0.7 * np.sin(w1 * t + ph[0]) + arena * 0.3 * np.sin(2.3 * w2 * t + ph[1])
    cy = arena * 0.7 * np.cos(w2 * t + ph[2]) + arena * 0.3 * np.sin(1.7 * w1 * t + ph[3])
    heading = np.arctan2(np.gradient(cy), np.gradient(cx))
    bend = [_smooth(rng, n_frames, 12, 2.0) * 0.15 for _ in range(6)]
    # (length, pitch) of the chain's segments, forwards from spine1 and backwards
    fwd = [(22.0, 0.1), (28.0, -0.2)]  # spine1 -> neck -> snout
    bwd = [(22.0, 0.05), (22.0, 0.25), (22.0, 0.2), (22.0, 0.12), (24.0, 0.05)]
    base = np.stack([cx, cy, np.full(n_frames, 28.0)], 1)

    def seg(p, yaw, length, pitch):
        d = np.stack([np.cos(yaw) * np.cos(pitch), np.sin(yaw) * np.cos(pitch),
                      -np.sin(pitch) * np.ones_like(yaw)], 1)
        return p + length * d

    neck = seg(base, heading + bend[0], *fwd[0])
    head_yaw = heading + bend[0] + bend[1]
    snout = seg(neck, head_yaw, *fwd[1])
    side = np.stack([-np.sin(head_yaw), np.cos(head_yaw), np.zeros(n_frames)], 1)
    up = np.array([0.0, 0.0, 1.0])
    leftear = neck + 10.0 * side + 6.0 * up
    rightear = neck - 10.0 * side + 6.0 * up
    chain, p, yaw = [], base, heading + np.pi
    for k, (length, pitch) in enumerate(bwd):
        yaw = yaw + bend[min(2 + k, 5)] * (0.6 if k > 1 else 1.0)
        p = seg(p, yaw, length, pitch)
        chain.append(p)
    spine2, tailbase, tail1, tail2, tailtip = chain
    pts = [snout, leftear, rightear, neck, base, spine2, tailbase, tail1, tail2, tailtip]
    return np.stack(pts, axis=1)


def skeleton_indices(bodyparts=ANIMAL_BODYPARTS,
                     skeleton=ANIMAL_SKELETON) -> list[tuple[int, int]]:
    return [(bodyparts.index(a), bodyparts.index(b)) for a, b in skeleton]


def project_animal(group: CameraGroup, points3d: np.ndarray, noise: float = 1.0,
                   missing: float = 0.1, outliers: float = 0.0, outlier_px: float = 30.0,
                   seed: int = 0):
    """Project (F, J, 3) into every camera: ``(pixels (C, F, J, 2), likelihood (C, F, J),
    is_outlier (C, F, J))``. Missing views (a fraction ``missing``, and points outside the
    image) are NaN with likelihood < 0.1; outliers are moved ``outlier_px`` in a random
    direction but keep a high likelihood (a confident wrong detection)."""
    rng = np.random.default_rng(seed)
    F, J, _ = points3d.shape
    px = group.project(points3d.reshape(-1, 3)).reshape(len(group), F, J, 2)
    px = px + rng.normal(scale=noise, size=px.shape)
    lik = rng.uniform(0.8, 1.0, size=px.shape[:3])
    out = rng.random(px.shape[:3]) < outliers
    ang = rng.uniform(0, 2 * np.pi, size=px.shape[:3])
    px[out] += outlier_px * np.stack([np.cos(ang[out]), np.sin(ang[out])], -1)
    miss = rng.random(px.shape[:3]) < missing
    for c, cam in enumerate(group.cameras):
        w, h = cam.size
        depth = (points3d.reshape(-1, 3) @ cam.rotation_matrix.T + cam.tvec)[:, 2].reshape(F, J)
        outside = ((px[c, ..., 0] < 0) | (px[c, ..., 0] > w - 1) | (px[c, ..., 1] < 0)
                   | (px[c, ..., 1] > h - 1) | (depth <= 0))
        miss[c] |= outside
    px[miss] = np.nan
    lik[miss] = rng.uniform(0.0, 0.1, size=int(miss.sum()))
    return px, lik, out & ~miss
