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

The view functions take ``xp`` (``numpy`` or ``keras.ops``): the predictor's
:class:`TTARunner` and the portable engine's compiled top-down graph
(``portable.graphs.topdown_graph``) run the same code.
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


#: ``auto``: what ``napari-sleap predict`` and the Infer dock use unless told.
AUTO = "auto"
#: The mode ``auto`` picks for top-down models that can run in views. Four
#: turned views: on the fly clip's contact frames +0.03-0.08 OKS mAP over none
#: (4 centered models) for 2.35x the CPU in the portable engine; rotations need
#: no left/right pairs, so any skeleton takes them (docs/benchmarks.md, issue 15).
AUTO_TOP_DOWN = "rot90"


def resolve_mode(mode: str, pipeline: str, info: Any) -> str:
    """The named mode ``mode`` stands for with this pipeline's instance model.

    ``auto`` gives :data:`AUTO_TOP_DOWN` for top-down models at input scale 1.0
    and ``none`` for the rest (no error); any other name is kept as asked.
    """
    if mode != AUTO:
        return mode
    if pipeline.startswith("top-down") and float(info.input_scale) == 1.0:
        return AUTO_TOP_DOWN
    return "none"


def resolve_for_dirs(mode: str, model_dirs: Sequence[Any]) -> str:
    """:func:`resolve_mode` from the model folders' descriptions (no TensorFlow).

    Lets a run's settings be fixed before any model loads (the parts of a
    resumable run are keyed by them). Unreadable folders, or ones that form no
    pipeline, keep ``mode``: loading them will say why.
    """
    if mode != AUTO:
        return mode
    from napari_sleap.config.roles import pipeline_of
    from napari_sleap.infer.model_io import load_model_info

    try:
        infos = [load_model_info(d) for d in model_dirs]
    except Exception:  # unreadable description: loading the models will say why
        return mode
    pipeline = pipeline_of(sorted(i.role for i in infos))
    if pipeline is None:
        return mode
    instance = [i for i in infos if i.role != "centroid"][-1]
    return resolve_mode(mode, pipeline, instance)


def is_mirror(view: View) -> bool:
    """True when the view is a reflection (an odd number of flips/transposes)."""
    return sum(view) % 2 == 1


def _shifted_flip(x: Any, axis: int, shift: int, xp: Any) -> Any:
    """Mirror along ``axis`` then move ``shift`` pixels back (zeros enter)."""
    y = xp.flip(x, axis=axis)
    if shift:
        keep = [slice(None)] * len(x.shape)
        tail = list(keep)
        keep[axis] = slice(shift, None)
        tail[axis] = slice(0, shift)
        y = xp.concatenate([y[tuple(keep)], xp.zeros_like(y[tuple(tail)])], axis=axis)
    return y


def apply_view(images: Any, view: View, stride: int, xp: Any = np) -> Any:
    """The crops ``(n, S, S, C)`` as the model sees them in ``view``.

    ``xp``: ``numpy`` or ``keras.ops`` (the portable engine's compiled graph);
    both name the few functions used here alike.
    """
    transpose, flip_rows, flip_cols = view
    x = np.asarray(images) if xp is np else images
    if transpose:
        x = xp.swapaxes(x, 1, 2)
    if flip_cols:
        x = _shifted_flip(x, 2, stride - 1, xp)
    if flip_rows:
        x = _shifted_flip(x, 1, stride - 1, xp)
    return np.ascontiguousarray(x) if xp is np else x


def undo_view(
    maps: Any, view: View, lr_pairs: Sequence[tuple[int, int]] = (), xp: Any = np
) -> Any:
    """Output maps ``(n, h, w, K)`` of a view, back in the crop's own frame."""
    transpose, flip_rows, flip_cols = view
    y = maps
    if flip_rows:
        y = xp.flip(y, axis=1)
    if flip_cols:
        y = xp.flip(y, axis=2)
    if transpose:
        y = xp.swapaxes(y, 1, 2)
    if is_mirror(view) and lr_pairs:
        perm = np.arange(int(y.shape[-1]))
        for a, b in lr_pairs:
            perm[a], perm[b] = b, a
        y = xp.take(y, perm, axis=-1)
    return y


def stack_views(crops: Any, views: Sequence[View], stride: int, xp: Any = np) -> Any:
    """Every view of the crops, one after another along the batch axis."""
    return xp.concatenate([apply_view(crops, v, stride, xp) for v in views], axis=0)


def merge_views(
    out: dict[str, Any],
    views: Sequence[View],
    lr_pairs: Sequence[tuple[int, int]],
    xp: Any = np,
) -> dict[str, Any]:
    """Model outputs of :func:`stack_views` crops -> view-averaged outputs.

    ``confmaps`` are turned back and averaged (no ``offsets``: peaks are
    refined on the averaged maps); identity models' ``class_vectors`` averaged.
    """
    v = len(views)
    cms = out["confmaps"]
    n = int(cms.shape[0]) // v
    parts = xp.reshape(cms, (v, n, *(int(d) for d in cms.shape[1:])))
    back = [undo_view(parts[i], views[i], lr_pairs, xp) for i in range(v)]
    result = {"confmaps": xp.mean(xp.stack(back), axis=0)}
    if "class_vectors" in out:
        vec = out["class_vectors"]
        result["class_vectors"] = xp.mean(xp.reshape(vec, (v, n, -1)), axis=0)
    return result


def lr_pairs_of(info: Any) -> list[tuple[int, int]]:
    """The model's left/right node pairs, else ones guessed from node names."""
    from napari_sleap.nn.data.skeleton import propose_symmetries

    return list(info.symmetries) or propose_symmetries(list(info.node_names))


def views_of(mode: str) -> list[View]:
    """The views of a :data:`TTA_MODES` name (an unknown name raises)."""
    if mode not in TTA_MODES:
        raise ValueError(f"tta mode {mode!r}; allowed: {', '.join(TTA_MODES)}")
    return TTA_MODES[mode]


def check_views(
    info: Any, views: Sequence[View], lr_pairs: Sequence[tuple[int, int]]
) -> None:
    """Raise when a centered-instance model cannot be run in these views."""
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


#: Why a pipeline other than top-down cannot take ``--tta``, and the fix.
TOP_DOWN_ONLY = (
    "test-time augmentation works on top-down models (centroid + "
    "centered instance) only; predict these models without --tta"
)


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
        check_views(info, views, lr_pairs)
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
        out = self.runner(
            stack_views(crops, self.views, self.stride),
            pad_to=bucket(len(crops) * len(self.views)),
        )
        result = merge_views(out, self.views, self.lr_pairs)
        result["confmaps"] = result["confmaps"].astype(np.float32)
        return result


def use_tta(layer: Any, mode: str) -> None:
    """Swap a top-down layer's instance runner for a :class:`TTARunner`.

    Args:
        layer: a :class:`~napari_sleap.infer.layers.TopDownLayer`.
        mode: a key of :data:`TTA_MODES`.
    """
    from napari_sleap.infer.layers import TopDownLayer

    views = views_of(mode)
    if mode == "none":
        return
    if not isinstance(layer, TopDownLayer):
        raise ValueError(TOP_DOWN_ONLY)
    layer.instance_runner = TTARunner(
        layer.instance_runner, views, lr_pairs_of(layer.info)
    )
