"""Layers of a 3D result: the animal in 3D, the cameras, and each camera's view.

* :func:`layers_3d`: the points ``(t, z, y, x)`` in mm coloured by bodypart (the
  project's colormap, as every other layer), the skeleton (Vectors) and, when the
  calibration is known, each camera's centre (Points, named) and frustum (Vectors).
  The cameras are 3D layers, so they stay on screen at every frame.
* :func:`camera_layers`: one camera's video (or a dark frame of its size), its 2D
  predictions (discs), the 3D points reprojected into it (rings of the same colour) and a
  line from each prediction to its reprojection coloured by their distance (green at 0,
  red at ``threshold`` px and above), so a view that disagrees with the 3D model stands
  out. Video and predictions are shifted by the camera's frame offset: frame *t* of
  these layers is frame *t* of the 3D result.

They return the reader's ``(data, kwargs, type)`` tuples (the reader uses them as they
are); :func:`add_layers` puts them into a viewer, replacing layers of the same name.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from markerless.napari.layers.convert import (
    META_KEY,
    bodypart_colors,
    individual_colors,
    poses_to_points,
)
from markerless.napari.layers.pose3d_files import (
    Disagreement,
    Result3D,
    camera_files,
    disagreement,
    load_result,
    reprojection,
)

LayerData = tuple[Any, dict[str, Any], str]

KIND_POINTS_3D = "points3d"
KIND_SKELETON_3D = "skeleton3d"
KIND_CAMERAS = "cameras3d"
KIND_FRUSTUMS = "frustums3d"
KIND_CAMERA_VIDEO = "camera_video"
KIND_CAMERA_PREDICTIONS = "camera_predictions"
KIND_REPROJECTED = "reprojected"
KIND_DISAGREEMENT = "disagreement"

#: the disagreement lines' colours from 0 px to the threshold.
ERROR_COLORS = np.array([[0.2, 0.85, 0.2, 1.0], [1.0, 0.85, 0.1, 1.0], [1.0, 0.15, 0.1, 1.0]])


def camera_colors(n: int) -> np.ndarray:
    """(n, 4) RGBA: one colour per camera (tab10's first ten, then tab20's)."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return np.asarray([cmap(k % cmap.N) for k in range(n)], dtype=np.float64).reshape(-1, 4)


def point_size(result: Result3D) -> float:
    """A twentieth of the animal's size (in the rig's units, mm), for points and bones."""
    pts = result.points.points
    ok = np.isfinite(pts).all(axis=-1)  # (F, I, J)
    seen = ok.sum(axis=2) >= 2
    if not seen.any():
        return 1.0
    big = np.where(ok[..., None], pts, -np.inf).max(axis=2)
    small = np.where(ok[..., None], pts, np.inf).min(axis=2)
    size = float(np.median((big - small)[seen].max(axis=-1)))
    return size / 20 if size > 0 else 1.0


def _features(result: Result3D, bodyparts, individuals, error) -> pd.DataFrame:
    pts = result.points
    return pd.DataFrame({
        "bodypart": pd.Categorical(np.asarray(bodyparts, dtype=object), categories=pts.bodyparts),
        "individual": pd.Categorical(np.asarray(individuals, dtype=object),
                                     categories=pts.individuals),
        "error": np.asarray(error, dtype=np.float64),
    })


def _meta(result: Result3D, kind: str, **extra: Any) -> dict[str, Any]:
    """``config3d``, not ``config``: the 2D docks take a layer's ``config`` for their project."""
    return {META_KEY: {"kind": kind, "result_path": str(result.path),
                       "config3d": None if result.config is None else str(result.config),
                       **extra}}


def _colour_kwargs(result: Result3D) -> dict[str, Any]:
    pts = result.points
    colors = bodypart_colors(pts.bodyparts, result.colormap)
    kwargs: dict[str, Any] = {"face_color": "bodypart",
                              "face_color_cycle": {bp: colors[bp] for bp in pts.bodyparts}}
    if pts.multianimal:
        kwargs["border_color"] = "individual"
        kwargs["border_color_cycle"] = individual_colors(pts.individuals)
    return kwargs


