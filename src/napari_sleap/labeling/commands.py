"""Undoable labeling edits on sleap-io Labels: add, move, hide, delete, accept, copy.

The commands extend :class:`napari_sleap.labeling.track_edits.Command`, so labeling and
proofreading edits share one :class:`~napari_sleap.labeling.track_edits.UndoStack` and
one history. Each command records exactly what it replaced (point arrays, inserted
instances and frames) so that undo puts back the very same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sleap_io as sio

from napari_sleap.labeling.history import Command


def find_frame(
    labels: sio.Labels, video: sio.Video, frame_idx: int
) -> sio.LabeledFrame | None:
    """The labeled frame of ``video`` at ``frame_idx``, or None."""
    for lf in labels.labeled_frames:
        if lf.frame_idx == frame_idx and lf.video is video:
            return lf
    return None


def frame_of(labels: sio.Labels, instance: sio.Instance) -> sio.LabeledFrame:
    """The labeled frame holding ``instance`` (ValueError if none does)."""
    for lf in labels.labeled_frames:
        if any(i is instance for i in lf.instances):
            return lf
    raise ValueError("the instance is in none of the labels' frames")


def _frame(
    labels: sio.Labels,
    inst: sio.Instance,
    hints: list[sio.LabeledFrame] | None,
    j: int,
) -> sio.LabeledFrame:
    """The frame of ``inst``: the caller's hint if it holds it, else a search."""
    if hints is not None and any(i is inst for i in hints[j].instances):
        return hints[j]
    return frame_of(labels, inst)


@dataclass
class LabelCommand(Command):
    """A proofreading command that can also add instances and change points."""

    _added: list[tuple[sio.LabeledFrame, sio.Instance]] = field(
        default_factory=list, init=False, repr=False
    )
    _new_frames: list[sio.LabeledFrame] = field(
        default_factory=list, init=False, repr=False
    )
    _old_points: list[tuple[sio.Instance, np.ndarray]] = field(
        default_factory=list, init=False, repr=False
    )
    _replaced: list[tuple[sio.LabeledFrame, int, sio.Instance, sio.Instance]] = field(
        default_factory=list, init=False, repr=False
    )

    def do(self) -> None:
        """Apply the edit, clearing the records of any earlier run."""
        self._added.clear()
        self._new_frames.clear()
        self._old_points.clear()
        self._replaced.clear()
        super().do()

    def undo(self) -> None:
        """Put back points, replaced and added instances, then tracks and removals."""
        for inst, old in reversed(self._old_points):
            inst.points = old
        for lf, index, old, _new in reversed(self._replaced):
            lf.instances[index] = old
        for lf, inst in reversed(self._added):
            lf.instances = [i for i in lf.instances if i is not inst]
        if self._new_frames:
            gone = {id(lf) for lf in self._new_frames}
            self.labels.labeled_frames[:] = [
                lf for lf in self.labels.labeled_frames if id(lf) not in gone
            ]
        super().undo()

    # Helpers for subclasses ------------------------------------------------

    def _frame(self, video: sio.Video, frame_idx: int) -> sio.LabeledFrame:
        lf = find_frame(self.labels, video, frame_idx)
        if lf is None:
            lf = sio.LabeledFrame(video=video, frame_idx=int(frame_idx), instances=[])
            self.labels.labeled_frames.append(lf)
            self._new_frames.append(lf)
        return lf

    def _add(self, lf: sio.LabeledFrame, inst: sio.Instance) -> None:
        lf.instances.append(inst)
        self._added.append((lf, inst))

    def _set_points(
        self, inst: sio.Instance, xy: np.ndarray | None, visible: np.ndarray | None
    ) -> None:
        self._old_points.append((inst, inst.points))
        points = inst.points.copy()
        if xy is not None:
            points["xy"][:] = xy
        if visible is not None:
            points["visible"][:] = visible
        inst.points = points

    def _replace(
        self, lf: sio.LabeledFrame, old: sio.Instance, new: sio.Instance
    ) -> None:
        index = next(k for k, i in enumerate(lf.instances) if i is old)
        lf.instances[index] = new
        self._replaced.append((lf, index, old, new))


def _user_instance(
    points_xy: np.ndarray,
    skeleton: sio.Skeleton,
    track: sio.Track | None,
    visible: np.ndarray | None = None,
) -> sio.Instance:
    inst = sio.Instance.from_numpy(
        np.asarray(points_xy, dtype=np.float64), skeleton=skeleton, track=track
    )
    if visible is not None:
        inst.points["visible"][:] = np.asarray(visible, bool) & np.isfinite(
            inst.points["xy"]
        ).all(axis=1)
    return inst


