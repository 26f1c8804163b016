"""Built-in skeletons to start labeling a new video without building one by hand.

Each template is a fresh :class:`sleap_io.Skeleton` (nodes, edges and left/right
symmetries) made on every call, so editing one never changes the next. The fly
template has the 13 nodes of the shared fly clip's labels, in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sleap_io as sio

__all__ = [
    "TEMPLATES",
    "Template",
    "make_template",
    "template_names",
    "template_pose",
]


@dataclass(frozen=True)
class Template:
    """A skeleton recipe.

    Attributes:
        name: Short key (``fly``, ``mouse``, ``bee``).
        title: What a person reads in a menu.
        nodes: Node names, in order.
        edges: Pairs of node names joined by a line.
        symmetries: Left/right pairs of node names (swapped by flip augmentation).
        pose: A typical pose seen from above, head up, one ``(x, y)`` per node in
            body lengths: where a first instance is placed before anything is
            labeled.
    """

    name: str
    title: str
    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    symmetries: tuple[tuple[str, str], ...]
    pose: tuple[tuple[float, float], ...] = ()

    def skeleton(self) -> sio.Skeleton:
        """A new skeleton of this template."""
        nodes = [sio.Node(n) for n in self.nodes]
        by_name = {n.name: n for n in nodes}
        edges = [sio.Edge(by_name[a], by_name[b]) for a, b in self.edges]
        syms = [sio.Symmetry({by_name[a], by_name[b]}) for a, b in self.symmetries]
        return sio.Skeleton(
            nodes=nodes, edges=edges, symmetries=syms, name=f"{self.name}"
        )


def _legs(prefix: str, sides: str = "LR") -> tuple[str, ...]:
    return tuple(f"{prefix}{s}" for s in sides)


FLY = Template(
    name="fly",
    title="fly (13 nodes: head, thorax, abdomen, wings, leg tips, eyes)",
    nodes=(
        "head",
        "thorax",
        "abdomen",
        "wingL",
        "wingR",
        "forelegL4",
        "forelegR4",
        "midlegL4",
        "midlegR4",
        "hindlegL4",
        "hindlegR4",
        "eyeL",
        "eyeR",
    ),
    edges=(
        ("head", "eyeL"),
        ("head", "eyeR"),
        ("thorax", "head"),
        ("thorax", "abdomen"),
        ("thorax", "wingL"),
        ("thorax", "wingR"),
        ("thorax", "forelegL4"),
        ("thorax", "forelegR4"),
        ("thorax", "midlegL4"),
        ("thorax", "midlegR4"),
        ("thorax", "hindlegL4"),
        ("thorax", "hindlegR4"),
    ),
    symmetries=(
        ("wingL", "wingR"),
        ("forelegL4", "forelegR4"),
        ("midlegL4", "midlegR4"),
        ("hindlegL4", "hindlegR4"),
        ("eyeL", "eyeR"),
    ),
    pose=(
        (0.0, -0.32),
        (0.0, 0.0),
        (0.0, 0.45),
        (-0.22, 0.55),
        (0.22, 0.55),
        (-0.35, -0.35),
        (0.35, -0.35),
        (-0.45, 0.02),
        (0.45, 0.02),
        (-0.35, 0.38),
        (0.35, 0.38),
        (-0.08, -0.38),
        (0.08, -0.38),
    ),
)

MOUSE = Template(
    name="mouse",
    title="mouse (top view, 11 nodes: snout, ears, paws, tail)",
    nodes=(
        "snout",
        "ear_left",
        "ear_right",
        "neck",
        "forepaw_left",
        "forepaw_right",
        "body_center",
        "hindpaw_left",
        "hindpaw_right",
        "tail_base",
        "tail_tip",
    ),
    edges=(
        ("snout", "ear_left"),
        ("snout", "ear_right"),
        ("snout", "neck"),
        ("neck", "forepaw_left"),
        ("neck", "forepaw_right"),
        ("neck", "body_center"),
        ("body_center", "hindpaw_left"),
        ("body_center", "hindpaw_right"),
        ("body_center", "tail_base"),
        ("tail_base", "tail_tip"),
    ),
    symmetries=(
        ("ear_left", "ear_right"),
        ("forepaw_left", "forepaw_right"),
        ("hindpaw_left", "hindpaw_right"),
    ),
    pose=(
        (0.0, -0.5),
        (-0.1, -0.3),
        (0.1, -0.3),
        (0.0, -0.24),
        (-0.14, -0.14),
        (0.14, -0.14),
        (0.0, 0.04),
        (-0.16, 0.22),
        (0.16, 0.22),
        (0.0, 0.3),
        (0.05, 0.8),
    ),
)

BEE = Template(
    name="bee",
    title="bee (top view, 10 nodes: head, antennae, thorax, wings, abdomen)",
    nodes=(
        "head",
        "antennaL",
        "antennaR",
        "thorax",
        "forewingL",
        "forewingR",
        "hindwingL",
        "hindwingR",
        "abdomen",
        "stinger",
    ),
    edges=(
        ("head", "antennaL"),
        ("head", "antennaR"),
        ("thorax", "head"),
        ("thorax", "forewingL"),
        ("thorax", "forewingR"),
        ("thorax", "hindwingL"),
        ("thorax", "hindwingR"),
        ("thorax", "abdomen"),
        ("abdomen", "stinger"),
    ),
    symmetries=(
        ("antennaL", "antennaR"),
        ("forewingL", "forewingR"),
        ("hindwingL", "hindwingR"),
    ),
    pose=(
        (0.0, -0.35),
        (-0.15, -0.55),
        (0.15, -0.55),
        (0.0, -0.1),
        (-0.35, 0.12),
        (0.35, 0.12),
        (-0.3, 0.3),
        (0.3, 0.3),
        (0.0, 0.25),
        (0.0, 0.5),
    ),
)

#: The built-in templates by name, in menu order.
TEMPLATES: dict[str, Template] = {t.name: t for t in (FLY, MOUSE, BEE)}


def template_names() -> list[str]:
    """Names of the built-in templates, in menu order."""
    return list(TEMPLATES)


def make_template(name: str) -> sio.Skeleton:
    """A new skeleton from the built-in template ``name``.

    Raises:
        ValueError: ``name`` is not a template (the message lists them).
    """
    template = TEMPLATES.get(name)
    if template is None:
        raise ValueError(
            f"skeleton template {name!r} is unknown; choose one of "
            f"{', '.join(TEMPLATES)}"
        )
    return template.skeleton()


def template_pose(skeleton: sio.Skeleton, length: float = 60.0) -> np.ndarray | None:
    """The template pose ``(n_nodes, 2)`` of a template's skeleton, centred.

    Matched by node names (a renamed or edited skeleton has none): ``length`` is
    the body length in pixels. None when no template has these nodes.
    """
    names = tuple(skeleton.node_names)
    for template in TEMPLATES.values():
        if template.nodes == names and len(template.pose) == len(names):
            pose = np.asarray(template.pose, dtype=np.float64) * length
            return pose - pose.mean(axis=0)
    return None
