"""Keep an instances layer's rows in step with its Labels, editing arrays in place.

The Labels are the truth; edits are :mod:`napari_sleap.labeling` commands on an
undo stack. Every row lives in the layer's
:class:`~napari_sleap.napari.layers.store.RowStore`; the napari layer shows a window of
it (:mod:`napari_sleap.napari.sync.window`). After each command only the store rows
of the instances it touched change, then the window rewrites the rows it holds
(or refills, when the current frame gained or lost instances):

- moves, visibility, tracks and accepted predictions rewrite those rows;
- deleted instances leave their rows as *spare* rows (no instance, hidden) and
  new instances take spare rows, so the store never reorders. When no spare rows
  are left the store grows by a chunk at once (amortised);
- a track-only edit (a swap over half the recording) is a few array writes.

The store's ``table`` stays in :func:`napari_sleap.napari.layers.convert.flatten` order
with ``instance`` of each row pointing into it, so the npe2 writer reads it as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import sleap_io as sio

from napari_sleap.labeling import SetPoints, UndoStack, command_changes
from napari_sleap.labeling.history import Command
from napari_sleap.napari.compat import unproxied
from napari_sleap.napari.layers.convert import META_KEY, InstanceTable
from napari_sleap.napari.layers.flat import parked_xy
from napari_sleap.napari.layers.store import (
    FrameBlock,
    RowStore,
    build_store,
    frame_block,
)
from napari_sleap.napari.layers.styles import DEFAULT_STYLE, LayerStyle
from napari_sleap.napari.sync.tracks_follow import follower_for
from napari_sleap.napari.sync.window import InstancesWindow, attach_window

if TYPE_CHECKING:
    from napari.layers import Points, Vectors

#: Marker of predicted (not yet accepted) points: hollow rings.
PREDICTED_SYMBOL = "ring"
USER_SYMBOL = "disc"
#: Track-only edits touching more instances than this skip the per-frame path.
FAST_RETRACK_MIN = 32


class InstancesSync:
    """Binds one instances Points layer (and its edges) to the Labels it shows.

    Args:
        points: The Points layer made by
            :func:`napari_sleap.napari.layers.convert.labels_to_points`.
        edges: Its Vectors layer of skeleton edges (optional).
        stack: Undo stack shared with the other panels (default: a new one).
        style: Layer looks.
        dims: The viewer's dims: the window shows the current frame's rows and
            edges (without, the first labeled frame).
    """

    def __init__(
        self,
        points: Points,
        edges: Vectors | None = None,
        stack: UndoStack | None = None,
        style: LayerStyle = DEFAULT_STYLE,
        dims: Any = None,
    ) -> None:
        points, edges, dims = unproxied(points), unproxied(edges), unproxied(dims)
        meta = points.metadata[META_KEY]
        self.layer = points
        self.edges = edges
        self.labels: sio.Labels = meta["labels"]
        self.video: sio.Video = self.labels.videos[meta["video_index"]]
        self.stack = stack or UndoStack()
        self.style = style
        self.dims = dims
        self.window: InstancesWindow = attach_window(points, dims)
        self.window.raw_edits_handled = True
        self._syncing = False
        self._open_move: SetPoints | None = None
        #: Called after every change of the Labels (commands and drag steps).
        self.edited: list = []
        #: Called with a message for the user (e.g. a raw napari edit was undone).
        self.notices: list = []
        self._removing: list[tuple[sio.Instance, int]] = []
        self._reindex()
        self.stack.listeners.append(self.on_command)
        points.events.data.connect(self._on_layer_data)
        points.mouse_drag_callbacks.append(self._end_drag_on_release)

    # ------------------------------------------------------------ bookkeeping

    @property
    def store(self) -> RowStore:
        """Every row of the layer (the napari layer holds a window of them)."""
        return self.window.store

    @property
    def table(self) -> InstanceTable:
        """The instance table (kept current by every edit)."""
        return self.store.table

    def _set_table(self, table: InstanceTable) -> None:
        self.store.table = table
        self.layer.metadata[META_KEY]["table"] = table

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

    def frame_of(self, inst: sio.Instance) -> sio.LabeledFrame:
        """The labeled frame holding ``inst`` (ValueError if not in this layer)."""
        lf = self._inst_frame.get(id(inst))
        if lf is None:
            raise ValueError("the instance is not in this layer")
        return lf

    def instance_at_row(self, row: int) -> sio.Instance:
        """The instance a layer row belongs to."""
        srow = int(self.window.rows[row])
        i = int(self.store.instance[srow]) if srow >= 0 else -1
        if i < 0:
            raise ValueError(f"row {row} is a spare row of no instance")
        return self.inst_objs[i]

    def instances_at_rows(self, rows: Iterable[int]) -> list[sio.Instance]:
        """Instances of layer rows, once each in row order (spare rows skipped)."""
        out: list[sio.Instance] = []
        for row in sorted(rows):
            srow = int(self.window.rows[row])
            if srow < 0 or self.store.instance[srow] < 0:
                continue
            inst = self.inst_objs[int(self.store.instance[srow])]
            if all(inst is not i for i in out):
                out.append(inst)
        return out

    def selected_instances(self) -> list[sio.Instance]:
        """Instances with a selected point, in row order."""
        return self.instances_at_rows(self.layer.selected_data)

    def instance_store_rows(self, inst: sio.Instance) -> np.ndarray:
        """Store rows of an instance's nodes."""
        i = self.instance_index(inst)
        return self.row_start[i] + np.arange(int(self.table.n_nodes[i]))

    def instance_rows(self, inst: sio.Instance) -> np.ndarray:
        """Layer rows of an instance's nodes (ValueError if its frame isn't shown)."""
        rows = self.window.layer_rows(self.instance_store_rows(inst))
        if (rows < 0).any():
            raise ValueError(
                f"the instance is on frame {self.frame_of(inst).frame_idx}, "
                "which the layer doesn't show now: go to that frame first"
            )
        return rows

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

    def instances_where(self, mask: np.ndarray) -> list[sio.Instance]:
        """Instances whose table entries ``mask`` selects."""
        return [self.inst_objs[i] for i in np.nonzero(mask)[0]]

    def _inst_range(self, k: int) -> tuple[int, int]:
        i0 = int(self.block_ninst[:k].sum())
        return i0, i0 + int(self.block_ninst[k])

    def _rows_of(self, i0: int, i1: int) -> np.ndarray:
        return self._rows_of_ids(np.arange(i0, i1))

    def _rows_of_ids(self, ids: np.ndarray) -> np.ndarray:
        n = self.table.n_nodes[ids]
        if not len(n):
            return np.zeros(0, np.int64)
        offsets = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        return np.repeat(self.row_start[ids], n) + offsets

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

    def on_command(self, command: Command) -> None:
        """Bring the rows up to date after a command ran, was undone or redone."""
        if command is not self._open_move or self.stack.last_done is not command:
            self._open_move = None  # undone or another edit: the next drag is new
        changes = command_changes(command)
        meta = self.layer.metadata[META_KEY]
        if len(self.labels.tracks) != len(meta["track_colors"]):
            meta["track_colors"] = self.style.tracks.track_colors(
                len(self.labels.tracks)
            )
        if changes.retrack_only and len(changes.retracked) >= FAST_RETRACK_MIN:
            self.retrack(changes.retracked)
        else:
            frames: dict[int, sio.LabeledFrame] = {id(f): f for f in changes.frames}
            for inst in [*changes.retracked, *changes.moved]:
                lf = self._inst_frame.get(id(inst))
                if lf is not None:
                    frames[id(lf)] = lf
            self.refresh_frames(f for f in frames.values() if f.video is self.video)
        follower = follower_for(self.layer)
        if follower is not None:
            follower.schedule()  # once edits pause: ~0.1 s at 100k frames
        for callback in self.edited:
            callback()

    def retrack(self, instances: Iterable[sio.Instance]) -> np.ndarray:
        """Apply new tracks of ``instances`` in a few array writes; returns ids.

        A swap from the middle of a long recording retracks 100,000 instances;
        only their table entries change, and the window rewrites its own rows.
        """
        where = {id(obj): i for i, obj in enumerate(self.inst_objs)}
        track_idx = {id(t): i for i, t in enumerate(self.labels.tracks)}
        seen: dict[int, int] = {}
        for inst in instances:
            i = where.get(id(inst))
            if i is not None:
                seen[i] = -1 if inst.track is None else track_idx[id(inst.track)]
        ids = np.fromiter(seen.keys(), np.int64, len(seen))
        self.table.track[ids] = np.fromiter(seen.values(), np.int64, len(seen))
        window = self.window
        real = window.rows >= 0
        shown_ids = np.full(len(window.rows), -1, np.int64)
        shown_ids[real] = self.store.instance[window.rows[real]]
        hit = np.nonzero(np.isin(shown_ids, ids) & (shown_ids >= 0))[0]
        if len(hit):
            self._syncing = True
            try:
                window.write_rows(hit)
            finally:
                self._syncing = False
            self._edges_rebuild()
        return ids

    # ------------------------------------------------------------ row updates

    def refresh_frames(self, frames: Iterable[sio.LabeledFrame]) -> None:
        """Bring the rows of ``frames`` up to date with the Labels."""
        frames = list(frames)
        if not frames:
            return
        self._syncing = True
        try:
            touched: list[np.ndarray] = []
            structure = False
            for lf in frames:
                block = frame_block(self.labels, lf)
                k = self._block_of.get(id(lf))
                same = k is not None and np.array_equal(
                    block.n_nodes, self.table.n_nodes[slice(*self._inst_range(k))]
                )
                if same:
                    rows, changed = self._rewrite(k, block)
                    structure |= changed
                    touched.append(rows)
                else:
                    freed, rows = self._replace(lf, k, block)
                    structure = True
                    touched.extend([freed, rows])
            rows = np.concatenate(touched) if touched else np.zeros(0, np.int64)
            refilled = self.window.update(rows)
        finally:
            self._syncing = False
        if refilled:
            return  # the window's refill redrew the edges
        if structure:
            self._edges_rebuild()
        else:
            self._edges_move(rows)

    def _write_rows(self, rows: np.ndarray, block: FrameBlock, frame: int) -> None:
        """Write a block's values into store rows."""
        store = self.store
        moved = np.rint(store.data[rows, 0]) != frame
        store.data[rows, 0] = frame
        store.data[rows, 1] = block.xy[:, 1]
        store.data[rows, 2] = block.xy[:, 0]
        store.node[rows] = block.node
        store.visible[rows] = block.visible
        store.shown[rows] = block.shown
        store.score[rows] = block.score
        if moved.any():
            store.moved_frame(rows[moved])

    def _rewrite(self, k: int, block: FrameBlock) -> tuple[np.ndarray, bool]:
        """Same instances and node counts: overwrite the rows in place.

        Returns the rows and whether edges must be redone (visibility, track or
        kind changed) rather than just moved.
        """
        tab = self.table
        i0, i1 = self._inst_range(k)
        rows = self._rows_of(i0, i1)
        structure = (
            not np.array_equal(self.store.shown[rows], block.shown)
            or not np.array_equal(self.store.visible[rows], block.visible)
            or not np.array_equal(tab.track[i0:i1], block.track)
            or not np.array_equal(tab.predicted[i0:i1], block.predicted)
            or any(
                a is not b
                for a, b in zip(self.inst_objs[i0:i1], block.instances, strict=True)
            )
        )
        tab.track[i0:i1] = block.track
        tab.predicted[i0:i1] = block.predicted
        # rows a raw napari delete freed (no dock then) belong to their node again
        self.store.instance[rows] = np.repeat(np.arange(i0, i1), tab.n_nodes[i0:i1])
        self.inst_objs[i0:i1] = block.instances
        for inst in block.instances:
            self._inst_frame[id(inst)] = self.blocks[k]
        self._write_rows(rows, block, self.blocks[k].frame_idx)
        return rows, structure

    def _take_rows(self, n: int) -> int:
        """Start of a run of ``n`` spare rows (growing the store if none left)."""
        runs = self.free.get(n)
        if not runs:
            count = max(64, len(self.store) // (20 * n))
            old = self.store.grow(n * count)
            self.free.setdefault(n, []).extend(range(old + n * count - n, old - 1, -n))
            runs = self.free[n]
        return runs.pop()

    def _replace(
        self, lf: sio.LabeledFrame, k: int | None, block: FrameBlock
    ) -> tuple[np.ndarray, np.ndarray]:
        """Instances added or removed on a frame: swap its rows.

        Returns the freed rows (and rows whose instance id moved) and the rows
        now holding the frame's instances.
        """
        tab, store = self.table, self.store
        empty = np.zeros(0, np.int64)
        if k is None and not block.instances:
            return empty, empty  # gone before it was ever shown
        if k is not None:
            i0, i1 = self._inst_range(k)
        else:  # a frame new to this layer: its place in labels order
            k = self._new_block_position(lf)
            i0 = i1 = int(self.block_ninst[:k].sum())
        freed = self._rows_of(i0, i1)
        for i in range(i0, i1):
            self.free.setdefault(int(tab.n_nodes[i]), []).append(int(self.row_start[i]))
            self._inst_frame.pop(id(self.inst_objs[i]), None)
        if len(freed):
            at = self.window.layer_rows(freed)
            if self.layer.selected_data and (at >= 0).any():
                self.layer.selected_data = set(self.layer.selected_data) - set(
                    at[at >= 0].tolist()
                )
            store.free_rows(freed)
        n_new = len(block.instances)
        delta = n_new - (i1 - i0)
        shifted = empty
        if delta:  # later instances' ids move: their rows change too
            shifted = np.nonzero(store.instance >= i1)[0]
            store.instance[shifted] += delta
        starts = [self._take_rows(int(n)) for n in block.n_nodes]
        new_rows = empty
        if starts:
            pairs = zip(starts, block.n_nodes, strict=True)
            new_rows = np.concatenate([s + np.arange(n) for s, n in pairs])
        if n_new:
            store.instance[new_rows] = i0 + np.repeat(np.arange(n_new), block.n_nodes)
            self._write_rows(new_rows, block, lf.frame_idx)

        def splice(a: np.ndarray, new: Any) -> np.ndarray:
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
        frames = self.labels.labeled_frames
        # a frame emptied by a delete stays a block of 0 instances: block
        # indices don't move (no O(frames) rebuild) and undo refills it in place
        kept_empty = (
            was_block
            and not n_new
            and i1 > i0
            and int(tab.lf[i0]) < len(frames)
            and frames[int(tab.lf[i0])] is lf
        )
        if kept_empty:
            stays = at_end = True
        if was_block and (n_new or kept_empty):
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
        self._set_table(
            InstanceTable(
                lf=self._frame_indices(tab, i0, i1, lf, n_new),
                pos=pos.astype(np.int64),
                frame=splice(tab.frame, np.full(n_new, lf.frame_idx)),
                track=splice(tab.track, block.track),
                predicted=splice(tab.predicted, block.predicted),
                skeleton=splice(tab.skeleton, block.skeleton),
                start=start,
                n_nodes=n_nodes,
            )
        )
        return np.concatenate([freed, shifted]), new_rows

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
        if n_new and mine < 0:  # an empty block refilled: look just after the last
            guess = int(tab.lf[i0 - 1]) if i0 > 0 else 0
            for j in range(guess, min(guess + 64, len(frames))):
                if frames[j] is lf:
                    mine = j
                    break
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

    @property
    def link(self) -> Any:
        """The skeleton edge link of the layer (None without an edges layer)."""
        from napari_sleap.napari.sync.skeleton_link import link_layers

        if self.edges is None:
            return None
        return link_layers(self.layer, self.edges, self.dims)

    def _edges_move(self, store_rows: np.ndarray) -> None:
        link = self.link
        if link is None:
            return
        rows = self.window.layer_rows(store_rows)
        if (rows >= 0).any():
            link.update_rows(rows[rows >= 0])

    def _edges_rebuild(self) -> None:
        link = self.link
        if link is not None:
            link.rebuild()

    def reload(self, *, public: bool = False) -> None:
        """Rebuild every row from the Labels (after a skeleton change).

        ``public``: refill through napari's setters (inside its data events).
        """
        meta = self.layer.metadata[META_KEY]
        store = build_store(self.labels, meta["video_index"])
        meta["store"] = store
        self._set_table(store.table)
        meta["track_colors"] = self.style.tracks.track_colors(len(self.labels.tracks))
        self._syncing = True
        try:
            self.layer.selected_data = set()
            self._reindex()
            self.window.refill(public=public)
        finally:
            self._syncing = False
        self._edges_rebuild()

    # ------------------------------------------------------------ user drags

    def _on_layer_data(self, event: Any) -> None:
        if self._syncing or self.window.filling:
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
        out = []
        for r in rows[(rows >= 0) & (rows < len(self.window.rows))]:
            srow = int(self.window.rows[r])
            if srow >= 0 and self.store.instance[srow] >= 0:
                i = int(self.store.instance[srow])
                out.append((self.inst_objs[i], int(srow - self.row_start[i])))
        return out

    def _after_raw_remove(self) -> None:
        """Rows deleted by napari itself (layer controls) become hidden nodes.

        The layer is refilled from the store (rows are gone) and the deletion
        becomes one undoable "hide nodes" step per instance.
        """
        from napari_sleap.labeling import set_node_visible

        removed, self._removing = self._removing, []
        self.reload(public=True)
        for inst, node in removed:
            if inst.points["visible"][node]:
                self.push(set_node_visible(self.labels, inst, node, False))
        self._notice("Deleted points are kept as hidden nodes (H shows them again)")

    def _after_raw_add(self) -> None:
        """Drop points added in napari's add mode (instances come from the dock)."""
        self.reload(public=True)
        self._notice(
            "Use Add (click) or Ctrl+I to add an instance; free points are not kept"
        )

    def _notice(self, text: str) -> None:
        for callback in self.notices:
            callback(text)

    def _commit_moves(self, rows: np.ndarray) -> None:
        """Moved rows -> SetPoints on their instances (one undo step per drag)."""
        srows = self.window.rows[rows]
        real = srows >= 0
        rows, srows = rows[real], srows[real]
        data = self.store.data
        data[srows] = self.layer.data[rows]
        ids = self.store.instance[srows]
        tab = self.table
        for i in np.unique(ids[ids >= 0]):
            inst = self.inst_objs[int(i)]
            s, n = int(self.row_start[i]), int(tab.n_nodes[i])
            xy = np.column_stack([data[s : s + n, 2], data[s : s + n, 1]])
            moved = srows[(srows >= s) & (srows < s + n)] - s
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
                follower = follower_for(self.layer)
                if follower is not None:
                    follower.schedule()
                for callback in self.edited:
                    callback()
            else:
                self._open_move = self.stack.push(cmd)

    def _recentre_unplaced(self, inst: sio.Instance, start: int) -> None:
        """Keep never-placed nodes' rows parked beside the instance as nodes move.

        They are drawn where :func:`parked_xy` puts them (as the converter does);
        left behind, the writer would read them as moved.
        """
        xy = np.asarray(inst.points["xy"], dtype=np.float64)
        good = np.isfinite(xy).all(axis=1)
        if good.all():
            return
        parked = parked_xy(xy, np.zeros(len(xy), np.int64), 1)
        rows = start + np.nonzero(~good)[0]
        self.store.data[rows, 1] = parked[~good, 1]
        self.store.data[rows, 2] = parked[~good, 0]
        at = self.window.layer_rows(rows)
        ok = at >= 0
        if ok.any():
            self.layer.data[at[ok], 1] = parked[~good, 1][ok]
            self.layer.data[at[ok], 2] = parked[~good, 0][ok]

    def _end_drag_on_release(self, layer: Any, event: Any):
        """Close the open move when the mouse is released (next drag: new step)."""
        yield
        while event.type == "mouse_move":
            yield
        self._open_move = None

    def disconnect(self) -> None:
        """Stop following the layer and the stack."""
        self.layer.events.data.disconnect(self._on_layer_data)
        self.window.raw_edits_handled = False
        if self.on_command in self.stack.listeners:
            self.stack.listeners.remove(self.on_command)
        if self._end_drag_on_release in self.layer.mouse_drag_callbacks:
            self.layer.mouse_drag_callbacks.remove(self._end_drag_on_release)
