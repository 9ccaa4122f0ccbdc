"""What a synthetic clip looks like: the user-facing :class:`SyntheticConfig` and
the geometry derived from it (animal size, the region each animal roams).

Kept apart from drawing and motion so both read one resolved :class:`Layout`
instead of re-deriving sizes and margins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

#: every keypoint the generator can report, in anatomical (file column) order.
ALL_BODYPARTS: tuple[str, ...] = (
    "snout",
    "leftear",
    "rightear",
    "neck",
    "spine1",
    "spine2",
    "tailbase",
    "tailmid",
    "tailtip",
)
#: which keypoints an integer ``bodyparts=n`` picks: the first ``n`` of these,
#: reported in :data:`ALL_BODYPARTS` order.
PRIORITY: tuple[str, ...] = (
    "snout",
    "tailbase",
    "leftear",
    "rightear",
    "tailtip",
    "spine1",
    "neck",
    "spine2",
    "tailmid",
)
#: the default set, the same as DeepLabCut's openfield example project.
DEFAULT_BODYPARTS: tuple[str, ...] = ("snout", "leftear", "rightear", "tailbase")

#: default snout-to-tailbase length as a fraction of the smaller frame side.
LENGTH_FRACTION = 0.2
#: the automatic length is at least this (small frames get relatively bigger animals) ...
MIN_AUTO_LENGTH = 16.0
#: ... and no animal is shorter than this (its ears and nose would be single pixels).
MIN_LENGTH = 8.0
#: margin kept free at a cell edge shared with another animal, in body lengths
#: (bodies may touch and overlap a little there, never fully).
INNER_MARGIN = 0.35
#: smallest range (in body lengths) the body midpoint must be free to roam per axis.
MIN_ROAM = 0.25
#: how animals share the frame (see SyntheticConfig.arena).
ARENAS = ("grid", "shared")
#: accepted ranges of the float parameters.
_RANGES = {
    "fps": (1e-3, 1e4),
    "noise_std": (0, 30),
    "flicker": (0, 20),
    "max_bend": (0, 2.5),
    "tail_length": (0.2, 1.5),
    "speed": (0, 100),
    "turn_rate": (0, 100),
}


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of a synthetic clip; equal configs give bit-identical clips.

    Attributes
    ----------
    height, width : int
        Frame size in pixels.
    n_frames : int
        Clip length. A longer clip with the same other settings starts with
        exactly the frames of a shorter one.
    fps : float
        Frame rate; motion parameters are per second, so the same motion is
        sampled more densely at a higher rate.
    n_animals : int
        Animals in the clip. Several animals each roam their own cell of a grid
        over the frame: they may meet and overlap a little at cell edges, never fully.
    bodyparts : tuple of str, or int
        Keypoints to report, a subset of :data:`ALL_BODYPARTS` (kept in the
        given order), or a count ``n`` taking the first ``n`` of :data:`PRIORITY`.
    seed : int
        Seeds motion, background and sensor noise.
    animal_length : float or None
        Snout-to-tailbase length in pixels; ``None`` picks
        ``0.2 * min(height, width)`` (at least 16 px), shrunk when the animals
        need room; at least 8 px.
    tail_length : float
        Tail length as a fraction of ``animal_length``.
    speed : float
        Mean speed of the free walk in body lengths per second (animals slow
        down near walls, so the clip's mean is about 0.75 of it).
    turn_rate : float
        Standard deviation of the turning rate in radians per second.
    max_bend : float
        Largest body bend: the angle (radians) between the tangents at snout and tailbase.
    noise_std : float
        Per-pixel, per-channel sensor noise standard deviation in grey levels
        (a sum of uniform bit fields, usually within 10 % of the request: see
        ``render.noise_plan``); 0 for none. 3.5 needs the fewest random bits.
    flicker : int
        Largest per-frame brightness offset in grey levels; 0 for none.
    identity_colors : bool
        Give each animal its own body tint (easier identity tracking).
    arena : {"grid", "shared"}
        ``"grid"``: each animal roams its own grid cell (animals never meet).
        ``"shared"``: every animal roams the whole frame, so they approach,
        touch, cross paths and partly occlude one another (an animal with a
        higher index is drawn on top; see :func:`~markerless.synthetic.occlusion`).
    identity_stripes : bool
        Draw a pale stripe across each animal's back at a position that depends
        on the animal (``animal0`` nearest the head), so identity can be learned
        from appearance even without ``identity_colors``.
    """

    height: int = 256
    width: int = 256
    n_frames: int = 128
    fps: float = 30.0
    n_animals: int = 1
    bodyparts: tuple[str, ...] | int = DEFAULT_BODYPARTS
    seed: int = 0
    animal_length: float | None = None
    tail_length: float = 0.7
    speed: float = 0.6
    turn_rate: float = 1.2
    max_bend: float = 1.0
    noise_std: float = 3.5
    flicker: int = 2
    identity_colors: bool = False
    arena: str = "grid"
    identity_stripes: bool = False

    def __post_init__(self) -> None:
        if self.arena not in ARENAS:
            raise ValueError(f"SyntheticConfig.arena must be one of {ARENAS}, got {self.arena!r}")
        for name in ("height", "width", "n_frames", "n_animals"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(
                    f"SyntheticConfig.{name} must be a positive integer, got {value!r}"
                )
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"SyntheticConfig.seed must be an integer >= 0, got {self.seed!r}")
        if min(self.height, self.width) < 16:
            raise ValueError(f"Frames must be at least 16x16, got {self.height}x{self.width}")
        for name, (lo, hi) in _RANGES.items():
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise ValueError(f"SyntheticConfig.{name} must be in [{lo}, {hi}], got {value!r}")
        if not float(self.flicker).is_integer():
            raise ValueError(f"SyntheticConfig.flicker must be an integer, got {self.flicker!r}")
        object.__setattr__(self, "bodyparts", _resolve_bodyparts(self.bodyparts))
        layout(self)  # fail early when the animals do not fit