# --- the 3D view ------------------------------------------------------------------------------
def layers_3d(result: Result3D | str | os.PathLike) -> list[LayerData]:
    """Points, skeleton and (with the calibration) cameras of a 3D result."""
    if not isinstance(result, Result3D):
        result = load_result(result)
    pts = result.points
    name = result.path.stem
    size = point_size(result)
    data, props = pts.points_tzyx()
    kwargs = {"name": name, "features": _features(result, props["bodypart"],
                                                   props["individual"], props["error"]),
              "size": size, "border_width": 0.1 if pts.multianimal else 0.0,
              "shading": "spherical", "out_of_slice_display": False,
              "metadata": _meta(result, KIND_POINTS_3D, bodyparts=list(pts.bodyparts),
                                individuals=list(pts.individuals),
                                colormap=result.colormap),
              **_colour_kwargs(result)}
    out: list[LayerData] = []  # cameras, skeleton, points: the points drawn on top
    if result.calibration is not None:
        out += camera_glyph_layers(result.calibration, name, size)
    segs, bones = pts.skeleton_tzyx(result.skeleton)
    if len(segs):
        vectors = np.stack([segs[:, 0], segs[:, 1] - segs[:, 0]], axis=1)
        out.append((vectors, {"name": f"{name} skeleton", "vector_style": "line",
                              "edge_width": size / 3, "edge_color": result.skeleton_color,
                              "opacity": 0.8, "features": {"bone": bones},
                              "metadata": _meta(result, KIND_SKELETON_3D)}, "vectors"))
    out.append((data, kwargs, "points"))
    return out


def camera_glyph_layers(group: Any, name: str = "cameras", size: float = 5.0) -> list[LayerData]:
    """Each camera's centre (a named point) and frustum (lines), in the world's mm."""
    from markerless.pose3d.views import camera_glyphs

    glyphs = camera_glyphs(group)
    colors = camera_colors(len(glyphs["names"]))
    lines = np.asarray(glyphs["lines"]).reshape(-1, 2, 3)
    vectors = np.stack([lines[:, 0], lines[:, 1] - lines[:, 0]], axis=1)
    meta = {META_KEY: {"kind": KIND_CAMERAS, "cameras": list(glyphs["names"])}}
    return [
        (vectors, {"name": f"{name} frustums", "vector_style": "line", "edge_width": size / 4,
                   "edge_color": colors[glyphs["line_camera"]],
                   "metadata": {META_KEY: {**meta[META_KEY], "kind": KIND_FRUSTUMS}}},
         "vectors"),
        (glyphs["centres"], {"name": f"{name} cameras", "size": size * 3, "face_color": colors,
                             "border_width": 0.0, "features": {"camera": glyphs["names"]},
                             "text": {"string": "{camera}", "color": "white",
                                      "anchor": "upper_left", "size": 10},
                             "metadata": meta}, "points"),
    ]


# --- one camera's view -----------------------------------------------------------------------
def _reorder(poses: Any, result: Result3D) -> tuple[np.ndarray, np.ndarray | None]:
    """A camera's 2D ``Poses`` on the result's individuals and bodyparts (NaN if absent)."""
    pts = result.points
    xy = np.full((poses.n_frames, len(pts.individuals), len(pts.bodyparts), 2), np.nan)
    lik = None if poses.likelihood is None else np.zeros(xy.shape[:3])
    for i, ind in enumerate(pts.individuals):
        if ind not in poses.individuals:
            continue
        pi = poses.individuals.index(ind)
        for j, bp in enumerate(pts.bodyparts):
            if bp in poses.bodyparts:
                pj = poses.bodyparts.index(bp)
                xy[:, i, j] = poses.xy[:, pi, pj]
                if lik is not None:
                    lik[:, i, j] = poses.likelihood[:, pi, pj]
    return xy, lik