@dataclass
class AddInstance(LabelCommand):
    """Add a user instance with the given points on a frame (creating the frame).

    Attributes:
        video: The video.
        frame_idx: Frame index in the video.
        xy: ``(n_nodes, 2)`` coordinates; NaN rows are invisible nodes.
        skeleton: Skeleton (default: the labels' first).
        track: Track to put it on (added to the labels if new).
    """

    video: sio.Video | None = None
    frame_idx: int = 0
    xy: np.ndarray | None = None
    skeleton: sio.Skeleton | None = None
    track: sio.Track | None = None
    instance: sio.Instance | None = field(default=None, init=False)

    @property
    def label(self) -> str:
        """Menu text."""
        return f"add instance on frame {self.frame_idx}"

    def _apply(self) -> None:
        skeleton = self.skeleton or self.labels.skeletons[0]
        video = self.video or self.labels.videos[0]
        if self.xy is None or np.shape(self.xy) != (len(skeleton.nodes), 2):
            raise ValueError(
                f"add instance: xy must have shape ({len(skeleton.nodes)}, 2) for "
                f"skeleton {skeleton.name!r}, got {np.shape(self.xy)}"
            )
        if self.track is not None:
            self._add_track(self.track)
        if self.instance is None:  # redo re-adds the same object
            self.instance = _user_instance(self.xy, skeleton, self.track)
        self._add(self._frame(video, self.frame_idx), self.instance)


@dataclass
class SetPoints(LabelCommand):
    """Move nodes and/or set their visibility on one instance.

    A drag emits many small moves: :meth:`merge` folds a later move of the same
    instance into this command, so one drag is one undo step.

    Attributes:
        instance: The instance edited.
        xy: New ``(n_nodes, 2)`` coordinates (None keeps them).
        visible: New ``(n_nodes,)`` visibility (None keeps it).
    """

    instance: sio.Instance | None = None
    xy: np.ndarray | None = None
    visible: np.ndarray | None = None

    @property
    def label(self) -> str:
        """Menu text."""
        return "move nodes" if self.xy is not None else "set node visibility"

    def _apply(self) -> None:
        if self.instance is None:
            raise ValueError("set points: no instance given")
        self._set_points(self.instance, self.xy, self.visible)

    def merge(self, later: SetPoints) -> None:
        """Take over a later edit of the same instance (the first 'before' stays)."""
        if later.instance is not self.instance:
            raise ValueError("merge: the commands edit different instances")
        if later.xy is not None:
            self.xy = np.array(later.xy, dtype=np.float64)
        if later.visible is not None:
            self.visible = np.array(later.visible, dtype=bool)
        if self.xy is not None:
            self.instance.points["xy"][:] = self.xy
        if self.visible is not None:
            self.instance.points["visible"][:] = self.visible


def set_node_visible(
    labels: sio.Labels, instance: sio.Instance, node: int, visible: bool
) -> SetPoints:
    """A :class:`SetPoints` that shows or hides one node (not yet pushed)."""
    vis = np.array(instance.points["visible"], dtype=bool)
    vis[node] = visible
    xy = None
    if visible and not np.isfinite(instance.points["xy"][node]).all():
        # a node shown for the first time appears at the instance's centre
        xy = np.array(instance.points["xy"], dtype=np.float64)
        finite = np.isfinite(xy).all(axis=1)
        xy[node] = xy[finite].mean(axis=0) if finite.any() else (0.0, 0.0)
    return SetPoints(labels, instance=instance, xy=xy, visible=vis)


@dataclass
class DeleteInstances(LabelCommand):
    """Delete instances (user or predicted); emptied frames stay as empty frames.

    ``frames`` (the frame of each instance, when the caller knows them) saves a
    search through every labeled frame.
    """

    instances: list[sio.Instance] = field(default_factory=list)
    frames: list[sio.LabeledFrame] | None = None

    @property
    def label(self) -> str:
        """Menu text."""
        n = len(self.instances)
        return "delete instance" if n == 1 else f"delete {n} instances"

    def _apply(self) -> None:
        for j, inst in enumerate(self.instances):
            self._remove(_frame(self.labels, inst, self.frames, j), inst)


@dataclass
class AcceptPrediction(LabelCommand):
    """Make user instances from predictions: same points, same track.

    As in SLEAP, the user instance goes just before the prediction in its frame
    and names it in ``from_predicted``; the prediction stays in the file (it is
    then a *used* prediction, which viewers hide). ``frames`` as in
    :class:`DeleteInstances`.
    """

    instances: list[sio.Instance] = field(default_factory=list)
    frames: list[sio.LabeledFrame] | None = None
    accepted: list[sio.Instance] = field(default_factory=list, init=False)

    @property
    def label(self) -> str:
        """Menu text."""
        return "accept prediction"

    def _apply(self) -> None:
        if not self.accepted:
            for pred in self.instances:
                if not isinstance(pred, sio.PredictedInstance):
                    raise ValueError("accept: the instance is already a user instance")
                user = _user_instance(
                    pred.points["xy"], pred.skeleton, pred.track, pred.points["visible"]
                )
                user.from_predicted = pred
                self.accepted.append(user)
        pairs = zip(self.instances, self.accepted, strict=True)
        for j, (pred, user) in enumerate(pairs):
            lf = _frame(self.labels, pred, self.frames, j)
            index = next(k for k, i in enumerate(lf.instances) if i is pred)
            lf.instances.insert(index, user)
            self._added.append((lf, user))


