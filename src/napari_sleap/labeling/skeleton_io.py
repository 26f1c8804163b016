"""Skeleton files and skeleton edits that keep a project's labels.

Skeletons load from SLEAP's JSON files (as SLEAP writes them) or from any ``.slp``
and save as SLEAP JSON, atomically. Edits go through :class:`SkeletonEditor` so
the instances follow: a renamed node keeps its points, a new node starts
unlabeled, and a removed node's points are dropped only when ``confirm=True``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import sleap_io as sio

from napari_sleap.io.atomic import write_text

__all__ = [
    "ConfirmationNeeded",
    "SkeletonEditor",
    "load_skeleton",
    "load_skeletons",
    "save_skeleton",
]


class ConfirmationNeeded(ValueError):
    """An edit would drop labeled points; repeat it with ``confirm=True``.

    Attributes:
        n_points: Number of labeled (visible) points that would be lost.
    """

    def __init__(self, message: str, n_points: int) -> None:
        super().__init__(message)
        self.n_points = n_points


def load_skeletons(path: str | os.PathLike) -> list[sio.Skeleton]:
    """All skeletons in a SLEAP skeleton JSON file or a ``.slp`` labels file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: skeleton file not found (check the path)")
    if path.name.endswith(".slp"):
        try:
            labels = sio.load_slp(str(path), open_videos=False)
        except Exception as err:
            raise ValueError(
                f"{path}: cannot be read as SLEAP labels ({err}); pick a .slp file "
                "written by SLEAP or napari-sleap, or a skeleton .json"
            ) from err
        skeletons = list(labels.skeletons)
    else:
        try:
            loaded = sio.load_skeleton(str(path))
        except Exception as err:
            raise ValueError(
                f"{path}: not a SLEAP skeleton file ({type(err).__name__}: {err}); "
                "expected the JSON SLEAP writes with 'Save skeleton' (nodes, links)"
            ) from err
        skeletons = loaded if isinstance(loaded, list) else [loaded]
    if not skeletons:
        raise ValueError(f"{path}: holds no skeleton")
    return skeletons


def load_skeleton(path: str | os.PathLike, index: int = 0) -> sio.Skeleton:
    """One skeleton (the first by default) from a skeleton JSON or ``.slp`` file."""
    skeletons = load_skeletons(path)
    if not 0 <= index < len(skeletons):
        raise IndexError(f"{path}: skeleton {index} asked, file has {len(skeletons)}")
    return skeletons[index]


def _node_obj(name: str) -> dict[str, Any]:
    return {"py/object": "sleap.skeleton.Node", "py/state": {"py/tuple": [name, 1.0]}}


def _edge_type(value: int) -> dict[str, Any]:
    return {
        "py/reduce": [{"py/type": "sleap.skeleton.EdgeType"}, {"py/tuple": [value]}]
    }


def encode_skeleton(skeleton: sio.Skeleton) -> dict[str, Any]:
    """SLEAP's jsonpickle graph of a skeleton, with one ``py/id`` space.

    Each node or edge type is written in full where it first appears and as a
    ``py/id`` reference after that, numbered in order of appearance, as SLEAP's
    jsonpickle does; the ``nodes`` list then fixes the node order. (sleap-io
    0.9.5's own writer numbers nodes and edge types separately, which its reader
    and SLEAP misread as another node order.)
    """
    ids: dict[tuple[str, Any], int] = {}

    def ref(key: tuple[str, Any], full: dict[str, Any]) -> dict[str, Any]:
        if key in ids:
            return {"py/id": ids[key]}
        ids[key] = len(ids) + 1
        return full

    pairs = [(e.source.name, e.destination.name, 1) for e in skeleton.edges]
    for sym in skeleton.symmetries:
        a, b = sorted(n.name for n in sym.nodes)
        pairs += [(a, b, 2), (b, a, 2)]  # SLEAP stores both directions
    links = []
    for k, (a, b, kind) in enumerate(pairs):
        links.append(
            {
                "edge_insert_idx": k,
                "key": 0,
                "source": ref(("node", a), _node_obj(a)),
                "target": ref(("node", b), _node_obj(b)),
                "type": ref(("type", kind), _edge_type(kind)),
            }
        )
    nodes = [{"id": ref(("node", n), _node_obj(n))} for n in skeleton.node_names]
    return {
        "directed": True,
        "graph": {
            "name": skeleton.name or "Skeleton",
            "num_edges_inserted": len(links),
        },
        "links": links,
        "multigraph": True,
        "nodes": nodes,
    }


