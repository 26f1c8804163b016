"""The device part of each pipeline as one ``keras.ops`` batch function.

Each builder returns ``graph(run, frames)`` for :class:`~.compiled.Compiled`:
uint8 ``(B, H, W, C)`` frames in, fixed-shape arrays out (``k`` instance or
peak slots, NaN / 0 for empty ones). Coordinates come out in frame pixels
(bottom-up: model-input pixels, for the host's grouping).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from napari_sleap.infer import tta
from napari_sleap.infer.layers.base import PeakParams
from napari_sleap.infer.ops.paf import PafParams
from napari_sleap.infer.portable import crops as C
from napari_sleap.infer.portable import peaks as P
from napari_sleap.infer.portable.prep import prepare, prepare_frames, to_float
from napari_sleap.infer.tta import View
from napari_sleap.nn.model_info import ModelInfo


def _stride(info: ModelInfo, head: str = "confmaps") -> float:
    return float(info.heads[head].output_stride)


def instance_points(
    out: dict, info: ModelInfo, params: PeakParams
) -> tuple[Any, Any, Any]:
    """Global peak per node in (unscaled) input pixels ``(S, N, 2)``, values, valid."""
    cms = out["confmaps"]
    stride = _stride(info)
    idx, vals, valid = P.global_peaks(cms, params.threshold)
    pts = P.refined_points(cms, idx, params.refinement, out.get("offsets"), stride)
    return pts[:, :, 0] * (stride / float(info.input_scale)), vals, valid


def single_graph(info: ModelInfo, params: PeakParams) -> Callable:
    """Single instance: one global peak per node per frame."""

    def graph(run: Callable, frames: Any) -> dict:
        from keras import ops

        out = run("model", prepare(to_float(frames), info))
        pts, vals, valid = instance_points(out, info, params)
        pts = ops.where(ops.expand_dims(valid, -1), pts, np.nan)
        scores = ops.where(valid, vals, 0.0)
        return {
            "points": ops.expand_dims(pts, 1),
            "point_scores": ops.expand_dims(scores, 1),
            "instance_scores": ops.sum(scores, axis=-1, keepdims=True),
        }

    return graph


def topdown_graph(
    centroid: ModelInfo,
    instance: ModelInfo,
    k: int,
    params: PeakParams,
    centroid_params: PeakParams,
    convention: str,
    fused: bool = True,
    views: Sequence[View] = (),
    lr_pairs: Sequence[tuple[int, int]] = (),
) -> Callable:
    """Centroids, ``k`` crops per frame, the centered-instance model, frame pixels.

    ``fused``: scale and crop the uint8 frames before casting to float (no
    float copy of whole frames; whole-pixel crops only), measured faster in
    bench/bench_portable_profile.py; False keeps the float-frame path.
    ``views``: test-time augmentation (``tta.TTA_MODES``): the crops run in
    every view in one model call, maps turned back (mirrors swap ``lr_pairs``)
    and averaged; none or only the identity: the plain graph.
    """
    size = int(instance.crop_size)
    views = list(views)
    stride = int(_stride(instance))

    def graph(run: Callable, frames: Any) -> dict:
        from keras import ops

        b = int(frames.shape[0])
        uint8 = fused and "int" in str(frames.dtype)
        x = frames if uint8 else to_float(frames)
        cin = prepare_frames(x, centroid) if uint8 else prepare(x, centroid)
        cout = run("centroid", cin)
        cms = cout["confmaps"][..., :1]
        offs = cout.get("offsets")
        cstride = _stride(centroid)
        idx, cvals, cvalid, count = P.local_peaks(cms, centroid_params.threshold, k)
        cpts = P.refined_points(
            cms, idx, centroid_params.refinement, offs, cstride
        )  # (B, 1, k, 2)
        centers = cpts[:, 0] * (cstride / float(centroid.input_scale))
        cvals, cvalid = cvals[:, 0], cvalid[:, 0]
        offsets = C.crop_offsets(centers, size, convention)
        if uint8 and convention == "pixel":
            crops = C.gather_crops_uint8(x, offsets, size)
        else:
            x = to_float(x) if uint8 else x
            crops = C.gather_crops(x, offsets, size, bilinear=convention == "center")
        iin = prepare(crops, instance)
        if len(views) > 1:
            out = run("instance", tta.stack_views(iin, views, stride, ops))
            iout = tta.merge_views(out, views, lr_pairs, ops)
        else:
            iout = run("instance", iin)
        pts, vals, valid = instance_points(iout, instance, params)
        n = int(pts.shape[1])
        pts = ops.reshape(pts, (b, k, n, 2)) + ops.expand_dims(offsets, 2)
        valid = ops.logical_and(
            ops.reshape(valid, (b, k, n)), ops.expand_dims(cvalid, -1)
        )
        res = {
            "points": ops.where(ops.expand_dims(valid, -1), pts, np.nan),
            "point_scores": ops.where(valid, ops.reshape(vals, (b, k, n)), 0.0),
            "instance_scores": ops.where(cvalid, cvals, np.nan),
            "counts": count[:, 0],
        }
        if "class_vectors" in iout:
            res["class_vectors"] = ops.reshape(iout["class_vectors"], (b, k, -1))
        return res

    return graph


def paf_scores(
    pts: Any,
    valid: Any,
    pafs: Any,
    edges: list[tuple[int, int]],
    paf_stride: float,
    max_edge_length: float,
    params: PafParams,
) -> tuple[Any, Any]:
    """Line-integral score of every src -> dst peak pair of every edge.

    Same sums as :func:`napari_sleap.infer.ops.paf.edge_scores`, for all edges
    and frames at once.

    Args:
        pts: ``(B, N, k, 2)`` peaks in model-input pixels.
        valid: ``(B, N, k)`` which peak slots hold a peak.
        pafs: ``(B, h, w, 2 * E)`` fields.
        edges: node index pairs in PAF channel order.
        paf_stride: input pixels per PAF pixel.
        max_edge_length: length beyond which the distance penalty starts.
        params: grouping knobs.

    Returns:
        scores ``(B, E, k, k)`` and valid ``(B, E, k, k)``.
    """
    from keras import ops

    src_i = np.array([a for a, _ in edges], np.int32)
    dst_i = np.array([b for _, b in edges], np.int32)
    src = ops.take(pts, src_i, axis=1)  # (B, E, k, 2)
    dst = ops.take(pts, dst_i, axis=1)
    delta = ops.expand_dims(dst, 2) - ops.expand_dims(src, 3)  # (B, E, k, k, 2)
    length = ops.sqrt(ops.sum(delta * delta, axis=-1))
    unit = delta / ops.expand_dims(ops.maximum(length, 1e-6), -1)
    t = ops.convert_to_tensor(np.linspace(0.0, 1.0, params.n_points).astype("f4"))
    t = ops.reshape(t, (1, 1, 1, 1, -1, 1))
    samples = ops.expand_dims(ops.expand_dims(src, 3), 4) + t * ops.expand_dims(
        delta, 4
    )  # (B, E, k, k, n, 2)
    grid = ops.cast(ops.round(samples / paf_stride), "int32")
    h, w = int(pafs.shape[1]), int(pafs.shape[2])
    cols = ops.clip(grid[..., 0], 0, w - 1)
    rows = ops.clip(grid[..., 1], 0, h - 1)
    b, e = int(pts.shape[0]), len(edges)
    flat_idx = ops.reshape(rows * w + cols, (b, e, -1))
    field = ops.reshape(ops.transpose(pafs, (0, 3, 1, 2)), (b, 2 * e, h * w))
    fx = ops.reshape(ops.take_along_axis(field[:, 0::2], flat_idx, -1), grid.shape[:-1])
    fy = ops.reshape(ops.take_along_axis(field[:, 1::2], flat_idx, -1), grid.shape[:-1])
    dots = fx * ops.expand_dims(unit[..., 0], -1) + fy * ops.expand_dims(
        unit[..., 1], -1
    )
    score = ops.mean(dots, axis=-1)
    penalty = ops.minimum(max_edge_length / ops.maximum(length, 1e-6) - 1, 0.0)
    score = score + params.dist_penalty_weight * penalty
    agree = ops.mean(ops.cast(dots > params.min_line_score, "float32"), axis=-1)
    ok = ops.logical_and(agree >= params.min_agreeing, score > 0)
    vs = ops.expand_dims(ops.take(valid, src_i, axis=1), 3)
    vd = ops.expand_dims(ops.take(valid, dst_i, axis=1), 2)
    return score, ops.logical_and(ok, ops.logical_and(vs, vd))


def bottomup_graph(
    info: ModelInfo,
    k: int,
    params: PeakParams,
    paf: PafParams,
    input_size: tuple[int, int],
) -> Callable:
    """Peaks of every node (``k`` slots) and PAF scores of every edge's pairs."""
    stride = _stride(info)
    edges = [tuple(e) for e in info.edges]

    def graph(run: Callable, frames: Any) -> dict:
        out = run("model", prepare(to_float(frames), info))
        cms = out["confmaps"]
        idx, vals, valid, count = P.local_peaks(cms, params.threshold, k)
        pts = (
            P.refined_points(cms, idx, params.refinement, out.get("offsets"), stride)
            * stride
        )
        res = {"peaks": pts, "peak_vals": vals, "peak_valid": valid, "counts": count}
        if edges and "pafs" in out:
            max_len = paf.max_edge_length_ratio * max(input_size)
            s, v = paf_scores(
                pts, valid, out["pafs"], edges, _stride(info, "pafs"), max_len, paf
            )
            res["edge_scores"], res["edge_valid"] = s, v
        if "class_maps" in out:
            res["class_maps"] = out["class_maps"]
        return res

    return graph
