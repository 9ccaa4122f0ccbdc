"""Calibration boards (checkerboard, ChArUco) and finding their corners in one image.

A board knows its corners' positions in its own plane (mm, ``z = 0``), finds them in
a grey image and returns ``(ids, corners)``: which corners were found and where, in
OpenCV's pixel convention (pixel centres at integers).

ChArUco uses ``cv2.aruco.CharucoDetector`` (opencv-python-headless >= 4.7). Boards
printed with OpenCV < 4.6 or by older anipose use the *legacy* pattern (for an even
number of rows the first square differs): with ``legacy=None`` both are tried and the
one that finds more corners is kept, so such boards are not silently reported as
"0 boards found" (aniposelib #23, opencv #23152). ``inverted`` boards (white markers on
black) are found on the negated image.

Board descriptions are read from our config (``calibration_board:``), anipose's
``config.toml`` ``[calibration]`` keys and sleap-anipose's ``board.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from markerless.errors import ArgumentError, ConfigError

_DICTS = {(4, 50): "DICT_4X4_50", (4, 100): "DICT_4X4_100", (4, 250): "DICT_4X4_250",
          (4, 1000): "DICT_4X4_1000", (5, 50): "DICT_5X5_50", (5, 100): "DICT_5X5_100",
          (5, 250): "DICT_5X5_250", (5, 1000): "DICT_5X5_1000", (6, 50): "DICT_6X6_50",
          (6, 100): "DICT_6X6_100", (6, 250): "DICT_6X6_250", (6, 1000): "DICT_6X6_1000",
          (7, 50): "DICT_7X7_50", (7, 100): "DICT_7X7_100", (7, 250): "DICT_7X7_250",
          (7, 1000): "DICT_7X7_1000"}


def _cv2():
    try:
        import cv2
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ConfigError("board detection needs OpenCV: pip install 'markerless[3d]' "
                          "(opencv-python-headless >= 4.7)") from err
    return cv2


def _grey(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 3:
        img = img[..., :3].mean(axis=-1) if img.shape[-1] >= 3 else img[..., 0]
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255)
    return np.ascontiguousarray(img.astype(np.uint8))


@dataclass(frozen=True)
class Checkerboard:
    """A chessboard with ``squares_x`` x ``squares_y`` *inner* corners (OpenCV's pattern size,
    DeepLabCut's ``cbcol`` x ``cbrow``), squares ``square_length`` mm."""

    squares_x: int
    squares_y: int
    square_length: float
    kind: str = "checkerboard"

    def __post_init__(self) -> None:
        if self.squares_x < 2 or self.squares_y < 2:
            raise ArgumentError(f"a checkerboard needs >= 2 inner corners per side, got "
                                f"{self.squares_x} x {self.squares_y}")
        if self.squares_x == self.squares_y:
            raise ArgumentError(
                f"a square checkerboard ({self.squares_x} x {self.squares_y} inner corners) "
                "looks the same rotated by 90 degrees, so cameras cannot agree on its "
                "corners: use one with different numbers of corners along its sides, or ChArUco")
        if not self.square_length > 0:
            raise ArgumentError(f"square_length must be > 0 mm, got {self.square_length}")

    @property
    def n_corners(self) -> int:
        return self.squares_x * self.squares_y

    def object_points(self) -> np.ndarray:
        """(n_corners, 3) in mm, row by row (OpenCV's order)."""
        gx, gy = np.meshgrid(np.arange(self.squares_x), np.arange(self.squares_y))
        pts = np.stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)], axis=1)
        return pts * float(self.square_length)

    def detect(self, image: np.ndarray, window: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, corners): all corners or none. The order is made consistent across views
        (the board's x axis points right in the image), since a rectangular checkerboard
        is found either way round.

        ``window``: cornerSubPix's half-size; by default 0.4 x the smallest distance between
        neighbouring corners (3 to 11 px): DeepLabCut's fixed 11 lets oblique, small
        squares snap to the next corner."""
        cv2 = _cv2()
        grey = _grey(image)
        size = (self.squares_x, self.squares_y)
        flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
        ok, corners = cv2.findChessboardCorners(grey, size, flags=flags)
        if not ok:
            ok, corners = cv2.findChessboardCornersSB(grey, size, flags=cv2.CALIB_CB_EXHAUSTIVE)
            if not ok:
                return np.zeros(0, np.int64), np.zeros((0, 2))
        else:
            if window is None:
                g = corners.reshape(self.squares_y, self.squares_x, 2)
                near = min(np.linalg.norm(np.diff(g, axis=0), axis=-1).min(),
                           np.linalg.norm(np.diff(g, axis=1), axis=-1).min())
                window = int(np.clip(0.4 * near, 3, 11))
            crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)
            corners = cv2.cornerSubPix(grey, corners, (window, window), (-1, -1), crit)
        c = corners.reshape(-1, 2).astype(np.float64)
        grid = c.reshape(self.squares_y, self.squares_x, 2)
        if (grid[:, -1, 0] - grid[:, 0, 0]).mean() < 0:  # rotated by 180 degrees
            c = c[::-1].copy()
        return np.arange(self.n_corners), c

    def description(self) -> dict[str, Any]:
        return {"board_type": "checkerboard", "board_size": [self.squares_x, self.squares_y],
                "board_square_side_length": float(self.square_length), "units": "mm"}

    def texture(self, px_per_mm: float, margin: float = 0.0) -> np.ndarray:
        """Printable image (squares_x + 1) x (squares_y + 1) squares, for the synthetic data."""
        n = int(round(self.square_length * px_per_mm))
        tiles = (np.add.outer(np.arange(self.squares_y + 1), np.arange(self.squares_x + 1)) % 2)
        img = np.kron(1 - tiles, np.ones((n, n))) * 255
        return img.astype(np.uint8)


@dataclass(frozen=True)
class CharucoBoard:
    """A ChArUco board of ``squares_x`` x ``squares_y`` *squares* (corners: one fewer each way)."""

    squares_x: int
    squares_y: int
    square_length: float
    marker_length: float
    marker_bits: int = 4
    dict_size: int = 50
    legacy: bool | None = None
    inverted: bool | None = False
    min_corners: int = 6
    kind: str = "charuco"

    def __post_init__(self) -> None:
        if self.squares_x < 2 or self.squares_y < 2:
            raise ArgumentError("a ChArUco board needs >= 2 squares per side")
        if not 0 < self.marker_length < self.square_length:
            raise ArgumentError(f"marker_length ({self.marker_length}) must be > 0 and smaller "
                                f"than square_length ({self.square_length})")
        if (self.marker_bits, self.dict_size) not in _DICTS:
            raise ArgumentError(f"no ArUco dictionary of {self.marker_bits}x{self.marker_bits} "
                                f"markers and size {self.dict_size}; sizes are 50, 100, 250, 1000")

    @property
    def n_corners(self) -> int:
        return (self.squares_x - 1) * (self.squares_y - 1)

    def _cv_board(self, legacy: bool):
        cv2 = _cv2()
        if not hasattr(cv2, "aruco") or not hasattr(cv2.aruco, "CharucoDetector"):
            raise ConfigError("ChArUco detection needs opencv-python-headless >= 4.7 "
                              f"(found {cv2.__version__})")
        dictionary = cv2.aruco.getPredefinedDictionary(
            getattr(cv2.aruco, _DICTS[(self.marker_bits, self.dict_size)]))
        board = cv2.aruco.CharucoBoard((self.squares_x, self.squares_y),
                                       float(self.square_length), float(self.marker_length),
                                       dictionary)
        board.setLegacyPattern(bool(legacy))
        return board

    def object_points(self) -> np.ndarray:
        """(n_corners, 3) mm, corner id order (OpenCV's)."""
        gx, gy = np.meshgrid(np.arange(1, self.squares_x), np.arange(1, self.squares_y))
        pts = np.stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)], axis=1)
        return pts * float(self.square_length)

    def _detect_once(self, grey: np.ndarray, legacy: bool, inverted: bool):
        cv2 = _cv2()
        det = cv2.aruco.CharucoDetector(self._cv_board(legacy))
        img = 255 - grey if inverted else grey
        corners, ids, _, _ = det.detectBoard(img)
        if ids is None or len(ids) < self.min_corners:
            return np.zeros(0, np.int64), np.zeros((0, 2))
        ids = ids.ravel().astype(np.int64)
        c = corners.reshape(-1, 2).astype(np.float64)
        order = np.argsort(ids)
        return ids[order], c[order]

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, corners) of the corners found (at least ``min_corners``, else none)."""
        grey = _grey(image)
        legacies = [self.legacy] if self.legacy is not None else [False, True]
        inverts = [self.inverted] if self.inverted is not None else [False, True]
        best = (np.zeros(0, np.int64), np.zeros((0, 2)))
        for lg in legacies:
            for inv in inverts:
                ids, c = self._detect_once(grey, lg, inv)
                if len(ids) > len(best[0]):
                    best = (ids, c)
        return best

    def resolved(self, legacy: bool, inverted: bool) -> CharucoBoard:
        return replace(self, legacy=legacy, inverted=inverted)

    def description(self) -> dict[str, Any]:
        return {"board_type": "charuco", "board_size": [self.squares_x, self.squares_y],
                "board_square_side_length": float(self.square_length),
                "board_marker_length": float(self.marker_length),
                "board_marker_bits": int(self.marker_bits),
                "board_marker_dict_number": int(self.dict_size),
                "board_legacy_pattern": bool(self.legacy) if self.legacy is not None else "auto",
                "board_inverted": bool(self.inverted) if self.inverted is not None else "auto",
                "units": "mm"}

    def texture(self, px_per_mm: float) -> np.ndarray:
        """The printed board (OpenCV's image), for the synthetic data.

        Texture pixel ``(i, j)`` covers board ``[j, j+1) / px_per_mm`` x ``[i, i+1) / px_per_mm``.
        """
        w = int(round(self.squares_x * self.square_length * px_per_mm))
        h = int(round(self.squares_y * self.square_length * px_per_mm))
        img = self._cv_board(bool(self.legacy)).generateImage((w, h), marginSize=0, borderBits=1)
        return 255 - img if self.inverted else img


Board = Checkerboard | CharucoBoard


def _get(d: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for n in names:
        if n in d and d[n] is not None:
            return d[n]
    return default


def _tristate(v: Any) -> bool | None:
    if v is None or (isinstance(v, str) and v.lower() == "auto"):
        return None
    if isinstance(v, str):
        return v.lower() in {"true", "yes", "1"}
    return bool(v)


def board_from_dict(d: Mapping[str, Any]) -> Board:
    """A board from our ``calibration_board`` mapping, anipose's ``[calibration]`` keys or
    sleap-anipose's ``board.toml`` (``board_x``, ``board_y``, ``square_length``...)."""
    kind = str(_get(d, "type", "board_type", default="")).lower()
    size = _get(d, "board_size", "size")
    sx = _get(d, "squares_x", "board_x", default=size[0] if size else None)
    sy = _get(d, "squares_y", "board_y", default=size[1] if size else None)
    square = _get(d, "square_length", "square_size", "board_square_side_length")
    marker = _get(d, "marker_length", "marker_size", "board_marker_length")
    if not kind:
        kind = "charuco" if marker is not None else "checkerboard"
    if sx is None or sy is None:
        raise ConfigError(f"the calibration board needs its size (squares_x, squares_y); got "
                          f"{dict(d)}")
    if square is None:
        raise ConfigError("the calibration board needs its square length in mm "
                          "(square_length); 3D coordinates are in the board's units")
    if kind == "checkerboard":
        return Checkerboard(int(sx), int(sy), float(square))
    if kind != "charuco":
        raise ConfigError(f"unknown board type {kind!r}: use 'charuco' or 'checkerboard'")
    if marker is None:
        raise ConfigError("a ChArUco board needs marker_length (mm)")
    return CharucoBoard(
        int(sx), int(sy), float(square), float(marker),
        marker_bits=int(_get(d, "marker_bits", "board_marker_bits", default=4)),
        dict_size=int(_get(d, "dict_size", "board_marker_dict_number", default=50)),
        legacy=_tristate(_get(d, "legacy", "legacy_pattern", "board_legacy_pattern")),
        inverted=_tristate(_get(d, "inverted", "board_inverted", default=False)),
    )


def board_to_dict(board: Board) -> dict[str, Any]:
    """Our config's ``calibration_board`` mapping."""
    d = asdict(board)
    d["type"] = d.pop("kind")
    for k in ("legacy", "inverted"):
        if k in d and d[k] is None:
            d[k] = "auto"
    d.pop("min_corners", None)
    return d
