"""Random full-resolution training patches around the animals (full-frame models).

Bottom-up models that see the whole frame downscaled spend most pixels on empty
arena and lose the detail of thin parts (fly legs). Training instead on square
patches of the frame at full resolution, each holding at least one animal,
spends every step on animals; the network is fully convolutional, so it still
predicts on the whole frame. A patch is centred near the centre of a randomly
chosen animal, shifted by up to a quarter of its side, so the animal (and its
neighbour when they touch) lies inside it.
"""

from __future__ import annotations

import numpy as np

from napari_sleap.nn.data.confmaps import instance_centers
from napari_sleap.nn.data.crops import pad_to_stride, scaled_size

#: Largest shift of the patch centre from the chosen animal, as a share of the side.
JITTER = 0.25


def patch_input_side(side: int, input_scale: float, max_stride: int) -> int:
    """Model-input side of a ``side``-px patch: scaled, padded to the stride."""
    return pad_to_stride(scaled_size(side, input_scale), max_stride)


def patch_center(
    points: np.ndarray,
    side: float,
    anchor: int | None,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """Frame (x, y) centre of a patch of ``side`` frame px around one animal.

    Args:
        points: ``(n_instances, n_nodes, 2)`` the frame's animals; NaN = missing.
        side: patch side in frame pixels.
        anchor: node index the animal is centred on; None (or where it is
            missing) the bounding-box centre of its visible nodes.
        rng: picks the animal and the shift; None takes the first animal, unshifted.

    Raises:
        ValueError: no animal has a visible node.
    """
    centers = instance_centers(np.asarray(points, np.float64), anchor)
    ok = np.flatnonzero(np.isfinite(centers).all(axis=1))
    if ok.size == 0:
        raise ValueError("no animal with a visible node to centre a patch on")
    if rng is None:
        return centers[ok[0]].copy()
    center = centers[int(rng.choice(ok))]
    return center + rng.uniform(-JITTER, JITTER, 2) * side
