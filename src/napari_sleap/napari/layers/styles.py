"""How the layers look, in one place: colors by node and by track, sizes, tails.

Small dataclasses with defaults, so widgets and tests share one source of truth
(and a test can ask which color a node or track should have on screen).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field

import numpy as np

RGBA = tuple[float, float, float, float]


def palette(n: int, *, saturation: float = 0.85, value: float = 1.0) -> np.ndarray:
    """``n`` well-separated opaque RGBA colors (float32, ``(n, 4)``).

    Hues step by the golden ratio so that neighbours (node 0 and 1, or track 0
    and 1) always contrast, whatever ``n`` is.
    """
    hues = (np.arange(n) * 0.618033988749895) % 1.0
    rgb = [colorsys.hsv_to_rgb(h, saturation, value) for h in hues]
    out = np.ones((n, 4), dtype=np.float32)
    if n:
        out[:, :3] = np.asarray(rgb, dtype=np.float32)
    return out


@dataclass(frozen=True)
class PointsStyle:
    """Look of the instances' Points layer.

    Attributes:
        size: Marker diameter in data pixels (default 8).
        border_width: Border width relative to the size (default 0.25).
        node_saturation: Saturation of the node palette (face colors).
        predicted_alpha: Face opacity of predicted (not user) points (default 0.6),
            so predictions read as suggestions next to user labels.
        hidden_alpha: Face opacity of nodes marked not visible (default 0.15):
            drawn as outlines, so they can still be clicked and shown again.
    """

    size: float = 8.0
    border_width: float = 0.25
    node_saturation: float = 0.85
    predicted_alpha: float = 0.6
    hidden_alpha: float = 0.15

    def node_colors(self, n_nodes: int) -> np.ndarray:
        """Face color of each node, ``(n_nodes, 4)``."""
        return palette(n_nodes, saturation=self.node_saturation)


@dataclass(frozen=True)
class TrackStyle:
    """Colors of identities: point borders, skeleton edges and the Tracks layer.

    Attributes:
        saturation: Saturation of the track palette (lower than nodes' so the
            two palettes stay apart).
        value: Brightness of the track palette.
        untracked: Color for instances without a track (light grey).
    """

    saturation: float = 0.55
    value: float = 0.95
    untracked: RGBA = (0.85, 0.85, 0.85, 1.0)

    def track_colors(self, n_tracks: int) -> np.ndarray:
        """Color of each track, ``(n_tracks, 4)``."""
        hues = palette(n_tracks, saturation=self.saturation, value=self.value)
        return hues

    def colors_for(self, track_index: np.ndarray, n_tracks: int) -> np.ndarray:
        """Per-item colors from track indices (``-1`` = untracked), ``(N, 4)``."""
        table = np.vstack([self.track_colors(n_tracks), np.asarray(self.untracked)])
        idx = np.where(track_index < 0, n_tracks, track_index)
        return table[idx].astype(np.float32)


@dataclass(frozen=True)
class EdgeStyle:
    """Skeleton edges drawn as a Vectors layer, colored by track.

    Attributes:
        width: Line width in screen pixels (default 2).
        opacity: Layer opacity (default 0.9).
    """

    width: float = 2.0
    opacity: float = 0.9


@dataclass(frozen=True)
class TracksStyle:
    """Tracks layer (trajectories of one node or the centroid).

    Attributes:
        tail_length: Frames of history drawn behind the current frame (default 60,
            two seconds at 30 fps).
        head_length: Frames drawn ahead (default 0).
        tail_width: Line width in screen pixels (default 6: seen over a busy frame).
        blending: napari blending (default translucent; napari's additive washes
            the tails out over a bright video).
    """

    tail_length: int = 60
    head_length: int = 0
    tail_width: float = 6.0
    blending: str = "translucent"


@dataclass(frozen=True)
class LayerStyle:
    """All layer looks together, as passed to the converters."""

    points: PointsStyle = field(default_factory=PointsStyle)
    tracks: TrackStyle = field(default_factory=TrackStyle)
    edges: EdgeStyle = field(default_factory=EdgeStyle)
    trajectories: TracksStyle = field(default_factory=TracksStyle)


DEFAULT_STYLE = LayerStyle()
