"""Test-time augmentation of the centered-instance stage: flips and rotations.

Each crop is also run mirrored and/or turned by multiples of 90 degrees; the
confidence maps are turned back into the crop's frame (a mirror also swaps
the left/right channels, since a mirrored left wing looks like a right one)
and averaged before peaks are found. Where animals touch, one view can
mistake the other animal's leg for its own while the rest do not.

The model's output pixel ``k`` is input pixel ``k * stride`` (see
``ops.peaks.grid_to_image``), so a plain mirror of an ``S``-pixel crop would
put output pixel ``k`` at input ``S - 1 - k * stride``, between two output
pixels. Shifting the mirrored crop by ``stride - 1`` pixels makes the map of
the mirrored crop exactly the mirrored map, so no resampling is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: A view: (transpose, flip rows, flip columns), applied in that order.
View = tuple[bool, bool, bool]

IDENTITY: View = (False, False, False)
MIRROR: View = (False, False, True)
ROT90: View = (True, False, True)
ROT180: View = (False, True, True)
ROT270: View = (True, True, False)

#: Named sets of views (the identity always first).
TTA_MODES: dict[str, list[View]] = {
    "none": [IDENTITY],
    "flip": [IDENTITY, MIRROR],
    "rot180": [IDENTITY, ROT180],
    "rot90": [IDENTITY, ROT90, ROT180, ROT270],
    "flip-rot90": [IDENTITY, ROT90, ROT180, ROT270]
    + [(t, fy, not fx) for t, fy, fx in (IDENTITY, ROT90, ROT180, ROT270)],
}


def is_mirror(view: View) -> bool:
    """True when the view is a reflection (an odd number of flips/transposes)."""
    return sum(view) % 2 == 1


def _shifted_flip(x: np.ndarray, axis: int, shift: int) -> np.ndarray:
    """Mirror along ``axis`` then move ``shift`` pixels back (zeros enter)."""
    y = np.flip(x, axis=axis)
    if shift:
        y = np.roll(y, -shift, axis=axis)
        idx = [slice(None)] * y.ndim
        idx[axis] = slice(y.shape[axis] - shift, None)
        y[tuple(idx)] = 0
    return y


def apply_view(images: np.ndarray, view: View, stride: int) -> np.ndarray:
    """The crops ``(n, S, S, C)`` as the model sees them in ``view``."""
    transpose, flip_rows, flip_cols = view
    x = np.asarray(images)
    if transpose:
        x = np.swapaxes(x, 1, 2)
    if flip_cols:
        x = _shifted_flip(x, 2, stride - 1)
    if flip_rows:
        x = _shifted_flip(x, 1, stride - 1)
    return np.ascontiguousarray(x)


def undo_view(
    maps: np.ndarray, view: View, lr_pairs: Sequence[tuple[int, int]] = ()
) -> np.ndarray:
    """Output maps ``(n, h, w, K)`` of a view, back in the crop's own frame."""
    transpose, flip_rows, flip_cols = view
    y = maps
    if flip_rows:
        y = np.flip(y, axis=1)
    if flip_cols:
        y = np.flip(y, axis=2)
    if transpose:
        y = np.swapaxes(y, 1, 2)
    if is_mirror(view) and lr_pairs:
        perm = np.arange(y.shape[-1])
        for a, b in lr_pairs:
            perm[a], perm[b] = b, a
        y = y[..., perm]
    return y


def _pad_to(x: np.ndarray, multiple: int) -> np.ndarray:
    h, w = x.shape[1:3]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = np.pad(x, [(0, 0), (0, ph), (0, pw), (0, 0)])
    return x


class TTARunner:
    """Wraps a centered-instance :class:`~napari_sleap.infer.engine.Runner`.

    Called like the runner; returns the view-averaged ``confmaps`` (no
    ``offsets``: peaks are refined on the averaged maps), and class vectors
    averaged over views for identity models.

    Args:
        runner: the instance model's runner.
        views: the views to average (``TTA_MODES[...]``).
        lr_pairs: left/right channel pairs swapped after a mirrored view.
    """

    def __init__(
        self, runner: Any, views: Sequence[View], lr_pairs: Sequence[tuple[int, int]]
    ) -> None:
        info = runner.info
        if float(info.input_scale) != 1.0:
            raise ValueError(
                "test-time augmentation needs a centered-instance model with "
                f"input_scale 1.0; this one has {info.input_scale}. Predict "
                "without --tta"
            )
        if any(is_mirror(v) for v in views) and not lr_pairs:
            raise ValueError(
                "mirrored views need left/right node pairs and the skeleton has "
                f"none ({', '.join(info.node_names)}); use --tta rot90 or rot180"
            )
        self.runner = runner
        self.info = info
        self.views = list(views)
        self.lr_pairs = list(lr_pairs)
        self.stride = int(info.heads["confmaps"].output_stride)
        self.max_stride = int(info.max_stride)

    def __call__(self, x: Any, pad_to: int | None = None) -> dict[str, np.ndarray]:
        """View-averaged outputs of a batch of crops ``(n, S, S, C)``."""
        from napari_sleap.infer.engine import bucket

        crops = np.asarray(x, dtype=np.float32)
        n = len(crops)
        if n == 0:
            return self.runner(crops, pad_to=pad_to)
        crops = _pad_to(crops, self.max_stride)
        batch = np.concatenate([apply_view(crops, v, self.stride) for v in self.views])
        out = self.runner(batch, pad_to=bucket(len(batch)))
        cms = out["confmaps"].reshape(len(self.views), n, *out["confmaps"].shape[1:])
        mean = np.mean(
            [
                undo_view(c, v, self.lr_pairs)
                for c, v in zip(cms, self.views, strict=True)
            ],
            axis=0,
        )
        result = {"confmaps": mean.astype(np.float32)}
        if "class_vectors" in out:
            vec = out["class_vectors"]
            result["class_vectors"] = vec.reshape(len(self.views), n, -1).mean(axis=0)
        return result


def use_tta(layer: Any, mode: str) -> None:
    """Swap a top-down layer's instance runner for a :class:`TTARunner`.

    Args:
        layer: a :class:`~napari_sleap.infer.layers.TopDownLayer`.
        mode: a key of :data:`TTA_MODES`.
    """
    from napari_sleap.infer.layers import TopDownLayer
    from napari_sleap.nn.data.skeleton import propose_symmetries

    if mode not in TTA_MODES:
        raise ValueError(f"tta mode {mode!r}; allowed: {', '.join(TTA_MODES)}")
    if mode == "none":
        return
    if not isinstance(layer, TopDownLayer):
        raise ValueError(
            "test-time augmentation works on top-down models (centroid + "
            "centered instance) only; predict these models without --tta"
        )
    info = layer.info
    pairs = list(info.symmetries) or propose_symmetries(list(info.node_names))
    layer.instance_runner = TTARunner(layer.instance_runner, TTA_MODES[mode], pairs)
