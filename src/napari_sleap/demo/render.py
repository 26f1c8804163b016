"""Draw poses and tracks over video frames as pictures (OpenCV; no napari).

Used by ``make demo`` for its picture of tracked poses and meant for video export:
:func:`pose_table` flattens a Labels once, :func:`render_frame` draws one frame from it
(skeletons colored by track, trails of each track's centroid, track names),
:func:`render_montage` tiles several frames, :func:`save_png` writes atomically. Colors
come from :mod:`napari_sleap.napari.layers.styles`, so a picture matches what the viewer
shows. Coordinates follow SLEAP: pixel ``(row, col)`` has its centre at ``(x=col,
y=row)``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import sleap_io as sio

from napari_sleap.io.atomic import atomic_path
from napari_sleap.napari.layers.styles import TrackStyle

#: Sub-pixel bits for OpenCV drawing (coordinates are multiplied by 2**SHIFT).
SHIFT = 4


@dataclass(frozen=True)
class RenderStyle:
    """How pictures of poses look.

    Attributes:
        scale: Output pixels per frame pixel (2 draws a 384-px frame at 768 px).
        node_radius: Node disc radius in output pixels.
        edge_width: Skeleton line width in output pixels.
        trail_length: Frames of centroid history drawn behind each animal; 0
            draws none.
        trail_width: Trail line width in output pixels.
        names: Write each track's name beside its animal.
        tracks: Track palette (shared with the napari layers).
    """

    scale: float = 2.0
    node_radius: int = 4
    edge_width: int = 2
    trail_length: int = 30
    trail_width: int = 2
    names: bool = True
    tracks: TrackStyle = field(default_factory=TrackStyle)


@dataclass
class PoseTable:
    """Every instance of one video as arrays, sorted by frame.

    Attributes:
        frames: Frame index of each instance, ``(n,)`` ascending.
        points: Node coordinates ``(n, nodes, 2)`` as (x, y); NaN where missing.
        track: Index into ``track_names`` per instance, -1 when untracked.
        track_names: Names of the Labels' tracks, in their order.
        edges: Skeleton edges as node index pairs.
    """

    frames: np.ndarray
    points: np.ndarray
    track: np.ndarray
    track_names: list[str]
    edges: list[tuple[int, int]]

    def rows(self, start: int, stop: int) -> slice:
        """Rows of frames ``start <= frame < stop``."""
        lo, hi = np.searchsorted(self.frames, [start, stop])
        return slice(int(lo), int(hi))


def pose_table(labels: sio.Labels, video: sio.Video | None = None) -> PoseTable:
    """The instances of ``video`` (default: the first) as a :class:`PoseTable`."""
    if not labels.skeletons:
        raise ValueError("the labels have no skeleton: there is nothing to draw")
    skeleton = labels.skeletons[0]
    n_nodes = len(skeleton.nodes)
    if video is None and labels.videos:
        video = labels.videos[0]
    track_index = {id(t): i for i, t in enumerate(labels.tracks)}
    frames, points, track = [], [], []
    for lf in labels.labeled_frames:
        if video is not None and lf.video is not video:
            continue
        for inst in lf.instances:
            frames.append(lf.frame_idx)
            points.append(inst.numpy()[:, :2])
            track.append(track_index.get(id(inst.track), -1) if inst.track else -1)
    order = np.argsort(np.asarray(frames, np.int64), kind="stable")
    return PoseTable(
        frames=np.asarray(frames, np.int64)[order],
        points=np.asarray(points, np.float64).reshape(-1, n_nodes, 2)[order],
        track=np.asarray(track, np.int64)[order],
        track_names=[t.name for t in labels.tracks],
        edges=[tuple(int(i) for i in e) for e in skeleton.edge_inds],
    )


def _rgb(image: np.ndarray) -> np.ndarray:
    """A frame as contiguous uint8 RGB ``(h, w, 3)`` (gray is repeated)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] not in (3, 4):
        raise ValueError(
            f"frame of shape {image.shape}: expected (h, w), (h, w, 1) or (h, w, 3)"
        )
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image[..., :3])