def _resolve_bodyparts(bodyparts: tuple[str, ...] | int) -> tuple[str, ...]:
    if isinstance(bodyparts, (int, np.integer)) and not isinstance(bodyparts, bool):
        if not 1 <= bodyparts <= len(ALL_BODYPARTS):
            raise ValueError(
                f"bodyparts count must be in 1..{len(ALL_BODYPARTS)}, not {bodyparts}"
            )
        chosen = set(PRIORITY[:bodyparts])
        return tuple(b for b in ALL_BODYPARTS if b in chosen)
    if isinstance(bodyparts, str):
        bodyparts = (bodyparts,)
    names = tuple(str(b) for b in bodyparts)
    unknown = [b for b in names if b not in ALL_BODYPARTS]
    if unknown:
        raise ValueError(f"Unknown synthetic bodyparts {unknown}; choose in {list(ALL_BODYPARTS)}")
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"bodyparts must be non-empty and without duplicates, got {list(names)}")
    return names


class Layout(NamedTuple):
    """Sizes and roaming regions resolved from a config."""

    length: float  # snout to tailbase, px
    tail: float  # tail length, px
    #: (n_animals, 4): xlo, xhi, ylo, yhi of the body midpoint's roaming box.
    boxes: np.ndarray
    grid: tuple[int, int]  # rows, cols


def _grid(n: int, height: int, width: int) -> tuple[int, int]:
    """Rows x cols with cells as square as possible."""
    cols = max(1, min(n, math.ceil(math.sqrt(n * width / height))))
    rows = math.ceil(n / cols)
    return rows, cols


def outer_margin(length: float, tail: float) -> float:
    """Distance from the body midpoint beyond which no keypoint or drawn pixel can lie.

    The tail tip is the farthest point: half the body plus the tail (straight
    case), plus a pixel or two for the tail's outline.
    """
    return 0.5 * length + tail + 2.0


def _boxes(
    rows: int, cols: int, height: int, width: int, length: float, tail: float
) -> np.ndarray:
    outer = outer_margin(length, tail)
    inner = INNER_MARGIN * length
    boxes = []
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        x0, x1 = width * c / cols, width * (c + 1) / cols
        y0, y1 = height * r / rows, height * (r + 1) / rows
        xlo = x0 + (outer if c == 0 else inner)
        xhi = x1 - (outer if c == cols - 1 else inner)
        ylo = y0 + (outer if r == 0 else inner)
        yhi = y1 - (outer if r == rows - 1 else inner)
        boxes.append((xlo, xhi, ylo, yhi))
    return np.asarray(boxes, dtype=np.float64)


def layout(cfg: SyntheticConfig) -> Layout:
    """Animal size and per-animal roaming boxes; ValueError when they do not fit."""
    rows, cols = _grid(cfg.n_animals, cfg.height, cfg.width)
    if cfg.arena == "shared":
        rows, cols = 1, 1
    frac = cfg.tail_length

    def roam(length: float) -> float:
        b = _boxes(rows, cols, cfg.height, cfg.width, length, frac * length)
        return float(min((b[:, 1] - b[:, 0]).min(), (b[:, 3] - b[:, 2]).min()))

    if cfg.animal_length is None:
        fraction = LENGTH_FRACTION
        if cfg.arena == "shared":  # several animals in one arena: smaller, so they have room
            fraction *= min(1.0, math.sqrt(2.0 / cfg.n_animals))
        length = max(fraction * min(cfg.height, cfg.width), MIN_AUTO_LENGTH)
        # shrink until every cell leaves room to roam (bisection on a monotone condition)
        if roam(length) < MIN_ROAM * length:
            lo, hi = 0.0, length
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if roam(mid) >= MIN_ROAM * mid else (lo, mid)
            length = lo
        if length < MIN_LENGTH:
            raise ValueError(
                f"{cfg.n_animals} animal(s) do not fit in {cfg.width}x{cfg.height} frames "
                f"(they would be {length:.1f} px long); use larger frames or fewer animals"
            )
    else:
        length = float(cfg.animal_length)
        if not length >= MIN_LENGTH:
            raise ValueError(
                f"animal_length must be >= {MIN_LENGTH} px, got {cfg.animal_length!r}"
            )
        if roam(length) < MIN_ROAM * length:
            raise ValueError(
                f"animal_length={length:g} px is too large for {cfg.n_animals} animal(s) in "
                f"{cfg.width}x{cfg.height} frames (each needs about "
                f"{2 * outer_margin(length, frac * length) + MIN_ROAM * length:.0f} px of cell "
                f"per side; grid {rows}x{cols}); leave animal_length=None to fit automatically"
            )
    tail = frac * length
    boxes = _boxes(rows, cols, cfg.height, cfg.width, length, tail)[: cfg.n_animals]
    if cfg.arena == "shared":
        boxes = np.repeat(boxes[:1], cfg.n_animals, axis=0)
    return Layout(length, tail, boxes, (rows, cols))
