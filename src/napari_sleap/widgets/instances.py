"""Keep an instances Points layer in step with its Labels, editing rows in place.

The Labels are the truth; edits are :mod:`napari_sleap.labeling` commands on an
undo stack. After each command only the rows of the frames it touched change:
moves, visibility, tracks and accepted predictions rewrite those rows in place;
adding or deleting instances splices that frame's block of rows (numpy slices
of the arrays already in the layer, never a rebuild from the Labels). Rows stay
in :func:`napari_sleap.convert.flatten` order and ``metadata['table']`` stays
current, so the npe2 writer and the skeleton edge link keep working.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sleap_io as sio

from napari_sleap.convert import META_KEY, InstanceTable
from napari_sleap.labeling import LabelCommand, SetPoints, UndoStack
from napari_sleap.styles import DEFAULT_STYLE, LayerStyle
from napari_sleap.track.proofread import Command

if TYPE_CHECKING:
    from napari.layers import Points, Vectors

#: Marker of predicted (not yet accepted) points: hollow rings.
PREDICTED_SYMBOL = "ring"
USER_SYMBOL = "disc"


@dataclass
class _Block:
    """Rows of one labeled frame: per-instance and per-row arrays."""

    instances: list[sio.Instance]
    pos: np.ndarray
    track: np.ndarray
    predicted: np.ndarray
    skeleton: np.ndarray
    n_nodes: np.ndarray
    xy: np.ndarray  # (R, 2) display (finite) coordinates
    visible: np.ndarray
    score: np.ndarray
    node: np.ndarray
    node_name: np.ndarray

    @property
    def n_rows(self) -> int:
        return len(self.node)


class InstancesSync:
    """Binds one instances Points layer (and its edges) to the Labels it shows.

    Args:
        points: The Points layer made by :func:`napari_sleap.convert.labels_to_points`.
        edges: Its Vectors layer of skeleton edges (optional).
        stack: Undo stack shared with the other panels (default: a new one).
        style: Layer looks.
    """

    def __init__(
        self,
        points: Points,
        edges: Vectors | None = None,
        stack: UndoStack | None = None,
        style: LayerStyle = DEFAULT_STYLE,
    ) -> None:
        meta = points.metadata[META_KEY]
        self.layer = points
        self.edges = edges
        self.labels: sio.Labels = meta["labels"]
        self.video: sio.Video = self.labels.videos[meta["video_index"]]
        self.stack = stack or UndoStack()
        self.style = style
        self._syncing = False
        self._open_move: SetPoints | None = None
        #: Called after every change of the Labels (commands and drag steps).
        self.edited: list = []
        self._reindex()
        self._restyle(np.arange(len(points.data)), only_if_predicted=True)
        self.stack.listeners.append(self._on_command)
        points.events.data.connect(self._on_layer_data)
        points.mouse_drag_callbacks.append(self._end_drag_on_release)

    # ------------------------------------------------------------ bookkeeping

    @property
    def table(self) -> InstanceTable:
        """The layer's instance table (kept current by every edit)."""
        return self.layer.metadata[META_KEY]["table"]

    def _reindex(self) -> None:
        """Rebuild the frame blocks and instance objects from the table."""
        tab = self.table
        frames = self.labels.labeled_frames
        self.inst_objs: list[sio.Instance] = [
            frames[li].instances[p] for li, p in zip(tab.lf, tab.pos, strict=True)
        ]
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

    def instance_at_row(self, row: int) -> sio.Instance:
        """The instance a layer row belongs to."""
        return self.inst_objs[int(self.layer.features["instance"].iloc[row])]

    def instance_rows(self, inst: sio.Instance) -> np.ndarray:
        """Layer rows of an instance's nodes."""
        i = self.instance_index(inst)
        s = int(self.table.start[i])
        return np.arange(s, s + int(self.table.n_nodes[i]))

    def instance_index(self, inst: sio.Instance) -> int:
        """Position of ``inst`` in the table (ValueError if not shown)."""
        lf = self._inst_frame.get(id(inst))
        if lf is None:
            raise ValueError("the instance is not in this layer")
        k = self._block_of[id(lf)]
        i0 = int(self.block_ninst[:k].sum())
        for j in range(int(self.block_ninst[k])):
            if self.inst_objs[i0 + j] is inst:
                return i0 + j
        raise ValueError("the instance is not in this layer")

    def frame_instances(self, frame_idx: int) -> list[sio.Instance]:
        """Instances shown on ``frame_idx``."""
        tab = self.table
        idx = np.nonzero(tab.frame == frame_idx)[0]
        return [self.inst_objs[i] for i in idx]

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
        if len(self.labels.tracks) != len(
            self.layer.metadata[META_KEY]["track_colors"]
        ):
            colors = self.style.tracks.track_colors(len(self.labels.tracks))
            self.layer.metadata[META_KEY]["track_colors"] = colors
        return [lf for lf in out.values() if lf.video is self.video]

    # ------------------------------------------------------------ row updates

    def _block(self, lf: sio.LabeledFrame | None) -> _Block:
        insts = list(lf.instances) if lf is not None else []
        track_idx = {id(t): i for i, t in enumerate(self.labels.tracks)}
        skel_idx = {id(s): i for i, s in enumerate(self.labels.skeletons)}
        xy, vis, score, node, names = [], [], [], [], []
        n_nodes, track, pred, skel = [], [], [], []
        for inst in insts:
            pts = inst.points
            is_pred = isinstance(inst, sio.PredictedInstance)
            p = np.array(pts["xy"], dtype=np.float64)
            v = np.array(pts["visible"], dtype=bool)
            good = np.isfinite(p).all(axis=1)
            if (~good).any():
                p[~good] = p[good].mean(axis=0) if good.any() else 0.0
            xy.append(p)
            vis.append(v & good)
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
            pos=np.arange(len(insts), dtype=np.int64),
            track=np.asarray(track, dtype=np.int64),
            predicted=np.asarray(pred, dtype=bool),
            skeleton=np.asarray(skel, dtype=np.int64),
            n_nodes=np.asarray(n_nodes, dtype=np.int64),
            xy=cat(xy, (0, 2), np.float64),
            visible=cat(vis, (0,), bool),
            score=cat(score, (0,), np.float64),
            node=cat(node, (0,), np.int64),
            node_name=cat(names, (0,), object),
        )

    def refresh_frames(self, frames: Iterable[sio.LabeledFrame]) -> None:
        """Bring the rows of ``frames`` up to date with the Labels."""
        frames = list(frames)
        if not frames:
            return
        blocks = {id(lf): self._block(lf) for lf in frames}
        same = all(
            id(lf) in self._block_of
            and np.array_equal(
                blocks[id(lf)].n_nodes, self._old_n_nodes(self._block_of[id(lf)])
            )
            for lf in frames
        )
        self._syncing = True
        try:
            if same:
                for lf in frames:
                    self._rewrite_block(self._block_of[id(lf)], blocks[id(lf)])
            else:
                self._splice(frames, blocks)
        finally:
            self._syncing = False

    def _inst_range(self, k: int) -> tuple[int, int]:
        i0 = int(self.block_ninst[:k].sum())
        return i0, i0 + int(self.block_ninst[k])

    def _old_n_nodes(self, k: int) -> np.ndarray:
        i0, i1 = self._inst_range(k)
        return self.table.n_nodes[i0:i1]

    def _colors(self, block: _Block) -> tuple[np.ndarray, np.ndarray]:
        """Face (by node, dimmer when predicted) and border (by track) colors."""
        max_nodes = max((len(s.nodes) for s in self.labels.skeletons), default=1)
        row_pred = np.repeat(block.predicted, block.n_nodes)
        face = self.style.points.node_colors(max_nodes)[block.node]
        face[row_pred, 3] = self.style.points.predicted_alpha
        row_track = np.repeat(block.track, block.n_nodes)
        border = self.style.tracks.colors_for(row_track, len(self.labels.tracks))
        return face, border

    def _track_names(self, block: _Block) -> np.ndarray:
        names = np.asarray([t.name for t in self.labels.tracks] + [""], dtype=object)
        tr = np.repeat(block.track, block.n_nodes)
        return names[np.where(tr < 0, len(self.labels.tracks), tr)]

    def _rewrite_block(self, k: int, block: _Block) -> None:
        """Same instances and node counts: overwrite the rows in place."""
        layer, tab = self.layer, self.table
        i0, i1 = self._inst_range(k)
        r0 = int(tab.start[i0])
        rows = np.arange(r0, r0 + block.n_rows)
        old_track = tab.track[i0:i1].copy()
        old_pred = tab.predicted[i0:i1].copy()
        tab.track[i0:i1] = block.track
        tab.predicted[i0:i1] = block.predicted
        self.inst_objs[i0:i1] = block.instances
        for inst in block.instances:
            self._inst_frame[id(inst)] = self.blocks[k]
        layer.data[rows, 1] = block.xy[:, 1]
        layer.data[rows, 2] = block.xy[:, 0]
        feats = layer.features
        for col, values in (
            ("visible", block.visible),
            ("predicted", np.repeat(block.predicted, block.n_nodes)),
            ("score", block.score),
            ("track", self._track_names(block)),
        ):
            feats.iloc[rows, feats.columns.get_loc(col)] = values
        face, border = self._colors(block)
        layer.face_color[rows] = face
        layer.border_color[rows] = border
        structure = (
            not np.array_equal(layer.shown[rows], block.visible)
            or not np.array_equal(old_track, block.track)
            or not np.array_equal(old_pred, block.predicted)
        )
        layer.shown[rows] = block.visible
        if not np.array_equal(old_pred, block.predicted):
            self._restyle(rows)
        layer.refresh()
        self._emit(None if structure else rows)

    def _emit(self, rows: np.ndarray | None) -> None:
        """Move the edges of ``rows`` (or rebuild all edges when None)."""
        from napari_sleap.widgets.skeleton_link import link_layers

        if self.edges is None:
            return
        link = link_layers(self.layer, self.edges)
        if rows is None:
            link.rebuild()
        else:
            link.update_rows(rows)

    def _splice(self, frames: list[sio.LabeledFrame], blocks: dict) -> None:
        """Instances added or removed: replace those frames' blocks of rows."""
        layer, tab = self.layer, self.table
        order = {id(lf): i for i, lf in enumerate(self.labels.labeled_frames)}
        # blocks after the edit: existing (maybe changed) and new frames in order
        old = list(self.blocks)
        keep = [lf for lf in old if id(lf) in order]
        for lf in frames:
            if id(lf) not in self._block_of and id(lf) in order and lf.instances:
                keep.append(lf)
        keep.sort(key=lambda lf: order[id(lf)])
        old_start = np.concatenate([[0], np.cumsum(self.block_ninst)]).astype(int)
        feats = layer.features
        cols = {c: np.asarray(feats[c]) for c in feats.columns}
        face_all = np.asarray(layer.face_color)
        border_all = np.asarray(layer.border_color)
        pieces: dict[str, list] = {
            k: []
            for k in (
                [
                    "data",
                    "face",
                    "border",
                    "shown",
                    "symbol",
                    "lf",
                    "pos",
                    "frame",
                    "track",
                    "pred",
                    "skel",
                    "nn",
                    "objs",
                ]
            )
        }
        feat_pieces: dict[str, list] = {c: [] for c in cols}
        new_ninst: list[int] = []
        inst_counter = 0
        for lf in keep:
            kb = self._block_of.get(id(lf))
            if id(lf) in blocks or kb is None:
                b = blocks.get(id(lf)) or self._block(lf)
                if not b.instances:
                    continue
                n_rows = b.n_rows
                face, border = self._colors(b)
                row_pred = np.repeat(b.predicted, b.n_nodes)
                frame_col = np.full(n_rows, lf.frame_idx, dtype=np.float64)
                pieces["data"].append(
                    np.column_stack([frame_col, b.xy[:, 1], b.xy[:, 0]])
                )
                pieces["face"].append(face)
                pieces["border"].append(border)
                pieces["shown"].append(b.visible)
                pieces["symbol"].append(
                    np.where(row_pred, PREDICTED_SYMBOL, USER_SYMBOL).astype(object)
                )
                local = np.repeat(np.arange(len(b.instances)), b.n_nodes)
                new_feats = {
                    "frame": frame_col.astype(np.int64),
                    "instance": local,
                    "node": b.node_name,
                    "track": self._track_names(b),
                    "visible": b.visible,
                    "predicted": row_pred,
                    "score": b.score,
                }
                for c in cols:
                    feat_pieces[c].append(
                        np.asarray(new_feats[c])
                        if c in new_feats
                        else np.full(n_rows, None, dtype=object)
                    )
                pieces["pos"].append(b.pos)
                pieces["track"].append(b.track)
                pieces["pred"].append(b.predicted)
                pieces["skel"].append(b.skeleton)
                pieces["nn"].append(b.n_nodes)
                pieces["objs"].append(b.instances)
                n_inst = len(b.instances)
            else:
                i0, i1 = old_start[kb], old_start[kb + 1]
                r0 = int(tab.start[i0])
                r1 = int(tab.start[i1 - 1] + tab.n_nodes[i1 - 1])
                pieces["data"].append(np.asarray(layer.data[r0:r1]))
                pieces["face"].append(face_all[r0:r1])
                pieces["border"].append(border_all[r0:r1])
                pieces["shown"].append(np.asarray(layer.shown[r0:r1]))
                pieces["symbol"].append(np.asarray(layer.symbol[r0:r1], dtype=object))
                for c in cols:
                    piece = cols[c][r0:r1]
                    if c == "instance":
                        piece = piece - i0
                    feat_pieces[c].append(piece)
                pieces["pos"].append(tab.pos[i0:i1])
                pieces["track"].append(tab.track[i0:i1])
                pieces["pred"].append(tab.predicted[i0:i1])
                pieces["skel"].append(tab.skeleton[i0:i1])
                pieces["nn"].append(tab.n_nodes[i0:i1])
                pieces["objs"].append(self.inst_objs[i0:i1])
                n_inst = i1 - i0
            pieces["lf"].append(np.full(n_inst, order[id(lf)], dtype=np.int64))
            pieces["frame"].append(np.full(n_inst, lf.frame_idx, dtype=np.int64))
            # instance ids are renumbered from the running count
            feat_pieces["instance"][-1] = feat_pieces["instance"][-1] + inst_counter
            inst_counter += n_inst
            new_ninst.append(n_inst)

        def cat(key: str, shape: tuple, dtype: Any) -> np.ndarray:
            p = pieces[key]
            return np.concatenate(p) if p else np.zeros(shape, dtype)

        n_nodes = cat("nn", (0,), np.int64)
        start = np.zeros(len(n_nodes), dtype=np.int64)
        if len(n_nodes):
            start[1:] = np.cumsum(n_nodes)[:-1]
        new_tab = InstanceTable(
            lf=cat("lf", (0,), np.int64),
            pos=cat("pos", (0,), np.int64),
            frame=cat("frame", (0,), np.int64),
            track=cat("track", (0,), np.int64),
            predicted=cat("pred", (0,), bool),
            skeleton=cat("skel", (0,), np.int64),
            start=start,
            n_nodes=n_nodes,
        )
        data = cat("data", (0, 3), np.float64)
        features = pd.DataFrame(
            {
                c: (np.concatenate(p) if p else np.zeros(0, cols[c].dtype))
                for c, p in feat_pieces.items()
            }
        )
        for c in ("frame", "instance"):
            features[c] = features[c].astype(np.int64)
        for c in ("visible", "predicted"):
            features[c] = features[c].astype(bool)
        layer.metadata[META_KEY]["table"] = new_tab
        layer.selected_data = set()
        with layer.events.data.blocker():
            layer.data = data
        layer.features = features
        if len(data):
            layer.face_color = cat("face", (0, 4), np.float32)
            layer.border_color = cat("border", (0, 4), np.float32)
            layer.shown = cat("shown", (0,), bool)
            layer.symbol = cat("symbol", (0,), object)
        self._reindex()
        layer.refresh()
        self._emit(None)

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
            self._reindex()
            self._restyle(np.arange(len(data)), only_if_predicted=True)
            self.layer.refresh()
            self._emit(None)
        finally:
            self._syncing = False

    def _restyle(self, rows: np.ndarray, *, only_if_predicted: bool = False) -> None:
        """Draw predicted points as hollow rings (user points stay discs)."""
        if not len(rows):
            return
        pred = np.asarray(self.layer.features["predicted"], dtype=bool)[rows]
        if pred.any() or not only_if_predicted:
            symbols = np.asarray(self.layer.symbol, dtype=object).copy()
            symbols[rows] = np.where(pred, PREDICTED_SYMBOL, USER_SYMBOL)
            self.layer.symbol = symbols

    # ------------------------------------------------------------ user drags

    def _on_layer_data(self, event: Any) -> None:
        if self._syncing:
            return
        action = str(getattr(event, "action", "")).lower()
        if not action.endswith("changed"):
            return
        rows = np.asarray(getattr(event, "data_indices", ()) or (), dtype=np.int64)
        if not len(rows) or len(rows) == len(self.layer.data):
            return
        self._commit_moves(rows)

    def _commit_moves(self, rows: np.ndarray) -> None:
        """Moved rows -> SetPoints on their instances (one undo step per drag)."""
        ids = np.asarray(self.layer.features["instance"])[rows]
        data = self.layer.data
        tab = self.table
        for i in np.unique(ids):
            inst = self.inst_objs[int(i)]
            s, n = int(tab.start[i]), int(tab.n_nodes[i])
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
                finally:
                    self._syncing = False
                for callback in self.edited:
                    callback()
            else:
                self._open_move = self.stack.push(cmd)

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