def _px(xy: np.ndarray, scale: float) -> tuple[int, int]:
    """Frame (x, y) to fixed-point output coordinates for OpenCV's ``shift``."""
    out = ((np.asarray(xy, np.float64) + 0.5) * scale - 0.5) * (1 << SHIFT)
    return int(round(out[0])), int(round(out[1]))


def _color(colors: np.ndarray, track: int) -> tuple[int, int, int]:
    rgba = colors[track] if track >= 0 else colors[-1]
    return tuple(int(round(255 * c)) for c in rgba[:3])


def draw_poses(
    image: np.ndarray,
    points: np.ndarray,
    edges: Sequence[tuple[int, int]],
    colors: Sequence[tuple[int, int, int]],
    *,
    scale: float = 1.0,
    node_radius: int = 4,
    edge_width: int = 2,
) -> np.ndarray:
    """Draw skeletons onto ``image`` (already at output size), in place.

    Args:
        image: uint8 RGB output image, ``scale`` times the frame size.
        points: ``(instances, nodes, 2)`` frame coordinates (x, y); NaN skips a
            node and its edges.
        edges: Node index pairs to join.
        colors: One RGB color per instance.
        scale: Output pixels per frame pixel.
        node_radius: Node disc radius, output pixels.
        edge_width: Line width, output pixels.

    Returns:
        ``image``.
    """
    if not len(colors):
        return image
    points = np.asarray(points, np.float64).reshape(len(colors), -1, 2)
    for pose, color in zip(points, colors, strict=True):
        ok = np.isfinite(pose).all(axis=1)
        for a, b in edges:
            if ok[a] and ok[b]:
                cv2.line(
                    image,
                    _px(pose[a], scale),
                    _px(pose[b], scale),
                    color,
                    edge_width,
                    cv2.LINE_AA,
                    SHIFT,
                )
        for node in np.flatnonzero(ok):
            centre = _px(pose[node], scale)
            # OpenCV shifts the radius too: give it in fixed point as well.
            for radius, col in ((node_radius + 1, (0, 0, 0)), (node_radius, color)):
                cv2.circle(image, centre, radius << SHIFT, col, -1, cv2.LINE_AA, SHIFT)
    return image


def _trail(table: PoseTable, track: int, frame: int, length: int) -> np.ndarray:
    """Centroids ``(k, 2)`` of ``track`` over the ``length`` frames up to ``frame``."""
    sl = table.rows(frame - length, frame + 1)
    mine = table.track[sl] == track
    pts = table.points[sl][mine]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN poses
        centres = np.nanmean(pts, axis=1)
    return centres[np.isfinite(centres).all(axis=1)]


