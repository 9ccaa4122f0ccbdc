"""The one in-memory representation of keypoints that every file format,
napari layer and model output converts to and from.

Bulk numbers live in arrays (as in sleap-io's ``PointsArray`` and movement's
``position``); names and provenance live beside them. See docs/poses.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: individual name used for single-animal data (DeepLabCut files have no
#: ``individuals`` column level then).
SINGLE_ANIMAL = ""
#: DeepLabCut's pseudo-individual that carries the unique bodyparts.
UNIQUE_INDIVIDUAL = "single"


@dataclass(eq=False)
class Poses:
    """Keypoints of several individuals over several frames.

    Attributes
    ----------
    xy : ndarray, float64, shape (n_frames, n_individuals, n_keypoints, 2)
        Pixel coordinates (x, y) in DeepLabCut's convention (pixel centres at
        integer coordinates, x to the right, y down). NaN marks an unlabeled
        or undetected keypoint.
    bodyparts : list of str
        Keypoint names in file column order (never re-sorted).
    individuals : list of str
        ``[""]`` (:data:`SINGLE_ANIMAL`) for single-animal data; for multi-animal
        data the individuals, with ``"single"`` last when there are unique bodyparts.
    frames : list of str or list of int
        One entry per frame: the image path relative to the project
        (``"labeled-data/video/img012.png"``) for labels, or the video frame
        index for analysis results.
    scorer : str
        Who made the labels (a person's name or a model's scorer string).
    likelihood : ndarray, float64, shape (n_frames, n_individuals, n_keypoints), optional
        Model confidence; ``None`` for human labels.
    defined : ndarray, bool, shape (n_individuals, n_keypoints)
        Which (individual, bodypart) columns exist in the file. In multi-animal
        projects with unique bodyparts, the individuals carry only the
        multi-animal bodyparts and ``"single"`` only the unique ones.

    Equality is by value (:meth:`equals`), not identity.
    """

    xy: np.ndarray
    bodyparts: list[str]
    individuals: list[str] = field(default_factory=lambda: [SINGLE_ANIMAL])
    frames: list = field(default_factory=list)
    scorer: str = "markerless"
    likelihood: np.ndarray | None = None
    defined: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, dtype=np.float64)
        self.bodyparts = [str(b) for b in self.bodyparts]
        self.individuals = [str(i) for i in self.individuals]
        self.frames = list(self.frames)
        if self.xy.ndim != 4 or self.xy.shape[-1] != 2:
            raise ValueError(
                f"Expected xy of shape (frames, individuals, keypoints, 2), got {self.xy.shape}"
            )
        n_frames, n_ind, n_kp, _ = self.xy.shape
        if n_ind != len(self.individuals):
            raise ValueError(
                f"xy has {n_ind} individuals but {len(self.individuals)} names were given"
            )
        if n_kp != len(self.bodyparts):
            raise ValueError(f"xy has {n_kp} keypoints but {len(self.bodyparts)} bodyparts")
        if len(set(self.bodyparts)) != n_kp:
            raise ValueError(f"Duplicate bodypart names: {self.bodyparts}")
        if len(set(self.individuals)) != n_ind:
            raise ValueError(f"Duplicate individual names: {self.individuals}")
        if not self.frames:
            self.frames = list(range(n_frames))
        if len(self.frames) != n_frames:
            raise ValueError(f"xy has {n_frames} frames but {len(self.frames)} frame names")
        if self.likelihood is not None:
            self.likelihood = np.asarray(self.likelihood, dtype=np.float64)
            if self.likelihood.shape != self.xy.shape[:3]:
                raise ValueError(
                    f"likelihood shape {self.likelihood.shape} != xy shape {self.xy.shape[:3]}"
                )
        if self.defined is None:
            self.defined = np.ones((n_ind, n_kp), dtype=bool)
        self.defined = np.asarray(self.defined, dtype=bool)
        if self.defined.shape != (n_ind, n_kp):
            raise ValueError(f"defined mask shape {self.defined.shape} != {(n_ind, n_kp)}")

    # --- shape helpers -------------------------------------------------
    @property
    def n_frames(self) -> int:
        return self.xy.shape[0]

    @property
    def n_individuals(self) -> int:
        return self.xy.shape[1]

    @property
    def n_keypoints(self) -> int:
        return self.xy.shape[2]

    @property
    def multianimal(self) -> bool:
        return self.individuals != [SINGLE_ANIMAL]

    @property
    def labeled(self) -> np.ndarray:
        """(frames, individuals, keypoints) bool: where a keypoint has coordinates."""
        return ~np.isnan(self.xy).any(axis=-1)

    @property
    def n_labeled(self) -> int:
        return int(self.labeled.sum())

    def columns(self) -> list[tuple[str, str]]:
        """The defined (individual, bodypart) pairs in file order."""
        return [
            (ind, bp)
            for i, ind in enumerate(self.individuals)
            for k, bp in enumerate(self.bodyparts)
            if self.defined[i, k]
        ]

    # --- construction --------------------------------------------------
    @classmethod
    def empty(
        cls,
        frames: Sequence,
        bodyparts: Sequence[str],
        individuals: Sequence[str] = (SINGLE_ANIMAL,),
        scorer: str = "markerless",
        defined: np.ndarray | None = None,
    ) -> Poses:
        """All-NaN poses for the given frames (for a fresh labeling session)."""
        xy = np.full((len(frames), len(individuals), len(bodyparts), 2), np.nan)
        return cls(xy, list(bodyparts), list(individuals), list(frames), scorer, None, defined)

    def copy(self) -> Poses:
        return Poses(
            self.xy.copy(),
            list(self.bodyparts),
            list(self.individuals),
            list(self.frames),
            self.scorer,
            None if self.likelihood is None else self.likelihood.copy(),
            self.defined.copy(),
        )

    def select_frames(self, index: Sequence[int] | np.ndarray) -> Poses:
        """Poses restricted to the given frame positions (not frame names)."""
        index = np.asarray(index, dtype=int)
        return Poses(
            self.xy[index],
            list(self.bodyparts),
            list(self.individuals),
            [self.frames[i] for i in index],
            self.scorer,
            None if self.likelihood is None else self.likelihood[index],
            self.defined.copy(),
        )

    def equals(self, other: Poses) -> bool:
        """Value equality: same names, frames, and coordinates (NaN == NaN)."""
        if not isinstance(other, Poses):
            return False
        same_lik = (self.likelihood is None) == (other.likelihood is None) and (
            self.likelihood is None
            or np.array_equal(self.likelihood, other.likelihood, equal_nan=True)
        )
        return (
            self.bodyparts == other.bodyparts
            and self.individuals == other.individuals
            and [str(f) for f in self.frames] == [str(f) for f in other.frames]
            and self.scorer == other.scorer
            and self.xy.shape == other.xy.shape
            and np.array_equal(self.xy, other.xy, equal_nan=True)
            and np.array_equal(self.defined, other.defined)
            and same_lik
        )

    def __repr__(self) -> str:
        return (
            f"Poses({self.n_frames} frames, individuals={self.individuals}, "
            f"bodyparts={self.bodyparts}, scorer={self.scorer!r}, labeled={self.n_labeled})"
        )
