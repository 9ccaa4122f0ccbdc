"""DeepLabCut's assembly of one frame's links into animals, step by step (the exact path).

`markerless.assembly.assembler` solves most frames with whole-array operations: when no
connected group of links holds two peaks of one bodypart, DLC's procedure provably returns
the connected components. The frames where that does not hold (links that cross animals,
spurious peaks) come here, to the same procedure as DeepLabCut's ``build_assemblies``
without calibration (``safe_edge`` off) and without ``force_fusion``:

1. connected components holding exactly ``n_multi`` peaks become assemblies first; when that
   already gives ``max_n_individuals`` animals, stop;
2. links in decreasing affinity whose peaks are not assembled yet seed a new assembly,
   grown by repeatedly adding the best link that reaches a new peak of a bodypart the
   assembly lacks (a heap, as DLC's ``_fill_assembly``);
3. with more assemblies than animals, incomplete assemblies joined by a link they did not
   use and sharing no bodypart are fused;
4. incomplete assemblies are filled once more from the links left.

Peaks are local node ids ``part * M + slot`` of one frame; work is proportional to the
frame's links (a few dozen), in plain Python containers.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict

__all__ = ["FrameAssembly", "build_frame"]


class FrameAssembly:
    """One animal being assembled: bodypart -> node, the nodes, its links and affinity sum."""

    __slots__ = ("aff", "idx", "links", "parts")

    def __init__(self) -> None:
        self.parts: dict[int, int] = {}
        self.idx: set[int] = set()
        self.links: list[int] = []
        self.aff = 0.0

    def __len__(self) -> int:
        return len(self.parts)

    def add_link(self, k: int, i: int, j: int, pi: int, pj: int, aff: float) -> bool:
        """DLC's ``Assembly.add_link`` for link ``k`` between nodes i (part pi), j (part pj)."""
        if i in self.idx and j in self.idx:
            self.aff += aff
            self.links.append(k)
            return False
        if pi in self.parts and pj in self.parts:
            return False
        for node, part in ((i, pi), (j, pj)):
            if part not in self.parts:
                self.parts[part] = node
                self.idx.add(node)
        self.aff += aff
        self.links.append(k)
        return True

    def shares_part_with(self, other: FrameAssembly) -> bool:
        return not self.parts.keys().isdisjoint(other.parts.keys())


def build_frame(src: list[int], dst: list[int], aff: list[float], m: int, n_multi: int,
                max_n: int) -> list[FrameAssembly]:
    """Assemblies of one frame from its links (node ids ``part * m + slot``)."""
    part = [s // m for s in src], [d // m for d in dst]
    links = list(zip(src, dst, aff, part[0], part[1], strict=True))
    lookup: dict[int, dict[int, int]] = defaultdict(dict)
    for k, (i, j, *_rest) in enumerate(links):
        lookup[i][j] = k
        lookup[j][i] = k
    assemblies: list[FrameAssembly] = []
    assembled: set[int] = set()

    for comp in _components(links):  # 1. complete components
        if len(comp) != n_multi:
            continue
        a = FrameAssembly()
        for k, (i, j, w, pi, pj) in enumerate(links):
            if i in comp and j in comp and a.add_link(k, i, j, pi, pj, w):
                lookup[i].pop(j, None)
                lookup[j].pop(i, None)
        assembled.update(a.idx)
        assemblies.append(a)
    if len(assemblies) == max_n:
        return assemblies

    order = sorted(range(len(links)), key=lambda k: links[k][2], reverse=True)
    for k in order:  # 2. seed and grow
        i, j, w, pi, pj = links[k]
        if i in assembled or j in assembled:
            continue
        a = FrameAssembly()
        a.add_link(k, i, j, pi, pj, w)
        _fill(a, links, lookup, assembled, n_multi)
        for kk in a.links:
            ii, jj = links[kk][:2]
            lookup[ii].pop(jj, None)
            lookup[jj].pop(ii, None)
        assembled.update(a.idx)
        assemblies.append(a)

    if len(assemblies) > max_n:  # 3. fuse incomplete assemblies
        _fuse(assemblies, links, n_multi)
    for a in assemblies:  # 4. second filling pass
        if len(a) != n_multi:
            _fill(a, links, lookup, assembled, n_multi)
            assembled.update(a.idx)
    return assemblies


def _components(links: list[tuple]) -> list[set[int]]:
    """Connected components in order of first appearance (as networkx lists them)."""
    adj: dict[int, list[int]] = defaultdict(list)
    order: list[int] = []
    for i, j, *_ in links:
        for node in (i, j):
            if node not in adj:
                order.append(node)
        adj[i].append(j)
        adj[j].append(i)
    seen: set[int] = set()
    comps = []
    for start in order:
        if start in seen:
            continue
        comp, todo = {start}, [start]
        while todo:
            for nxt in adj[todo.pop()]:
                if nxt not in comp:
                    comp.add(nxt)
                    todo.append(nxt)
        seen |= comp
        comps.append(comp)
    return comps


def _fill(a: FrameAssembly, links: list[tuple], lookup: dict[int, dict[int, int]],
          assembled: set[int], n_multi: int) -> None:
    stack: list[tuple[float, int, int]] = []
    visited: set[int] = set()
    counter = itertools.count()

    def push(node: int) -> None:
        for other, k in lookup[node].items():
            if other in a.idx or k in visited:
                continue
            heapq.heappush(stack, (-links[k][2], next(counter), k))
            visited.add(k)

    for node in sorted(a.idx):
        push(node)
    while stack and len(a) < n_multi:
        _, _, k = heapq.heappop(stack)
        i, j, w, pi, pj = links[k]
        if i in a.idx:
            new = j
        elif j in a.idx:
            new = i
        else:
            continue
        if new in assembled:
            continue
        a.add_link(k, i, j, pi, pj, w)
        push(new)


def _fuse(assemblies: list[FrameAssembly], links: list[tuple], n_multi: int) -> None:
    store: dict[int, FrameAssembly] = {}
    for a in assemblies:
        if len(a) != n_multi:
            for node in a.idx:
                store[node] = a
    used = {k for a in assemblies for k in a.links}
    for k, (i, j, *_rest) in enumerate(links):
        if k in used or i not in store or j not in store:
            continue
        ai, aj = store[i], store[j]
        if ai is aj or ai.shares_part_with(aj):
            continue
        merged = FrameAssembly()
        for kk in ai.links + aj.links:
            ii, jj, w, pi, pj = links[kk]
            merged.add_link(kk, ii, jj, pi, pj, w)
        ai.parts, ai.idx, ai.links, ai.aff = merged.parts, merged.idx, merged.links, merged.aff
        assemblies.remove(aj)
        for node in aj.idx:
            store[node] = ai