def render_frame(
    table: PoseTable,
    frame: int,
    image: np.ndarray,
    style: RenderStyle | None = None,
    region: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Picture of one frame: the image scaled up, trails, skeletons and names.

    Args:
        table: The poses (see :func:`pose_table`).
        frame: Frame index to draw.
        image: The video frame, ``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)``.
        style: Sizes and colors; default :class:`RenderStyle`.
        region: Draw only frame pixels ``(x0, y0, x1, y1)`` (end exclusive), to
            zoom on the animals; None draws the whole frame.

    Returns:
        uint8 RGB ``(round(h * scale), round(w * scale), 3)`` of the region.
    """
    style = style or RenderStyle()
    rgb = _rgb(image)
    offset = np.zeros(2)
    if region is not None:
        x0, y0, x1, y1 = (int(v) for v in region)
        if not (0 <= x0 < x1 <= rgb.shape[1] and 0 <= y0 < y1 <= rgb.shape[0]):
            raise ValueError(
                f"region {region}: must lie inside the {rgb.shape[1]}x"
                f"{rgb.shape[0]} frame as (x0, y0, x1, y1) with x0 < x1, y0 < y1"
            )
        rgb = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        offset = np.array([x0, y0], np.float64)
    h, w = rgb.shape[:2]
    size = (int(round(w * style.scale)), int(round(h * style.scale)))
    out = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
    n_tracks = len(table.track_names)
    colors = np.vstack(
        [style.tracks.track_colors(n_tracks), np.asarray(style.tracks.untracked)]
    )
    sl = table.rows(frame, frame + 1)
    tracks = table.track[sl]
    if style.trail_length > 0:
        for t in sorted({int(t) for t in tracks if t >= 0}):
            trail = _trail(table, t, frame, style.trail_length) - offset
            if len(trail) > 1:
                pts = np.array([_px(p, style.scale) for p in trail], np.int32)
                cv2.polylines(
                    out,
                    [pts.reshape(-1, 1, 2)],
                    False,
                    _color(colors, t),
                    style.trail_width,
                    cv2.LINE_AA,
                    SHIFT,
                )
    inst_colors = [_color(colors, int(t)) for t in tracks]
    poses = table.points[sl] - offset
    draw_poses(
        out,
        poses,
        table.edges,
        inst_colors,
        scale=style.scale,
        node_radius=style.node_radius,
        edge_width=style.edge_width,
    )
    if style.names:
        for pose, t, color in zip(poses, tracks, inst_colors, strict=True):
            ok = np.isfinite(pose).all(axis=1)
            if t < 0 or not ok.any():
                continue
            x, y = pose[ok].max(axis=0) * style.scale
            _text(out, table.track_names[t], (int(x) + 6, int(y) + 6), color)
    return out


def _text(
    image: np.ndarray,
    text: str,
    origin: tuple[int, int],
    color: tuple[int, int, int],
    size: float = 0.6,
) -> None:
    """Write readable text (dark outline under the color), clipped to the image."""
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, 1)
    x = min(max(origin[0], 2), image.shape[1] - tw - 2)
    y = min(max(origin[1], th + 2), image.shape[0] - 3)
    for thick, col in ((4, (0, 0, 0)), (1, color)):
        cv2.putText(
            image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, size, col, thick, cv2.LINE_AA
        )


def render_montage(
    table: PoseTable,
    frames: Sequence[int],
    images: Sequence[np.ndarray],
    *,
    columns: int = 2,
    style: RenderStyle | None = None,
    titles: Sequence[str] | None = None,
    region: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Several frames side by side (row-major grid), each titled.

    Args:
        table: The poses.
        frames: Frame indices to draw.
        images: The video frame of each, same size.
        columns: Tiles per row.
        style: Sizes and colors.
        titles: Text in each tile's corner; default ``frame N``.
        region: The same frame region for every tile (see :func:`render_frame`).

    Returns:
        uint8 RGB grid; empty tiles are black.
    """
    if len(frames) != len(images) or not frames:
        raise ValueError(
            f"render_montage: {len(frames)} frames and {len(images)} images; give "
            "one image per frame, at least one"
        )
    tiles = [
        render_frame(table, f, im, style, region)
        for f, im in zip(frames, images, strict=True)
    ]
    titles = list(titles) if titles is not None else [f"frame {f}" for f in frames]
    th, tw = tiles[0].shape[:2]
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    gap = 4
    grid = np.zeros(
        (rows * th + (rows - 1) * gap, columns * tw + (columns - 1) * gap, 3)
    )
    grid = grid.astype(np.uint8)
    for k, (tile, title) in enumerate(zip(tiles, titles, strict=True)):
        if tile.shape[:2] != (th, tw):
            raise ValueError(
                f"frame {frames[k]}: image size {tile.shape[:2]} differs from the "
                f"first frame's {(th, tw)}; frames of one montage share a size"
            )
        _text(tile, title, (8, 24), (255, 255, 255), size=0.7)
        r, c = divmod(k, columns)
        grid[
            r * (th + gap) : r * (th + gap) + th, c * (tw + gap) : c * (tw + gap) + tw
        ] = tile
    return grid


def save_png(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write an RGB image as PNG beside the target, then rename over it."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{path}: pictures are written as PNG; name it *.png")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: folder {path.parent} does not exist")
    with atomic_path(path, suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(_rgb(image), cv2.COLOR_RGB2BGR)):
            raise OSError(f"{path}: OpenCV could not write the PNG")
    return path
