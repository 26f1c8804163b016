"""The Tracks layer of an instances layer: follows every edit, holds a window.

Tracks rows ``(track, frame, y, x)`` are recomputed from the row store
(:meth:`~napari_sleap.napari.layers.store.RowStore.tracks_data`, array ops: ~0.1 s at
100,000 frames) :data:`DEBOUNCE_MS` after labeling or proofreading edits pause,
so a burst of edits (a drag's many steps, undo pressed repeatedly) costs one.
A long recording has hundreds of thousands of track rows, and
napari redraws all of them on every frame change (~0.2 s a step in software
OpenGL at 100,000 frames), so past :data:`WINDOW_MIN_ROWS` the layer holds only
the frames within :data:`CHUNK` of the current one and is refilled when the
slider leaves them.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_sleap.napari.layers.convert import META_KEY, layer_meta
from napari_sleap.napari.layers.styles import DEFAULT_STYLE

if TYPE_CHECKING:
    import napari
    from napari.layers import Points, Tracks

#: Past this many track rows the Tracks layer holds a window of frames.
WINDOW_MIN_ROWS = 10_000
#: Frames each side of the current one that a windowed Tracks layer holds.
CHUNK = 300
#: Least milliseconds between recomputations while a drag goes on.
DEBOUNCE_MS = 150
#: A jump out of the held window refills it this much later, so the new
#: frame's points draw first and scrubbing coalesces refills.
REFILL_MS = 40

_FOLLOWERS: weakref.WeakKeyDictionary[Any, TracksFollower] = weakref.WeakKeyDictionary()


class TracksFollower:
    """Keeps the Tracks layer linked to ``points`` in step with its row store.

    Args:
        viewer: The viewer holding both layers.
        points: The instances layer.
    """

    def __init__(self, viewer: napari.Viewer, points: Points) -> None:
        self.viewer = viewer
        self.points = points
        self.span: tuple[int, int] | None = None  # frames held; None: all
        self._timer: Any = None
        self._refill_timer: Any = None
        self._busy = False
        self._n_colors = -1  # tracks in the layer's colormap (-1: not set here)
        self._stale = False
        layer = self.layer()
        if layer is not None:
            self.data = np.asarray(layer.data)
            self.track = np.asarray(layer.properties["track_id"], dtype=np.int64)
            layer.events.visible.connect(self._on_visible)
            if self.windowed:
                self._fill()
        else:
            self.data, self.track = np.zeros((0, 4)), np.zeros(0, np.int64)
        viewer.dims.events.current_step.connect(self._on_step)

    @property
    def windowed(self) -> bool:
        """Whether the layer holds a window of frames rather than every row."""
        return len(self.data) > WINDOW_MIN_ROWS

    def layer(self) -> Tracks | None:
        """The Tracks layer sharing the instances layer's link (None: none yet)."""
        link = layer_meta(self.points).get("link")
        for layer in self.viewer.layers:
            meta = layer_meta(layer)
            if meta.get("role") == "tracks" and meta.get("link") == link:
                return layer
        return None

    def _frame(self) -> int:
        return int(self.viewer.dims.current_step[0])

    # ---------------------------------------------------------- updates

    def update(self) -> Tracks | None:
        """Recompute the tracks from the store and show them (now)."""
        if self._timer is not None:
            self._timer.stop()
        if self._refill_timer is not None:
            self._refill_timer.stop()
        store = layer_meta(self.points).get("store")
        if store is None:
            return None
        self.data, self.track = store.tracks_data()
        return self._fill()

    @property
    def pending(self) -> bool:
        """True while an update or a window refill is scheduled and not yet done."""
        return any(
            t is not None and t.isActive() for t in (self._timer, self._refill_timer)
        )

    def settle(self) -> None:
        """Run a scheduled update or window refill now."""
        if self._timer is not None and self._timer.isActive():
            self.update()
        if self._refill_timer is not None and self._refill_timer.isActive():
            self._refill_timer.stop()
            self._refill_if_outside()

    def schedule(self) -> None:
        """Update soon (coalesces the many steps of a drag)."""
        from qtpy.QtCore import QTimer

        if self._timer is None:
            self._timer = QTimer()
            self._timer.setSingleShot(True)
            self._timer.timeout.connect(self.update)
        if not self._timer.isActive():
            self._timer.start(DEBOUNCE_MS)

    def _on_step(self, event: Any = None) -> None:
        if self.span is None or not self.windowed or self._busy:
            return
        if self.points not in self.viewer.layers:  # closing: nothing to follow
            return
        layer = self.layer()
        if layer is None or not layer.visible:
            self._stale = True  # refilled when shown again
            return
        if self._outside():
            self._schedule_refill()

    def _outside(self) -> bool:
        """Whether the current frame's trail reaches past the held window."""
        if self.span is None:
            return False
        f = self._frame()
        tail = DEFAULT_STYLE.trajectories.tail_length
        head = DEFAULT_STYLE.trajectories.head_length
        lo, hi = self.span
        return f - tail < lo or f + head > hi

    def _schedule_refill(self) -> None:
        from qtpy.QtCore import QTimer

        if self._refill_timer is None:
            self._refill_timer = QTimer()
            self._refill_timer.setSingleShot(True)
            self._refill_timer.timeout.connect(self._refill_if_outside)
        self._refill_timer.start(REFILL_MS)  # restarts while scrubbing

    def _refill_if_outside(self) -> None:
        if self._busy or self.points not in self.viewer.layers:
            return
        layer = self.layer()
        if layer is not None and layer.visible and self._outside():
            self._fill()

    def _on_visible(self, event: Any = None) -> None:
        layer = self.layer()
        if self._stale and layer is not None and layer.visible and not self._busy:
            self._stale = False
            self._fill()

    def _fill(self) -> Tracks | None:
        """Put the rows (all, or the current window) into the layer.

        Setting the layer's data can move the slider's range (and step): the
        step event that causes is ignored while filling.
        """
        self._busy = True
        try:
            return self._fill_now()
        finally:
            self._busy = False

    def _fill_now(self) -> Tracks | None:
        data, track = self.data, self.track
        if self.windowed:
            f = self._frame()
            self.span = (f - CHUNK, f + CHUNK)
            keep = (data[:, 1] >= self.span[0]) & (data[:, 1] <= self.span[1])
            data, track = data[keep], track[keep]
        else:
            self.span = None
        return self._set(data, track)

    def _set(self, data: np.ndarray, track: np.ndarray) -> Tracks | None:
        from napari_sleap.napari.colormaps import tracks_colormap

        labels = layer_meta(self.points)["labels"]
        layer = self.layer()
        n_tracks = len(labels.tracks)
        names = np.asarray([t.name for t in labels.tracks] + [""], dtype=object)
        kwargs = tracks_colormap(
            {
                "properties": {"track_id": track, "track": names[track]},
                "metadata": {
                    META_KEY: {
                        "track_colors": DEFAULT_STYLE.tracks.track_colors(n_tracks)
                    }
                },
            }
        )
        if layer is None:
            if not len(data):
                return None
            layer = self._add_layer(data)
        if not len(data):
            layer.visible = False
            return layer
        if not layer.visible:
            layer.visible = True
        layer.color_by = "track_id"  # the old color column goes with the old data
        layer.data = data
        layer.properties = kwargs["properties"]
        if "colormaps_dict" in kwargs:
            if self._n_colors != n_tracks:  # a new colormap only for new tracks
                layer.colormaps_dict = kwargs["colormaps_dict"]
                self._n_colors = n_tracks
            layer.color_by = kwargs["color_by"]
        return layer

    def _add_layer(self, data: np.ndarray) -> Tracks:
        style = DEFAULT_STYLE.trajectories
        meta = layer_meta(self.points)
        layer = self.viewer.add_tracks(
            data,
            name=self.points.name.replace("instances", "tracks", 1),
            tail_length=style.tail_length,
            head_length=style.head_length,
            tail_width=style.tail_width,
            blending=style.blending,
            metadata={
                META_KEY: {
                    "role": "tracks",
                    "link": meta.get("link"),
                    "video_index": meta.get("video_index", 0),
                }
            },
        )
        layers = self.viewer.layers
        layers.move(layers.index(layer), layers.index(self.points))  # points on top
        layer.events.visible.connect(self._on_visible)
        return layer

    def disconnect(self) -> None:
        """Stop following the slider."""
        self.viewer.dims.events.current_step.disconnect(self._on_step)
        if self._timer is not None:
            self._timer.stop()
        if self._refill_timer is not None:
            self._refill_timer.stop()


def follow_tracks(viewer: napari.Viewer, points: Points) -> TracksFollower:
    """The Tracks follower of an instances layer (made once per layer)."""
    from napari_sleap.napari.compat import unproxied

    viewer, points = unproxied(viewer), unproxied(points)
    follower = _FOLLOWERS.get(points)
    if follower is None or follower.viewer is not viewer:
        if follower is not None:
            follower.disconnect()
        follower = TracksFollower(viewer, points)
        _FOLLOWERS[points] = follower
    return follower


def follower_for(points: Any) -> TracksFollower | None:
    """The follower of an instances layer (None when it is in no viewer)."""
    return _FOLLOWERS.get(points)


def unfollow(points: Any) -> None:
    """Forget the follower of a layer that left the viewer."""
    follower = _FOLLOWERS.pop(points, None)
    if follower is not None:
        follower.disconnect()
