"""A readable plain-text table of a :class:`PoseEvaluation` for the terminal."""

from __future__ import annotations

import math

from napari_sleap.evaluate.pose import PoseEvaluation


def _f(value: float, digits: int = 3) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def format_report(ev: PoseEvaluation, title: str = "") -> str:
    """Summary lines, then a per-node localization error table (pixels)."""
    c, s = ev.counts, ev.settings
    lines = []
    if title:
        lines.append(title)
    lines.append(
        f"matching: {s['matching']}{' (strict, COCO-style)' if s['strict'] else ''}"
        f"  OKS stddev {s['oks_stddev']}  reference: {s['reference']}"
    )
    lines.append(
        f"frames: {c['frames']} ({c['frames_without_predictions']} without "
        f"predictions)  instances: gt {c['gt_instances']}, predicted "
        f"{c['pred_instances']}, matched {c['matched']}"
    )
    lines.append(
        f"OKS mAP {_f(ev.oks_map)}  mAR {_f(ev.oks_mar)}  mean OKS {_f(ev.moks)}"
    )
    det = ev.detection
    lines.append(
        f"detection (OKS >= {det['oks_threshold']}): precision "
        f"{_f(det['precision'])}  recall {_f(det['recall'])}"
    )
    vis = ev.visibility
    lines.append(
        f"node visibility: precision {_f(vis['precision'])}  recall {_f(vis['recall'])}"
    )
    lines.append(
        "PCK  "
        + "  ".join(
            f"{int(t)}px {_f(v, 2)}"
            for t, v in zip(ev.pck_thresholds, ev.pck, strict=True)
        )
    )
    width = max([len("node"), len("all")] + [len(n) for n in ev.node_names])
    header = (
        f"{'node':<{width}}  {'n':>6}  {'mean':>7}  {'p50':>7}  {'p90':>7}  {'p95':>7}"
    )
    lines.append("")
    lines.append("localization error (px)")
    lines.append(header)
    lines.append("-" * len(header))
    rows = [*ev.error_per_node.items(), ("all", ev.error)]
    for i, (name, st) in enumerate(rows):
        if i == len(rows) - 1:
            lines.append("-" * len(header))
        lines.append(
            f"{name:<{width}}  {st['n']:>6}  {_f(st['mean'], 2):>7}  "
            f"{_f(st['p50'], 2):>7}  {_f(st['p90'], 2):>7}  {_f(st['p95'], 2):>7}"
        )
    return "\n".join(lines)