def used_predictions(lf: sio.LabeledFrame) -> set[int]:
    """Ids of the frame's predictions that a user instance was made from."""
    return {
        id(i.from_predicted)
        for i in lf.instances
        if i.from_predicted is not None and not isinstance(i, sio.PredictedInstance)
    }


def previous_labeled_frame(
    labels: sio.Labels, video: sio.Video, frame_idx: int, *, user_only: bool = True
) -> sio.LabeledFrame | None:
    """Closest frame before ``frame_idx`` with (user) instances, or None."""
    best = None
    for lf in labels.labeled_frames:
        if lf.video is not video or lf.frame_idx >= frame_idx:
            continue
        has = lf.user_instances if user_only else lf.instances
        if has and (best is None or lf.frame_idx > best.frame_idx):
            best = lf
    return best


@dataclass
class CopyPrevious(LabelCommand):
    """Copy the closest earlier labeled frame's user instances onto a frame.

    Instances whose track already appears on the target frame are skipped, so
    copying twice does not stack duplicates of the same animal.
    """

    video: sio.Video | None = None
    frame_idx: int = 0
    source_frame: int | None = field(default=None, init=False)
    copies: list[sio.Instance] = field(default_factory=list, init=False)

    @property
    def label(self) -> str:
        """Menu text."""
        return f"copy frame {self.source_frame} to {self.frame_idx}"

    def _apply(self) -> None:
        video = self.video or self.labels.videos[0]
        if not self.copies:
            src = previous_labeled_frame(self.labels, video, self.frame_idx)
            if src is None:
                raise ValueError(
                    f"copy previous: no user-labeled frame before {self.frame_idx}"
                )
            self.source_frame = src.frame_idx
            target = find_frame(self.labels, video, self.frame_idx)
            taken = {id(i.track) for i in target.instances if i.track} if target else ()
            for inst in src.user_instances:
                if inst.track is not None and id(inst.track) in taken:
                    continue
                self.copies.append(
                    _user_instance(
                        inst.points["xy"],
                        inst.skeleton,
                        inst.track,
                        inst.points["visible"],
                    )
                )
            if not self.copies:
                raise ValueError(
                    f"copy previous: every track of frame {src.frame_idx} is already "
                    f"on frame {self.frame_idx}"
                )
        lf = self._frame(video, self.frame_idx)
        for inst in self.copies:
            self._add(lf, inst)


@dataclass
class SetSuggestions(LabelCommand):
    """Replace a video's frame suggestions (other videos' are kept)."""

    video: sio.Video | None = None
    frames: list[int] = field(default_factory=list)
    method: str = ""
    _before: list[sio.SuggestionFrame] = field(
        default_factory=list, init=False, repr=False
    )

    @property
    def label(self) -> str:
        """Menu text."""
        return f"{len(self.frames)} {self.method} suggestions".strip()

    def _apply(self) -> None:
        video = self.video or self.labels.videos[0]
        self._before = list(self.labels.suggestions)
        kept = [s for s in self.labels.suggestions if s.video is not video]
        new = [
            sio.SuggestionFrame(
                video=video, frame_idx=int(f), metadata={"method": self.method}
            )
            for f in sorted(set(int(f) for f in self.frames))
        ]
        self.labels.suggestions[:] = kept + new

    def undo(self) -> None:
        """Restore the previous suggestions."""
        self.labels.suggestions[:] = self._before
        super().undo()


@dataclass
class Changes:
    """What one run (or undo) of a command touched, for views that follow it.

    Attributes:
        retracked: Instances whose track changed.
        frames: Frames that gained or lost instances (or were added/dropped).
        moved: Instances whose points changed.
    """

    retracked: list[sio.Instance]
    frames: list[sio.LabeledFrame]
    moved: list[sio.Instance]

    @property
    def retrack_only(self) -> bool:
        """True when only tracks changed (a swap, say): no rows come or go."""
        return not self.frames and not self.moved


def command_changes(command: Command) -> Changes:
    """The instances and frames a command recorded as changed.

    The one place that reads the commands' undo records, so views (the napari
    layers) don't depend on how commands keep them.
    """
    frames: dict[int, sio.LabeledFrame] = {}
    for lf, _, _ in command._removed:
        frames[id(lf)] = lf
    moved: list[sio.Instance] = []
    if isinstance(command, LabelCommand):
        for lf, _ in command._added:
            frames[id(lf)] = lf
        for lf in command._new_frames:
            frames[id(lf)] = lf
        for lf, _, _, _ in command._replaced:
            frames[id(lf)] = lf
        moved = [inst for inst, _ in command._old_points]
    return Changes(
        retracked=[inst for inst, _ in command._retracked],
        frames=list(frames.values()),
        moved=moved,
    )
