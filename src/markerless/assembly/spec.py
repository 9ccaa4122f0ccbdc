"""`MultiAnimalSpec`: what a multi-animal model predicts and how its outputs are laid out.

One record shared by training (targets), the snapshot's metadata (so inference rebuilds
everything from the snapshot alone), ``pose_cfg.yaml`` (DeepLabCut's key names) and the
assembler.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from markerless.errors import ConfigError

__all__ = ["MultiAnimalSpec", "flat_keypoints", "spec_from_project"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MultiAnimalSpec:
    """Individuals, bodyparts and the part-affinity graph of a multi-animal model.

    ``edges`` is the graph the network was trained on (DLC ``partaffinityfield_graph``,
    indices into ``multi_bodyparts``); ``paf_best`` the indices into ``edges`` used to
    assemble (DLC ``paf_best``: all of them unless pruned). ``identity``: the network has
    one identity channel per individual.
    """

    individuals: tuple[str, ...]
    multi_bodyparts: tuple[str, ...]
    unique_bodyparts: tuple[str, ...] = ()
    edges: tuple[tuple[int, int], ...] = ()
    paf_best: tuple[int, ...] | None = None
    identity: bool = False
    graph_mode: str = "skeleton"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "individuals", tuple(str(v) for v in self.individuals))
        object.__setattr__(self, "multi_bodyparts", tuple(str(v) for v in self.multi_bodyparts))
        object.__setattr__(self, "unique_bodyparts",
                           tuple(str(v) for v in self.unique_bodyparts))
        edges = tuple((int(s), int(t)) for s, t in self.edges)
        object.__setattr__(self, "edges", edges)
        km = len(self.multi_bodyparts)
        bad = [e for e in edges if not (0 <= e[0] < km and 0 <= e[1] < km) or e[0] == e[1]]
        if bad:
            raise ConfigError(f"part-affinity edges {bad} do not join two of the {km} "
                              "multi-animal bodyparts")
        best = tuple(range(len(edges))) if self.paf_best is None else tuple(
            int(i) for i in self.paf_best)
        if any(not 0 <= i < len(edges) for i in best):
            raise ConfigError(f"paf_best {list(best)} indexes outside the {len(edges)} edges")
        object.__setattr__(self, "paf_best", best)

    @property
    def n_individuals(self) -> int:
        return len(self.individuals)

    @property
    def n_multi(self) -> int:
        return len(self.multi_bodyparts)

    @property
    def n_unique(self) -> int:
        return len(self.unique_bodyparts)

    @property
    def bodyparts(self) -> list[str]:
        """Score-map channel names: multi-animal bodyparts then unique ones."""
        return list(self.multi_bodyparts + self.unique_bodyparts)

    @property
    def n_identities(self) -> int:
        return self.n_individuals if self.identity else 0

    @property
    def best_edges(self) -> tuple[tuple[int, int], ...]:
        """The ``(s, t)`` pairs assembled, in `paf_best` order."""
        return tuple(self.edges[i] for i in self.paf_best)

    def layout(self):
        """The training targets' `markerless.training.ma_targets.MultiLayout`."""
        from markerless.training.ma_targets import MultiLayout

        return MultiLayout(self.n_individuals, self.n_multi, self.n_unique, self.edges,
                           self.identity)

    def replace(self, **changes: Any) -> MultiAnimalSpec:
        import dataclasses

        return dataclasses.replace(self, **changes)

    # --- metadata --------------------------------------------------------------------------
    def to_meta(self) -> dict[str, Any]:
        """JSON/YAML-friendly dict (the snapshot's ``multianimal`` metadata)."""
        return {"individuals": list(self.individuals),
                "multianimalbodyparts": list(self.multi_bodyparts),
                "uniquebodyparts": list(self.unique_bodyparts),
                "partaffinityfield_graph": [list(e) for e in self.edges],
                "paf_best": list(self.paf_best), "identity": self.identity,
                "paf_graph": self.graph_mode}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> MultiAnimalSpec:
        return cls(individuals=meta["individuals"],
                   multi_bodyparts=meta["multianimalbodyparts"],
                   unique_bodyparts=meta.get("uniquebodyparts") or (),
                   edges=[tuple(e) for e in meta.get("partaffinityfield_graph") or ()],
                   paf_best=meta.get("paf_best"), identity=bool(meta.get("identity")),
                   graph_mode=str(meta.get("paf_graph", "skeleton")))

    def pose_cfg_entries(self) -> dict[str, Any]:
        """DeepLabCut's multi-animal ``pose_cfg.yaml`` keys for this model."""
        return {"multi_stage": True, "partaffinityfield_predict": True,
                "partaffinityfield_graph": [list(e) for e in self.edges],
                "paf_best": list(self.paf_best), "num_limbs": len(self.edges),
                "num_idchannel": self.n_identities, "identity": self.identity,
                "multianimalbodyparts": list(self.multi_bodyparts),
                "uniquebodyparts": list(self.unique_bodyparts),
                "individuals": list(self.individuals), "paf_graph": self.graph_mode,
                "num_joints": self.n_multi + self.n_unique}


