"""Multi-animal keypoint assembly: part-affinity graphs, DeepLabCut's Assembler on the host.

>>> from markerless.assembly import AssemblerConfig, assemble
>>> # peaks (F, K, P, 3), affinity (F, E, P, P) from markerless.decoding.ma_peaks
>>> # res = assemble(peaks, affinity, AssemblerConfig(max_n_individuals=2,
>>> #                n_multibodyparts=13, edges=edges))

See :mod:`markerless.assembly.assembler` for the semantics and
:mod:`markerless.assembly.prune` for choosing the graph.
"""

from __future__ import annotations

from markerless.assembly.assembler import AssemblerConfig, AssemblyResult, assemble
from markerless.assembly.graph import GRAPH_MODES, complete_graph, project_graph, skeleton_graph
from markerless.assembly.prune import prune_graph
from markerless.assembly.spec import MultiAnimalSpec

__all__ = [
    "GRAPH_MODES",
    "AssemblerConfig",
    "AssemblyResult",
    "MultiAnimalSpec",
    "assemble",
    "complete_graph",
    "project_graph",
    "prune_graph",
    "skeleton_graph",
]