def save_skeleton(skeleton: sio.Skeleton, path: str | os.PathLike) -> Path:
    """Write SLEAP's skeleton JSON atomically (write beside, then rename)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: folder {path.parent} does not exist")
    return write_text(path, json.dumps(encode_skeleton(skeleton)))


class SkeletonEditor:
    """Edits one skeleton of a project and keeps every instance in step.

    Args:
        labels: The project (its instances are updated in place).
        skeleton: The skeleton edited (default: the labels' first).
    """

    def __init__(self, labels: sio.Labels, skeleton: sio.Skeleton | None = None):
        if skeleton is None:
            if not labels.skeletons:
                labels.skeletons.append(sio.Skeleton(nodes=[], name="skeleton"))
            skeleton = labels.skeletons[0]
        self.labels = labels
        self.skeleton = skeleton

    def _instances(self) -> list[sio.Instance]:
        return [
            inst
            for lf in self.labels.labeled_frames
            for inst in lf.instances
            if inst.skeleton is self.skeleton
        ]

    def _check_name(self, name: str) -> str:
        name = str(name).strip()
        if not name:
            raise ValueError("node name: must not be empty")
        if name in self.skeleton.node_names:
            raise ValueError(f"node name {name!r}: the skeleton already has it")
        return name

    def _node(self, name: str) -> str:
        if name not in self.skeleton.node_names:
            raise ValueError(
                f"node {name!r} is not in skeleton {self.skeleton.name!r} "
                f"(nodes: {self.skeleton.node_names})"
            )
        return name

    def add_node(self, name: str) -> None:
        """Add a node; existing instances get it as an unlabeled (invisible) point."""
        self.skeleton.add_node(self._check_name(name))
        for inst in self._instances():
            inst.update_skeleton()

    def rename_node(self, old: str, new: str) -> None:
        """Rename a node; every instance keeps its point under the new name."""
        self._node(old)
        new = self._check_name(new)
        self.skeleton.rename_nodes({old: new})
        for inst in self._instances():
            inst.update_skeleton(names_only=True)

    def labeled_points(self, names: list[str]) -> int:
        """How many visible points the named nodes hold across the project."""
        idx = [self.skeleton.node_names.index(self._node(n)) for n in names]
        return int(
            sum(np.sum(inst.points["visible"][idx]) for inst in self._instances())
        )

    def remove_nodes(self, names: list[str], *, confirm: bool = False) -> int:
        """Remove nodes (with their edges and symmetries) and their points.

        Raises:
            ConfirmationNeeded: the nodes hold labeled points and ``confirm`` is
                False; nothing was changed.

        Returns:
            The number of labeled points dropped.
        """
        lost = self.labeled_points(list(names))
        if lost and not confirm:
            raise ConfirmationNeeded(
                f"removing {', '.join(names)} drops {lost} labeled point(s); "
                "confirm to remove them",
                lost,
            )
        self.skeleton.remove_nodes(list(names))
        for inst in self._instances():
            inst.update_skeleton()
        return lost

    def add_edge(self, source: str, destination: str) -> None:
        """Connect two nodes (no-op if already connected either way)."""
        a, b = self._node(source), self._node(destination)
        if a == b:
            raise ValueError(f"edge {a!r} -> {b!r}: a node cannot connect to itself")
        if any(
            {e.source.name, e.destination.name} == {a, b} for e in self.skeleton.edges
        ):
            return
        self.skeleton.add_edge(a, b)

    def remove_edge(self, source: str, destination: str) -> None:
        """Disconnect two nodes (either direction)."""
        pair = {self._node(source), self._node(destination)}
        keep = [
            e
            for e in self.skeleton.edges
            if {e.source.name, e.destination.name} != pair
        ]
        if len(keep) == len(self.skeleton.edges):
            raise ValueError(f"edge {source!r} - {destination!r}: not in the skeleton")
        self.skeleton.edges[:] = keep

    def add_symmetry(self, left: str, right: str) -> None:
        """Mark two nodes as a left/right pair (flipped together by augmentation)."""
        a, b = self._node(left), self._node(right)
        if a == b:
            raise ValueError(f"symmetry {a!r} - {b!r}: needs two different nodes")
        taken = {n.name for s in self.skeleton.symmetries for n in s.nodes}
        if a in taken or b in taken:
            raise ValueError(
                f"symmetry {a!r} - {b!r}: a node can have one symmetric partner; "
                "remove the existing pair first"
            )
        self.skeleton.add_symmetry(a, b)

    def remove_symmetry(self, left: str, right: str) -> None:
        """Remove a left/right pair."""
        pair = {self._node(left), self._node(right)}
        keep = [
            s for s in self.skeleton.symmetries if {n.name for n in s.nodes} != pair
        ]
        if len(keep) == len(self.skeleton.symmetries):
            raise ValueError(f"symmetry {left!r} - {right!r}: not in the skeleton")
        self.skeleton.symmetries[:] = keep

    def replace(self, new: sio.Skeleton, *, confirm: bool = False) -> int:
        """Swap in another skeleton, matching nodes by name.

        Nodes with the same name keep their points; nodes the new skeleton lacks
        are dropped (only with ``confirm`` if they hold labeled points).

        Returns:
            The number of labeled points dropped.
        """
        gone = [n for n in self.skeleton.node_names if n not in new.node_names]
        lost = self.labeled_points(gone) if gone else 0
        if lost and not confirm:
            raise ConfirmationNeeded(
                f"the new skeleton lacks {', '.join(gone)}: {lost} labeled point(s) "
                "would be dropped; confirm to replace it",
                lost,
            )
        for inst in self._instances():
            inst.skeleton = new
            inst.update_skeleton()
        self.labels.skeletons[:] = [
            new if s is self.skeleton else s for s in self.labels.skeletons
        ]
        self.skeleton = new
        return lost