def _frame_image(result: Result3D, camera: str, reproj: np.ndarray) -> np.ndarray:
    """A dark frame of the camera's size, where its video is not found."""
    size = None
    if result.calibration is not None and camera in result.calibration.get_names():
        size = result.calibration.cameras[result.calibration.indices([camera])[0]].size
    if not size:
        far = np.nanmax(reproj.reshape(-1, 2), axis=0) if np.isfinite(reproj).any() else None
        size = (int(far[0]) + 20, int(far[1]) + 20) if far is not None else (640, 480)
    w, h = (int(v) for v in size)
    return np.full((h, w), 24, np.uint8)


def camera_layers(result: Result3D, camera: str, threshold: float = 10.0,
                  pcutoff: float | None = None) -> tuple[list[LayerData], Disagreement | None]:
    """One camera's view of the result: video, 2D predictions, reprojection, disagreement.

    Returns the layers (always four, in that order, so that several cameras tile a grid)
    and the disagreement between predictions and reprojection (None without predictions).
    """
    from markerless.napari.layers.reader import read_video_layer
    from markerless.pose3d.inputs import read_2d

    pts = result.points
    files = camera_files(result, camera)
    off = result.offset(camera)
    reproj = reprojection(result, camera, files)  # (F, I, J, 2)
    pcut = float(result.meta.get("pcutoff") or 0.0) if pcutoff is None else float(pcutoff)
    extra = {"camera": camera, "offset": off}
    out: list[LayerData] = []
    if files.video is not None:
        data, kwargs, _ = read_video_layer(files.video)[0]
        kwargs["metadata"][META_KEY].update(kind=KIND_CAMERA_VIDEO, **extra)
        out.append((data, {**kwargs, "name": f"{camera} video", "translate": (-off, 0, 0)},
                    "image"))
    else:
        out.append((_frame_image(result, camera, reproj),
                    {"name": f"{camera} (no video)", "metadata": _meta(
                        result, KIND_CAMERA_VIDEO, **extra)}, "image"))
    dis = None
    if files.predictions is not None:
        poses = read_2d(files.predictions)
        xy, lik = _reorder(poses, result)
        dis = disagreement(xy, lik, reproj, off, pcut)
        pdata, pkw = poses_to_points(poses, kind=KIND_CAMERA_PREDICTIONS,
                                     colormap=result.colormap, pcutoff=pcut or None,
                                     extra_meta={**extra, "analysis_path":
                                                 str(files.predictions)}, size=5.0)
        frames = np.asarray([int(f) if str(f).lstrip("-").isdigit() else k
                             for k, f in enumerate(poses.frames)], dtype=float)
        pdata[:, 0] = frames[pdata[:, 0].astype(int)]
        pkw.update(name=f"{camera} 2D predictions", translate=(-off, 0, 0))
        pkw["metadata"][META_KEY]["result_path"] = str(result.path)
        out.append((pdata, pkw, "points"))
    else:
        out.append((np.zeros((0, 3)), {"name": f"{camera} 2D predictions (none found)",
                                       "metadata": _meta(result, KIND_CAMERA_PREDICTIONS,
                                                         **extra)}, "points"))
    # the reprojection: rings where the 3D points land, with this camera's error
    ok = np.isfinite(reproj).all(-1)
    t, i, j = np.nonzero(ok)
    err = np.full(reproj.shape[:3], np.nan)
    if dis is not None:
        err[dis.frame, dis.individual, dis.bodypart] = dis.error
    rdata = np.column_stack([t, reproj[t, i, j, 1], reproj[t, i, j, 0]]).astype(float)
    out.append((rdata, {"name": f"{camera} reprojected", "symbol": "ring", "size": 10.0,
                        "border_width": 0.0,
                        "features": _features(result, np.asarray(pts.bodyparts)[j],
                                              np.asarray(pts.individuals)[i], err[t, i, j]),
                        "metadata": _meta(result, KIND_REPROJECTED, threshold=threshold,
                                          **extra),
                        **_colour_kwargs(result)}, "points"))
    # the disagreement: prediction -> reprojection, coloured by the distance
    if dis is not None and len(dis.error):
        pos = np.column_stack([dis.frame, dis.predicted[:, 1], dis.predicted[:, 0]])
        step = np.column_stack([np.zeros(len(dis.error)),
                                (dis.reprojected - dis.predicted)[:, ::-1]])
        vectors = np.stack([pos, step], axis=1).astype(float)
    else:
        vectors = np.zeros((0, 2, 3))
    out.append((vectors, {
        "name": f"{camera} disagreement", "vector_style": "line", "edge_width": 2.0,
        "features": {"error": dis.error if dis is not None else np.zeros(0)},
        "edge_color": "error", "edge_colormap": error_colormap(),
        "edge_contrast_limits": (0.0, max(float(threshold), 1e-6)),
        "metadata": _meta(result, KIND_DISAGREEMENT, threshold=threshold, **extra)},
        "vectors"))
    return out, dis