def _mean_shape(xy: np.ndarray) -> np.ndarray:
    """Mean position of each bodypart relative to its animal's centroid ``(Km, 2)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # animals or parts never labeled
        centred = xy - np.nanmean(xy, axis=-2, keepdims=True)
        return np.nanmean(centred.reshape(-1, xy.shape[-2], 2), axis=0)


def flat_keypoints(keypoints: np.ndarray, spec: MultiAnimalSpec) -> np.ndarray:
    """Label-file layout ``(N, I[+single], Km + Ku, 2)`` -> flat ``(N, I*Km + Ku, 2)``."""
    n, ni = keypoints.shape[:2]
    km, ku, i = spec.n_multi, spec.n_unique, spec.n_individuals
    if ni < i or keypoints.shape[2] != km + ku:
        raise ConfigError(f"labels of shape {keypoints.shape} do not fit {i} individuals x "
                          f"{km} + {ku} bodyparts")
    multi = keypoints[:, :i, :km].reshape(n, i * km, 2)
    unique = keypoints[:, -1, km:] if ku else np.zeros((n, 0, 2), keypoints.dtype)
    return np.concatenate([multi, unique], axis=1).astype(np.float32)


def spec_from_project(cfg: Mapping[str, Any], graph_mode: str,
                      keypoints: np.ndarray | None = None,
                      pose_cfg: Mapping[str, Any] | None = None) -> MultiAnimalSpec:
    """The spec of a multi-animal project's network.

    ``pose_cfg`` ``partaffinityfield_graph`` (DeepLabCut users edit it) wins over
    ``graph_mode``; ``keypoints`` (label layout) help complete a disconnected skeleton.
    """
    from markerless.assembly.graph import project_graph
    from markerless.io.config import (
        get_bodyparts,
        get_individuals,
        get_skeleton,
        get_unique_bodyparts,
    )

    individuals = get_individuals(cfg)
    multi = get_bodyparts(cfg)
    unique = get_unique_bodyparts(cfg)
    given = (pose_cfg or {}).get("partaffinityfield_graph")
    if given:
        edges = [tuple(int(v) for v in e) for e in given]
        best = (pose_cfg or {}).get("paf_best")
    else:
        mean_xy = None
        if keypoints is not None and len(keypoints):
            mean_xy = _mean_shape(keypoints[:, : len(individuals), : len(multi)])
        edges = project_graph(graph_mode, multi, get_skeleton(cfg), mean_xy)
        best = None
    if not edges and len(multi) > 1:
        raise ConfigError("the multi-animal project needs a part-affinity graph")
    return MultiAnimalSpec(individuals, multi, unique, edges, best,
                           bool(cfg.get("identity") or False), graph_mode)
