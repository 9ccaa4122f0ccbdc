"""PNG images of predictions vs ground truth (DeepLabCut's evaluation ``plotting=True``).

Symbols follow DeepLabCut: ground truth ``o`` (hollow), confident predictions ``+``,
predictions below ``pcutoff`` ``x``; one colour per bodypart from the project's colormap.
Uses matplotlib's object API with the Agg canvas (no pyplot state), so it is safe from
worker threads and never opens a window.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["plot_evaluation_frames", "plot_prediction"]


def _colors(n: int, colormap: str) -> np.ndarray:
    import matplotlib

    try:
        cmap = matplotlib.colormaps[colormap]
    except KeyError:
        cmap = matplotlib.colormaps["rainbow"]
    return cmap(np.linspace(0, 1, max(n, 1)))


def plot_prediction(
    image: np.ndarray,
    gt: np.ndarray,
    pred: np.ndarray,
    bodyparts: Sequence[str],
    path: str | os.PathLike,
    pcutoff: float = 0.6,
    colormap: str = "rainbow",
    dotsize: float = 8,
    alpha: float = 0.7,
    title: str | None = None,
) -> Path:
    """Save one frame with labels (``o``) and predictions (``+`` / ``x`` below pcutoff).

    ``gt`` is ``(K, 2)`` (NaN = unlabeled), ``pred`` ``(K, 3)`` ``[x, y, likelihood]``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    h, w = image.shape[:2]
    dpi = 100 * max(1.0, 480 / w)  # small frames are drawn enlarged so markers stay legible
    fig = Figure(figsize=(w / 100, h / 100), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.axis("off")
    colors = _colors(len(bodyparts), colormap)
    ok = pred[:, 2] >= pcutoff
    size = dotsize**2
    ax.scatter(gt[:, 0], gt[:, 1], s=size, facecolors="none", edgecolors=colors, alpha=alpha,
               linewidths=1.5)
    ax.scatter(pred[ok, 0], pred[ok, 1], s=size, c=colors[ok], marker="+", alpha=alpha)
    ax.scatter(pred[~ok, 0], pred[~ok, 1], s=size, c=colors[~ok], marker="x", alpha=alpha)
    if title:
        ax.text(0.01, 0.99, title, color="white", fontsize=8, va="top", transform=ax.transAxes,
                bbox={"facecolor": "black", "alpha": 0.5, "pad": 2, "edgecolor": "none"})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def plot_evaluation_frames(
    images: np.ndarray,
    gt: np.ndarray,
    pred: np.ndarray,
    frames: Sequence[str],
    bodyparts: Sequence[str],
    out_dir: str | os.PathLike,
    pcutoff: float = 0.6,
    prefix: str = "Test",
    colormap: str = "rainbow",
    dotsize: float = 8,
    alpha: float = 0.7,
    sizes: np.ndarray | None = None,
) -> list[Path]:
    """One PNG per frame, named ``<prefix>-<video>_<image>.png`` as in DeepLabCut.

    ``sizes`` ``(N, 2)`` crops zero-padded images back to each frame's own (h, w).
    """
    out = []
    for n, frame in enumerate(frames):
        image = images[n] if sizes is None else images[n, : sizes[n][0], : sizes[n][1]]
        parts = str(frame).replace("\\", "/").split("/")
        name = "_".join(parts[-2:]) if len(parts) >= 2 else parts[-1]
        err = np.sqrt(np.nansum((pred[n, :, :2] - gt[n]) ** 2, axis=-1))
        labeled = np.isfinite(gt[n]).all(-1)
        title = f"{name}: {np.mean(err[labeled]):.2f} px" if labeled.any() else name
        out.append(plot_prediction(image, gt[n], pred[n], bodyparts,
                                   Path(out_dir) / f"{prefix}-{Path(name).stem}.png",
                                   pcutoff, colormap, dotsize, alpha, title))  # fmt: skip
    return out
