"""Part-affinity-field graphs: which bodypart pairs the network links.

Two sources, as in DeepLabCut:

* ``"skeleton"``: the project's ``skeleton`` (config.yaml) restricted to the multi-animal
  bodyparts. A skeleton that leaves some bodyparts unconnected would leave them out of every
  assembly, so it is completed with the shortest missing links (a minimum spanning forest
  over the mean labeled distances) and a warning;
* ``"full"`` (the default) and ``"pruned"``: DLC 3's complete graph, every pair of
  multi-animal bodyparts (``itertools.combinations`` order). The network learns all of
  them; with ``"pruned"``, `markerless.assembly.prune` then keeps the edges that assemble
  best (DLC's ``paf_best``).

Edges are ``(s, t)`` index pairs with ``s < t`` into the multi-animal bodyparts.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

import numpy as np

from markerless.errors import ConfigError

__all__ = ["GRAPH_MODES", "complete_graph", "is_connected", "project_graph", "skeleton_graph"]

log = logging.getLogger(__name__)

#: ``paf_graph`` choices of `markerless.training.recipes.TrainConfig`.
GRAPH_MODES = ("full", "pruned", "skeleton")

Edges = list[tuple[int, int]]


def complete_graph(n_bodyparts: int) -> Edges:
    """Every pair ``(s, t)``, ``s < t`` (DLC's ``partaffinityfield_graph`` for ``paf_graph:
    full``)."""
    return [(int(s), int(t)) for s, t in itertools.combinations(range(n_bodyparts), 2)]


def _components(n: int, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not edges:
        return np.arange(n)
    e = np.asarray(edges, dtype=int)
    adj = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    return connected_components(adj, directed=False)[1]


def is_connected(n_bodyparts: int, edges: Sequence[tuple[int, int]]) -> bool:
    """Whether the edges join all bodyparts into one graph."""
    return n_bodyparts <= 1 or len(np.unique(_components(n_bodyparts, edges))) == 1


def skeleton_graph(skeleton: Sequence[tuple[str, str]], bodyparts: Sequence[str],
                   mean_xy: np.ndarray | None = None) -> Edges:
    """The skeleton's edges between multi-animal ``bodyparts``, completed to a connected graph.

    ``mean_xy`` ``(K, 2)`` (mean labeled position of each bodypart relative to its animal's
    centroid) ranks the links added when the skeleton is not connected; without it the
    missing links join consecutive bodyparts.
    """
    index = {name: k for k, name in enumerate(bodyparts)}
    edges: Edges = []
    for a, b in skeleton:
        if a in index and b in index and a != b:
            e = tuple(sorted((index[a], index[b])))
            if e not in edges:
                edges.append(e)  # type: ignore[arg-type]
    n = len(bodyparts)
    if is_connected(n, edges):
        return edges
    added = []
    comp = _components(n, edges)
    if mean_xy is not None and np.isfinite(mean_xy).all():
        cand = sorted(complete_graph(n),
                      key=lambda e: float(np.linalg.norm(mean_xy[e[0]] - mean_xy[e[1]])))
    else:
        cand = [(k, k + 1) for k in range(n - 1)] + complete_graph(n)
    for s, t in cand:  # Kruskal over the candidate order: a few dozen pairs at most
        if comp[s] != comp[t]:
            old, new = comp[t], comp[s]
            comp[comp == old] = new
            edges.append((s, t))
            added.append((bodyparts[s], bodyparts[t]))
    log.warning("The skeleton does not connect every multi-animal bodypart; part-affinity "
                "edges %s were added so that each bodypart can be assembled", added)
    return edges


def project_graph(mode: str, bodyparts: Sequence[str], skeleton: Sequence[tuple[str, str]],
                  mean_xy: np.ndarray | None = None) -> Edges:
    """The graph the network is trained on for ``paf_graph`` ``mode`` (see `GRAPH_MODES`)."""
    if mode not in GRAPH_MODES:
        raise ConfigError(f"paf_graph must be one of {GRAPH_MODES}, got {mode!r}")
    if mode == "skeleton":
        return skeleton_graph(skeleton, bodyparts, mean_xy)
    return complete_graph(len(bodyparts))
