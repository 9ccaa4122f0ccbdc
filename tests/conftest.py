"""Shared fixtures. Paths are built from this file, never from the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MARKERLESS_SHARED_DATA", REPO.parent / "shared" / "data"))

# JAX: keep CPU tests deterministic and quiet, and reuse compiled functions across tests
# (many tests compile the same tiny networks; the persistent cache makes repeats cheap).
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(REPO / ".pytest_cache" / "jax-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")


def _shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared data set {name!r} not found at {path} (set MARKERLESS_SHARED_DATA)")
    return path


@pytest.fixture
def openfield_dir() -> Path:
    """DeepLabCut's openfield project: 116 labeled frames x 4 bodyparts, no NaN."""
    return _shared("dlc-openfield-pranav")


@pytest.fixture
def openfield_video() -> Path:
    """m3v1mp4.mp4: 2330 frames 640x480 yuv444p H.264, keyframes every ~200 frames."""
    return _shared("dlc-openfield-pranav") / "videos" / "m3v1mp4.mp4"


@pytest.fixture
def dlc_fixtures_dir() -> Path:
    """SLEAP's DLC CSV variants (old/new index, multi-animal, unique bodyparts, ragged rows)."""
    return _shared("sleap-dlc-format-fixtures")


@pytest.fixture
def fly_dir() -> Path:
    """Two flies, 13 nodes, 1500 frames 1024x1024 (research use only; never copied)."""
    return _shared("sleap-fly-pair-clip")


@pytest.fixture
def stereo_dir() -> Path:
    """DeepLabCut's 2-camera example: 14 checkerboard pairs, 9 x 6 corners, 30 mm."""
    return _shared("dlc-stereo-checkerboard")


@pytest.fixture
def anipose_session() -> Path:
    """sleap-anipose's minimal session: 4 cameras, ChArUco images, one tracked mouse."""
    return _shared("sleap-anipose-minimal-session")