def error_colormap():
    from napari.utils.colormaps import Colormap

    return Colormap(colors=ERROR_COLORS, controls=[0.0, 0.5, 1.0],
                    name="markerless-reprojection-error")


# --- into a viewer ----------------------------------------------------------------------------
def add_layers(viewer: Any, layer_data: list[LayerData]) -> list[Any]:
    """Add ``(data, kwargs, type)`` layers, replacing open layers of the same name."""
    from napari.layers import Layer

    added = []
    for data, kwargs, kind in layer_data:
        name = kwargs.get("name")
        if name in viewer.layers:
            viewer.layers.remove(name)
        added.append(viewer.add_layer(Layer.create(data, dict(kwargs), kind)))
    return added


def show_3d(viewer: Any, result: Result3D | str | os.PathLike) -> list[Any]:
    """The result's 3D layers in ``viewer``, shown in 3D around the animal, as seen from
    behind the first camera (the calibration's origin: x right, y down, z away), tilted."""
    layers = add_layers(viewer, layers_3d(result))
    set_3d_display(viewer, layers[-1])
    return layers


def set_3d_display(viewer: Any, focus: Any = None) -> None:
    """3D display; with ``focus`` (the 3D points layer) centred and zoomed on its extent
    over all frames (zoom out to see the cameras around it)."""
    viewer.dims.ndisplay = 3
    camera = viewer_camera(viewer)
    camera.orientation = ("away", "down", "right")
    viewer.reset_view()
    if focus is not None and len(focus.data):
        full = np.asarray(viewer.layers.extent.world)[:, -3:]
        mine = np.asarray(focus.extent.world)[:, -3:]
        ratio = np.ptp(full, axis=0).max() / max(np.ptp(mine, axis=0).max(), 1e-9)
        camera.center = tuple(mine.mean(axis=0))
        camera.zoom = camera.zoom * float(np.clip(ratio / 1.4, 1.0, 50.0))
    if viewer.dims.ndim == 4:
        viewer.dims.axis_labels = ("frame", "z", "y", "x")
    camera.angles = (-30.0, 20.0, 0.0)  # tilted: depth is seen at once


def viewer_camera(viewer: Any) -> Any:
    """The viewer's camera (napari >= 0.9 keeps it on ``viewer.scene``)."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None else viewer.camera


def viewer_grid(viewer: Any) -> Any:
    """The viewer's grid (napari >= 0.9 keeps it on ``viewer.canvas``)."""
    canvas = getattr(viewer, "canvas", None)
    return canvas.grid if canvas is not None and hasattr(canvas, "grid") else viewer.grid
