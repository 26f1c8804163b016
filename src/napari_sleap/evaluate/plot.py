"""Per-node localization error chart as a PNG, drawn with Pillow.

Pillow is already installed with the imaging stack, so the chart needs no
plotting library: one row per node, a bar from the median to the 90th
percentile, a whisker to the 95th and a dot at the mean.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from napari_sleap.evaluate.pose import PoseEvaluation
from napari_sleap.io.atomic import atomic_path

_BAR = (70, 130, 180)
_WHISKER = (120, 120, 120)
_MEAN = (200, 60, 40)
_INK = (30, 30, 30)
_GRID = (225, 225, 225)


def _nice_max(value: float) -> float:
    """Round an axis maximum up to 1, 2 or 5 times a power of ten."""
    if not value or not math.isfinite(value) or value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def plot_node_errors(
    ev: PoseEvaluation, path: str | os.PathLike, title: str = ""
) -> Path:
    """Write a per-node error chart (p50-p90 bar, p95 whisker, mean dot) to PNG.

    Args:
        ev: The evaluation to draw.
        path: Output ``.png``; written beside then renamed (atomic).
        title: Optional first line above the chart.

    Returns:
        The written path.
    """
    from PIL import Image, ImageDraw, ImageFont

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"--plot {path}: the chart is a PNG; name it *.png")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"--plot {path}: folder {path.parent} does not exist")
    rows = [*ev.error_per_node.items(), ("all", ev.error)]
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=12)
    label_w = max(int(font.getlength(name)) for name, _ in rows) + 16
    row_h, top, plot_w, right = 24, 56, 560, 30
    width = label_w + plot_w + right
    height = top + row_h * len(rows) + 60
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)

    finite = [s["p95"] for _, s in rows if math.isfinite(s["p95"])]
    xmax = _nice_max(max(finite) if finite else 1.0)

    def x_of(value: float) -> float:
        return label_w + plot_w * min(value, xmax) / xmax

    head = title or "Localization error per node"
    draw.text((10, 8), head, fill=_INK, font=font)
    legend = "bar: median to p90   whisker: to p95   dot: mean   (pixels)"
    draw.text((10, 30), legend, fill=_WHISKER, font=small)
    bottom = top + row_h * len(rows)
    for k in range(6):
        value = xmax * k / 5
        x = x_of(value)
        draw.line([(x, top - 4), (x, bottom)], fill=_GRID)
        draw.text((x - 8, bottom + 6), f"{value:g}", fill=_INK, font=small)
    draw.text(
        (label_w + plot_w // 2 - 60, bottom + 26), "error (px)", font=font, fill=_INK
    )
    for i, (name, st) in enumerate(rows):
        y = top + i * row_h + row_h // 2
        draw.text((8, y - 8), name, fill=_INK, font=font)
        if not math.isfinite(st["mean"]):
            draw.text(
                (label_w + 4, y - 8), "no matched points", fill=_WHISKER, font=small
            )
            continue
        draw.line([(x_of(st["p90"]), y), (x_of(st["p95"]), y)], fill=_WHISKER, width=2)
        draw.line(
            [(x_of(st["p95"]), y - 5), (x_of(st["p95"]), y + 5)], fill=_WHISKER, width=2
        )
        draw.rectangle(
            [
                (x_of(st["p50"]), y - 6),
                (max(x_of(st["p90"]), x_of(st["p50"]) + 1), y + 6),
            ],
            fill=_BAR,
        )
        mx = x_of(st["mean"])
        draw.ellipse([(mx - 4, y - 4), (mx + 4, y + 4)], fill=_MEAN)
    if len(rows) > 1:
        ysep = top + (len(rows) - 1) * row_h
        draw.line([(4, ysep), (width - 4, ysep)], fill=_WHISKER)

    with atomic_path(path, suffix=".png") as tmp:
        img.save(tmp, format="PNG")
    return path
