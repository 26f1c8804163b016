"""Keep an instances Points layer in step with its Labels, editing rows in place.

The Labels are the truth; edits are :mod:`napari_sleap.labeling` commands on an
undo stack. After each command only the rows of the instances it touched change:

- moves, visibility, tracks and accepted predictions rewrite those rows in place;
- deleted instances leave their rows as hidden *spare* rows, and new instances
  take spare rows, so the layer never rebuilds or reorders. When no spare rows are
  left the layer grows by a chunk at once (amortised).

``metadata['table']`` stays in :func:`napari_sleap.convert.flatten` order with the
``instance`` feature of each row pointing into it, so the npe2 writer and the edge
link read the layer as before. Skeleton edges are updated for the touched
instances only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sleap_io as sio

from napari_sleap.convert import META_KEY, InstanceTable
from napari_sleap.labeling import LabelCommand, SetPoints, UndoStack
from napari_sleap.labeling.commands import used_predictions
from napari_sleap.styles import DEFAULT_STYLE, LayerStyle
from napari_sleap.track.proofread import Command
from napari_sleap.widgets.layer_arrays import (
    append_spare_rows,
    patch_link_index,
    set_symbols,
    symbols_for,
)

if TYPE_CHECKING:
    from napari.layers import Points, Vectors

#: Marker of predicted (not yet accepted) points: hollow rings.
PREDICTED_SYMBOL = "ring"
USER_SYMBOL = "disc"


@dataclass
class _Block:
    """Rows of one labeled frame, as they should be now."""

    instances: list[sio.Instance]
    track: np.ndarray
    predicted: np.ndarray
    skeleton: np.ndarray
    n_nodes: np.ndarray
    xy: np.ndarray  # (R, 2) display (finite) coordinates
    visible: np.ndarray
    shown: np.ndarray  # visible, and not a prediction already accepted
    score: np.ndarray
    node: np.ndarray
    node_name: np.ndarray


class InstancesSync:
    """Binds one instances Points layer (and its edges) to the Labels it shows.

    Args:
        points: The Points layer made by :func:`napari_sleap.convert.labels_to_points`.
        edges: Its Vectors layer of skeleton edges (optional).
        stack: Undo stack shared with the other panels (default: a new one).
        style: Layer looks.
        dims: The viewer's dims, so that an edge link made here draws only the
            current frame's edges (as the viewer's own link does).
    """

    def __init__(
        self,
        points: Points,
        edges: Vectors | None = None,
        stack: UndoStack | None = None,
        style: LayerStyle = DEFAULT_STYLE,
        dims: Any = None,
    ) -> None:
        meta = points.metadata[META_KEY]
        self.layer = points
        self.edges = edges
        self.labels: sio.Labels = meta["labels"]
        self.video: sio.Video = self.labels.videos[meta["video_index"]]
        self.stack = stack or UndoStack()
        self.style = style
        self.dims = dims
        self._syncing = False
        self._open_move: SetPoints | None = None
        #: Called after every change of the Labels (commands and drag steps).
        self.edited: list = []
        #: Called with a message for the user (e.g. a raw napari edit was undone).
        self.notices: list = []
        self._removing: list[tuple[sio.Instance, int]] = []
        self._reindex()
        pred = np.asarray(points.features["predicted"], dtype=bool)
        if pred.any():
            set_symbols(points, symbols_for(pred))
        self.stack.listeners.append(self._on_command)
        points.events.data.connect(self._on_layer_data)
        points.mouse_drag_callbacks.append(self._end_drag_on_release)

    # ------------------------------------------------------------ bookkeeping

    @property
    def table(self) -> InstanceTable:
        """The layer's instance table (kept current by every edit)."""
        return self.layer.metadata[META_KEY]["table"]

    def _reindex(self) -> None:
        """Frame blocks, instance objects and row starts from a fresh table."""
        tab = self.table
        frames = self.labels.labeled_frames
        self.inst_objs: list[sio.Instance] = [
            frames[li].instances[p] for li, p in zip(tab.lf, tab.pos, strict=True)
        ]
        self.row_start = np.array(tab.start, dtype=np.int64)
        change = np.ones(len(tab), dtype=bool)
        change[1:] = tab.lf[1:] != tab.lf[:-1]
        firsts = np.nonzero(change)[0]
        self.blocks: list[sio.LabeledFrame] = [frames[tab.lf[i]] for i in firsts]
        self.block_ninst = np.diff(np.append(firsts, len(tab))).astype(np.int64)
        self._block_of = {id(lf): k for k, lf in enumerate(self.blocks)}
        self._inst_frame = {
            id(inst): frames[li]
            for inst, li in zip(self.inst_objs, tab.lf, strict=True)
        }
        self.free: dict[int, list[int]] = {}  # spare row runs by length

    def instance_at_row(self, row: int) -> sio.Instance:
        """The instance a layer row belongs to."""
        i = int(self.layer.features["instance"].iloc[row])
        if i < 0:
            raise ValueError(f"row {row} is a spare row of no instance")
        return self.inst_objs[i]

    def instance_rows(self, inst: sio.Instance) -> np.ndarray:
        """Layer rows of an instance's nodes."""
        i = self.instance_index(inst)
        return self.row_start[i] + np.arange(int(self.table.n_nodes[i]))

    def instance_index(self, inst: sio.Instance) -> int:
        """Position of ``inst`` in the table (ValueError if not shown)."""
        lf = self._inst_frame.get(id(inst))
        if lf is None or id(lf) not in self._block_of:
            raise ValueError("the instance is not in this layer")
        i0, i1 = self._inst_range(self._block_of[id(lf)])
        for i in range(i0, i1):
            if self.inst_objs[i] is inst:
                return i
        raise ValueError("the instance is not in this layer")

    def frame_instances(self, frame_idx: int) -> list[sio.Instance]:
        """Instances shown on ``frame_idx``."""
        idx = np.nonzero(self.table.frame == frame_idx)[0]
        return [self.inst_objs[i] for i in idx]

    def _inst_range(self, k: int) -> tuple[int, int]:
        i0 = int(self.block_ninst[:k].sum())
        return i0, i0 + int(self.block_ninst[k])

    def _rows_of(self, i0: int, i1: int) -> np.ndarray:
        n = self.table.n_nodes[i0:i1]
        if not len(n):
            return np.zeros(0, np.int64)
        offsets = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        return np.repeat(self.row_start[i0:i1], n) + offsets

    # --------------------------------------------------------------- commands

    def push(self, command: Command) -> Command:
        """Run a command on the undo stack (the layer follows)."""
        self._open_move = None
        return self.stack.push(command)

    def undo(self) -> Command | None:
        """Undo the latest edit, if any."""
        self._open_move = None
        return self.stack.undo() if self.stack.can_undo else None

    def redo(self) -> Command | None:
        """Redo the latest undone edit, if any."""
        self._open_move = None
        return self.stack.redo() if self.stack.can_redo else None

    def _on_command(self, command: Command) -> None:
        if command is not self._open_move:
            self._open_move = None
        self.refresh_frames(self._touched(command))
        for callback in self.edited:
            callback()

    def _touched(self, command: Command) -> list[sio.LabeledFrame]:
        """Frames a command changed, from what it recorded."""
        out: dict[int, sio.LabeledFrame] = {}

        def add_inst(inst: sio.Instance) -> None:
            lf = self._inst_frame.get(id(inst))
            if lf is not None:
                out[id(lf)] = lf

        for inst, _ in command._retracked:
            add_inst(inst)
        for lf, _, _ in command._removed:
            out[id(lf)] = lf
        if isinstance(command, LabelCommand):
            for lf, _ in command._added:
                out[id(lf)] = lf
            for lf in command._new_frames:
                out[id(lf)] = lf
            for inst, _ in command._old_points:
                add_inst(inst)
            for lf, _, _, _ in command._replaced:
                out[id(lf)] = lf
        meta = self.layer.metadata[META_KEY]
        if len(self.labels.tracks) != len(meta["track_colors"]):
            meta["track_colors"] = self.style.tracks.track_colors(
                len(self.labels.tracks)
            )
        return [lf for lf in out.values() if lf.video is self.video]

    # ------------------------------------------------------------ row updates

    def _block(self, lf: sio.LabeledFrame) -> _Block:
        # a frame dropped by undo was emptied first, so its instances say it all
        insts = list(lf.instances)
        track_idx = {id(t): i for i, t in enumerate(self.labels.tracks)}
        skel_idx = {id(s): i for i, s in enumerate(self.labels.skeletons)}
        xy, vis, score, node, names, shown = [], [], [], [], [], []
        n_nodes, track, pred, skel = [], [], [], []
        used = used_predictions(lf)
        for inst in insts:
            pts = inst.points
            is_pred = isinstance(inst, sio.PredictedInstance)
            p = np.array(pts["xy"], dtype=np.float64)
            good = np.isfinite(p).all(axis=1)
            if (~good).any():
                p[~good] = p[good].mean(axis=0) if good.any() else 0.0
            xy.append(p)
            vis.append(np.array(pts["visible"], dtype=bool) & good)
            shown.append(vis[-1] & (id(inst) not in used))
            score.append(
                np.array(pts["score"], float) if is_pred else np.full(len(p), np.nan)
            )
            node.append(np.arange(len(p)))
            names.append(np.asarray(inst.skeleton.node_names, dtype=object))
            n_nodes.append(len(p))
            track.append(-1 if inst.track is None else track_idx[id(inst.track)])
            pred.append(is_pred)
            skel.append(skel_idx[id(inst.skeleton)])

        def cat(parts: list, shape: tuple, dtype: Any) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(shape, dtype)

        return _Block(
            instances=insts,
            track=np.asarray(track, dtype=np.int64),
            predicted=np.asarray(pred, dtype=bool),
            skeleton=np.asarray(skel, dtype=np.int64),
            n_nodes=np.asarray(n_nodes, dtype=np.int64),
            xy=cat(xy, (0, 2), np.float64),
            visible=cat(vis, (0,), bool),
            shown=cat(shown, (0,), bool),
            score=cat(score, (0,), np.float64),
            node=cat(node, (0,), np.int64),
            node_name=cat(names, (0,), object),
        )

    def refresh_frames(self, frames: Iterable[sio.LabeledFrame]) -> None:
        """Bring the rows of ``frames`` up to date with the Labels."""
        frames = list(frames)
        if not frames:
            return
        self._syncing = True
        try:
            removed_rows: list[np.ndarray] = []
            added: list[sio.Instance] = []
            moved_only: list[np.ndarray] = []
            for lf in frames:
                block = self._block(lf)
                k = self._block_of.get(id(lf))
                same = k is not None and np.array_equal(
                    block.n_nodes, self.table.n_nodes[slice(*self._inst_range(k))]
                )
                if same:
                    rows, structure = self._rewrite(k, block)
                    if structure:
                        removed_rows.append(rows)
                        added.extend(block.instances)
                    else:
                        moved_only.append(rows)
                else:
                    removed_rows.append(self._replace(lf, k, block))
                    added.extend(block.instances)
            # extent and thumbnail are O(rows) each and barely change with one edit
            self.layer.refresh(extent=False, thumbnail=False)
            if moved_only:
                self._move_edges(np.concatenate(moved_only))
            if removed_rows or added:
                self._update_edges(
                    np.concatenate(removed_rows) if removed_rows else np.zeros(0, int),
                    added,
                )
        finally:
            self._syncing = False

    def _colors(self, block: _Block) -> tuple[np.ndarray, np.ndarray]:
        """Face (by node, dimmer when predicted) and border (by track) colors."""
        max_nodes = max((len(s.nodes) for s in self.labels.skeletons), default=1)
        row_pred = np.repeat(block.predicted, block.n_nodes)
        face = self.style.points.node_colors(max_nodes)[block.node]
        face[row_pred, 3] = self.style.points.predicted_alpha
        row_track = np.repeat(block.track, block.n_nodes)
        border = self.style.tracks.colors_for(row_track, len(self.labels.tracks))
        return face, border

    def _track_names(self, track: np.ndarray) -> np.ndarray:
        names = np.asarray([t.name for t in self.labels.tracks] + [""], dtype=object)
        return names[np.where(track < 0, len(self.labels.tracks), track)]

    def _write_rows(
        self,
        rows: np.ndarray,
        block: _Block,
        frame: int,
        first_id: int,
        *,
        same_rows: bool = False,
        same_track: bool = False,
    ) -> None:
        """Write a block's values into existing layer rows (no resize).

        ``same_rows`` (rows already hold these instances' nodes) and
        ``same_track`` skip the columns that cannot have changed: pandas
        re-validates every string it is given.
        """
        layer = self.layer
        row_pred = np.repeat(block.predicted, block.n_nodes)
        layer.data[rows, 0] = frame
        layer.data[rows, 1] = block.xy[:, 1]
        layer.data[rows, 2] = block.xy[:, 0]
        feats = layer.features
        values = {
            "frame": np.full(len(rows), frame, dtype=np.int64),
            "instance": first_id
            + np.repeat(np.arange(len(block.instances)), block.n_nodes),
            "node": block.node_name,
            "track": self._track_names(np.repeat(block.track, block.n_nodes)),
            "visible": block.visible,
            "predicted": row_pred,
            "score": block.score,
        }
        if same_rows:
            for col in ("frame", "instance", "node"):
                del values[col]
        if same_track:
            del values["track"]
        for col, vals in values.items():
            if col in feats.columns:
                feats.iloc[rows, feats.columns.get_loc(col)] = vals
        face, border = self._colors(block)
        layer.face_color[rows] = face
        layer.border_color[rows] = border
        layer.shown[rows] = block.shown
        layer.symbol[rows] = symbols_for(row_pred)

    def _rewrite(self, k: int, block: _Block) -> tuple[np.ndarray, bool]:
        """Same instances and node counts: overwrite the rows in place.

        Returns the rows and whether edges must be redone (visibility, track or
        kind changed) rather than just moved.
        """
        tab = self.table
        i0, i1 = self._inst_range(k)
        rows = self._rows_of(i0, i1)
        same_track = np.array_equal(tab.track[i0:i1], block.track)
        structure = (
            not np.array_equal(self.layer.shown[rows], block.shown)
            or not same_track
            or not np.array_equal(tab.predicted[i0:i1], block.predicted)
            or any(
                a is not b
                for a, b in zip(self.inst_objs[i0:i1], block.instances, strict=True)
            )
        )
        tab.track[i0:i1] = block.track
        tab.predicted[i0:i1] = block.predicted
        self.inst_objs[i0:i1] = block.instances
        for inst in block.instances:
            self._inst_frame[id(inst)] = self.blocks[k]
        self._write_rows(
            rows,
            block,
            self.blocks[k].frame_idx,
            i0,
            same_rows=True,
            same_track=same_track,
        )
        return rows, structure

    def _take_rows(self, n: int) -> int:
        """Start of a run of ``n`` spare rows (growing the layer if none left)."""
        runs = self.free.get(n)
        if not runs:
            self._grow(n, max(64, len(self.layer.data) // (20 * n)))
            runs = self.free[n]
        return runs.pop()

    def _grow(self, n: int, count: int) -> None:
        """Append ``count`` hidden spare runs of ``n`` rows in one resize."""
        old = len(self.layer.data)
        append_spare_rows(self.layer, n * count)
        self.free.setdefault(n, []).extend(range(old + n * count - n, old - 1, -n))
        link = self._link()
        if link is not None:
            link._n_rows = len(self.layer.data)  # spare rows have no edges

    def _replace(
        self, lf: sio.LabeledFrame, k: int | None, block: _Block
    ) -> np.ndarray:
        """Instances added or removed on a frame: swap its rows; returns freed rows."""
        tab, layer = self.table, self.layer
        if k is None and not block.instances:
            return np.zeros(0, np.int64)  # gone before it was ever shown
        if k is not None:
            i0, i1 = self._inst_range(k)
        else:  # a frame new to this layer: its place in labels order
            k = self._new_block_position(lf)
            i0 = i1 = int(self.block_ninst[:k].sum())
        freed = self._rows_of(i0, i1)
        for i in range(i0, i1):
            self.free.setdefault(int(tab.n_nodes[i]), []).append(int(self.row_start[i]))
            self._inst_frame.pop(id(self.inst_objs[i]), None)
        # hide freed rows; they stop naming an instance
        feats = layer.features
        if len(freed):
            if layer.selected_data:  # freed rows must not stay selected
                layer.selected_data = set(layer.selected_data) - set(freed.tolist())
            feats.iloc[freed, feats.columns.get_loc("instance")] = -1
            feats.iloc[freed, feats.columns.get_loc("visible")] = False
            layer.shown[freed] = False
        n_new = len(block.instances)
        delta = n_new - (i1 - i0)
        if delta:
            col = np.asarray(feats["instance"], dtype=np.int64).copy()
            col[col >= i1] += delta
            feats["instance"] = col
        starts = [self._take_rows(int(n)) for n in block.n_nodes]
        new_rows = np.zeros(0, np.int64)
        if starts:
            pairs = zip(starts, block.n_nodes, strict=True)
            new_rows = np.concatenate([s + np.arange(n) for s, n in pairs])
        if n_new:
            self._write_rows(new_rows, block, lf.frame_idx, i0)

        def splice(a: np.ndarray, new: np.ndarray) -> np.ndarray:
            return np.concatenate([a[:i0], np.asarray(new, a.dtype), a[i1:]])

        n_nodes = splice(tab.n_nodes, block.n_nodes)
        start = np.zeros(len(n_nodes), dtype=np.int64)
        if len(n_nodes):
            start[1:] = np.cumsum(n_nodes)[:-1]
        self.row_start = splice(self.row_start, np.asarray(starts, np.int64))
        self.inst_objs[i0:i1] = block.instances
        was_block = k < len(self.blocks) and self.blocks[k] is lf
        # block indices after k move only when a block comes or goes mid-list
        stays = was_block == bool(n_new)
        at_end = stays or k >= len(self.blocks) - (1 if was_block else 0)
        if was_block and n_new:
            self.block_ninst[k] = n_new
        elif was_block:
            del self.blocks[k]
            self.block_ninst = np.delete(self.block_ninst, k)
            self._block_of.pop(id(lf), None)
        elif n_new:
            self.blocks.insert(k, lf)
            self.block_ninst = np.insert(self.block_ninst, k, n_new)
        if not at_end:  # block indices after k moved
            self._block_of = {id(b): j for j, b in enumerate(self.blocks)}
        elif n_new:
            self._block_of[id(lf)] = k
        for inst in block.instances:
            self._inst_frame[id(inst)] = lf
        pos = np.arange(len(n_nodes)) - np.repeat(
            np.cumsum(self.block_ninst) - self.block_ninst, self.block_ninst
        )
        layer.metadata[META_KEY]["table"] = InstanceTable(
            lf=self._frame_indices(tab, i0, i1, lf, n_new),
            pos=pos.astype(np.int64),
            frame=splice(tab.frame, np.full(n_new, lf.frame_idx)),
            track=splice(tab.track, block.track),
            predicted=splice(tab.predicted, block.predicted),
            skeleton=splice(tab.skeleton, block.skeleton),
            start=start,
            n_nodes=n_nodes,
        )
        return freed

    def _new_block_position(self, lf: sio.LabeledFrame) -> int:
        """Where a frame's block goes: after the blocks of earlier label frames."""
        frames = self.labels.labeled_frames
        if frames and frames[-1] is lf:  # new frames are appended: the usual case
            return len(self.blocks)
        order = {id(f): i for i, f in enumerate(frames)}
        mine = order[id(lf)]
        block_lf = np.array([order.get(id(b), -1) for b in self.blocks])
        return int(np.searchsorted(block_lf, mine, side="right"))

    def _frame_indices(
        self, tab: InstanceTable, i0: int, i1: int, lf: sio.LabeledFrame, n_new: int
    ) -> np.ndarray:
        """``table.lf`` after a splice; recomputed in full only if frames shifted."""
        frames = self.labels.labeled_frames
        mine = len(frames) - 1 if frames and frames[-1] is lf else -1
        if n_new and mine < 0 and i1 > i0:
            mine = int(tab.lf[i0])
        if n_new == 0 or mine >= 0:
            out = np.concatenate(
                [tab.lf[:i0], np.full(n_new, max(mine, 0), np.int64), tab.lf[i1:]]
            )
            ends = [0, len(out) - 1] if len(out) else []
            if all(
                out[e] < len(frames)
                and any(self.inst_objs[e] is x for x in frames[out[e]].instances)
                for e in ends
            ):
                return out.astype(np.int64)
        order = {id(f): i for i, f in enumerate(frames)}
        block_lf = np.array([order[id(b)] for b in self.blocks], dtype=np.int64)
        return np.repeat(block_lf, self.block_ninst)

    # ------------------------------------------------------------------ edges

    def _link(self) -> Any:
        from napari_sleap.widgets.skeleton_link import link_layers

        if self.edges is None:
            return None
        return link_layers(self.layer, self.edges, self.dims)

    def _move_edges(self, rows: np.ndarray) -> None:
        link = self._link()
        if link is not None:
            link.update_rows(rows)

    def _update_edges(self, removed: np.ndarray, added: list[sio.Instance]) -> None:
        """Drop the edges of ``removed`` rows and add those of ``added`` instances."""
        link = self._link()
        if link is None:
            return
        keep = np.ones(len(link.src), dtype=bool)
        keep[link.edges_of(np.unique(removed))] = False
        shown = self.layer.shown
        src_new, dst_new, trk_new = [], [], []
        skel_edges = {
            id(s): np.asarray(s.edge_inds, dtype=np.int64).reshape(-1, 2)
            for s in self.labels.skeletons
        }
        for inst in added:
            i = self.instance_index(inst)
            e = skel_edges[id(inst.skeleton)]
            s, d = self.row_start[i] + e[:, 0], self.row_start[i] + e[:, 1]
            ok = shown[s] & shown[d]
            src_new.append(s[ok])
            dst_new.append(d[ok])
            trk_new.append(np.full(int(ok.sum()), self.table.track[i]))

        def cat(parts: list) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, np.int64)

        colors = self.style.tracks.colors_for(cat(trk_new), len(self.labels.tracks))
        src, dst = cat(src_new), cat(dst_new)
        try:
            patch_link_index(link, keep, src, dst, np.asarray(self.layer.data))
            patched = True
        except AttributeError:  # another link layout: sort everything again
            patched = False
        link.src = np.concatenate([link.src[keep], src])
        link.dst = np.concatenate([link.dst[keep], dst])
        link.colors = np.concatenate([link.colors[keep], colors])
        if not patched:
            link._index()
        link._n_rows = len(self.layer.data)
        link.show()

    def reload(self) -> None:
        """Rebuild every row from the Labels (after a skeleton change)."""
        from napari_sleap.convert import labels_to_points

        meta = self.layer.metadata[META_KEY]
        data, kwargs, _ = labels_to_points(
            self.labels, meta["video_index"], style=self.style, link=meta["link"]
        )
        new_meta = kwargs["metadata"][META_KEY]
        meta["table"] = new_meta["table"]
        meta["track_colors"] = new_meta["track_colors"]
        self._syncing = True
        try:
            self.layer.selected_data = set()
            with self.layer.events.data.blocker():
                self.layer.data = data
            self.layer.features = kwargs["features"]
            if len(data):
                self.layer.face_color = kwargs["face_color"]
                self.layer.border_color = kwargs["border_color"]
                self.layer.shown = kwargs["shown"]
                set_symbols(self.layer, symbols_for(kwargs["features"]["predicted"]))
            self._reindex()
            self.layer.refresh()
            link = self._link()
            if link is not None:
                link.rebuild()
        finally:
            self._syncing = False

    # ------------------------------------------------------------ user drags

    def _on_layer_data(self, event: Any) -> None:
        if self._syncing:
            return
        action = str(getattr(event, "action", "")).lower()
        rows = np.asarray(getattr(event, "data_indices", ()) or (), dtype=np.int64)
        if action.endswith("removing"):
            self._removing = self._nodes_at(rows)
        elif action.endswith("removed"):
            self._after_raw_remove()
        elif action.endswith("added"):
            self._after_raw_add()
        elif action.endswith("changed") and 0 < len(rows) < len(self.layer.data):
            self._commit_moves(rows)

    def _nodes_at(self, rows: np.ndarray) -> list[tuple[sio.Instance, int]]:
        """(instance, node) of layer rows, skipping spare rows."""
        ids = np.asarray(self.layer.features["instance"])
        out = []
        for r in rows[(rows >= 0) & (rows < len(ids))]:
            if ids[r] >= 0:
                i = int(ids[r])
                out.append((self.inst_objs[i], int(r - self.row_start[i])))
        return out

    def _after_raw_remove(self) -> None:
        """Rows deleted by napari itself (layer controls) become hidden nodes.

        The rows are gone, so the layer is rebuilt from the Labels (rare, O(rows))
        and the deletion becomes one undoable "hide nodes" step per instance.
        """
        from napari_sleap.labeling import set_node_visible

        removed, self._removing = getattr(self, "_removing", []), []
        self.reload()
        for inst, node in removed:
            if inst.points["visible"][node]:
                self.push(set_node_visible(self.labels, inst, node, False))
        self._notice("Deleted points are kept as hidden nodes (H shows them again)")

    def _after_raw_add(self) -> None:
        """Drop points added in napari's add mode (instances come from the dock)."""
        self.reload()
        self._notice(
            "Use Add (click) or Ctrl+I to add an instance; free points are not kept"
        )

    def _notice(self, text: str) -> None:
        for callback in self.notices:
            callback(text)

    def _commit_moves(self, rows: np.ndarray) -> None:
        """Moved rows -> SetPoints on their instances (one undo step per drag)."""
        ids = np.asarray(self.layer.features["instance"])[rows]
        data = self.layer.data
        tab = self.table
        for i in np.unique(ids[ids >= 0]):
            inst = self.inst_objs[int(i)]
            s, n = int(self.row_start[i]), int(tab.n_nodes[i])
            xy = np.column_stack([data[s : s + n, 2], data[s : s + n, 1]])
            moved = rows[(rows >= s) & (rows < s + n)] - s
            visible = np.array(inst.points["visible"], dtype=bool)
            visible[moved] = True
            keep = ~visible
            xy[keep] = inst.points["xy"][keep]
            cmd = SetPoints(self.labels, instance=inst, xy=xy, visible=visible)
            if self._open_move is not None and self._open_move.instance is inst:
                self._syncing = True
                try:
                    self._open_move.merge(cmd)
                    self._recentre_unplaced(inst, s)
                finally:
                    self._syncing = False
                for callback in self.edited:
                    callback()
            else:
                self._open_move = self.stack.push(cmd)

    def _recentre_unplaced(self, inst: sio.Instance, start: int) -> None:
        """Keep never-placed nodes' rows at the instance centre as nodes move.

        They are drawn hidden at the mean of the placed nodes (as the converter
        places them); left behind, the writer would read them as moved.
        """
        xy = np.asarray(inst.points["xy"], dtype=np.float64)
        good = np.isfinite(xy).all(axis=1)
        if good.all() or not good.any():
            return
        centre = xy[good].mean(axis=0)
        rows = start + np.nonzero(~good)[0]
        self.layer.data[rows, 1] = centre[1]
        self.layer.data[rows, 2] = centre[0]

    def _end_drag_on_release(self, layer: Any, event: Any):
        """Close the open move when the mouse is released (next drag: new step)."""
        yield
        while event.type == "mouse_move":
            yield
        self._open_move = None

    def disconnect(self) -> None:
        """Stop following the layer and the stack."""
        self.layer.events.data.disconnect(self._on_layer_data)
        if self._on_command in self.stack.listeners:
            self.stack.listeners.remove(self._on_command)
        if self._end_drag_on_release in self.layer.mouse_drag_callbacks:
            self.layer.mouse_drag_callbacks.remove(self._end_drag_on_release)
