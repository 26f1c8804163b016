"""Undoable track edits for proofreading: swap, assign, merge, split, delete.

Each edit is a :class:`~napari_sleap.labeling.history.Command` with ``do()`` and
``undo()``; :class:`~napari_sleap.labeling.history.UndoStack` runs them and keeps the
history, so the napari workbench (or a script) edits tracks with one call and undoes
with another. Commands record exactly what they changed (instance tracks, removed
instances and their positions, the track list), so undo restores the labels object for
object, not just in value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sleap_io as sio

from napari_sleap.labeling.history import Command


def _in_range(
    lf: sio.LabeledFrame, start: int, stop: int | None, video: sio.Video | None
) -> bool:
    if video is not None and lf.video is not video:
        return False
    return lf.frame_idx >= start and (stop is None or lf.frame_idx < stop)


def _frames(
    labels: sio.Labels, start: int = 0, stop: int | None = None, video=None
) -> Iterable[sio.LabeledFrame]:
    return (lf for lf in labels.labeled_frames if _in_range(lf, start, stop, video))


def _require_track(labels: sio.Labels, track: sio.Track, what: str) -> None:
    if not any(t is track for t in labels.tracks):
        raise ValueError(
            f"{what}: track {track.name!r} is not one of these labels' tracks "
            f"({[t.name for t in labels.tracks]}); pass a track from labels.tracks"
        )


@dataclass
class SwapTracks(Command):
    """Exchange two tracks' instances from frame ``start`` on (to ``stop``, excl.)."""

    track_a: sio.Track
    track_b: sio.Track
    start: int = 0
    stop: int | None = None
    video: sio.Video | None = None

    @property
    def label(self) -> str:
        """Menu text."""
        return f"swap {self.track_a.name} and {self.track_b.name}"

    def _apply(self) -> None:
        _require_track(self.labels, self.track_a, "swap")
        _require_track(self.labels, self.track_b, "swap")
        for lf in _frames(self.labels, self.start, self.stop, self.video):
            for inst in lf.instances:
                if inst.track is self.track_a:
                    self._set_track(inst, self.track_b)
                elif inst.track is self.track_b:
                    self._set_track(inst, self.track_a)


@dataclass
class AssignTrack(Command):
    """Put one instance on a track (new tracks are added to the labels).

    An instance of the same frame already on that track takes the instance's old
    track in exchange, so no track appears twice in a frame.
    """

    instance: sio.Instance
    track: sio.Track | None = None

    @property
    def label(self) -> str:
        """Menu text."""
        return f"assign to {self.track.name if self.track else 'no track'}"

    def _apply(self) -> None:
        frame = next(
            (
                lf
                for lf in self.labels.labeled_frames
                if any(i is self.instance for i in lf.instances)
            ),
            None,
        )
        if frame is None:
            raise ValueError("assign: the instance is in none of the labels' frames")
        old = self.instance.track
        if self.track is None:
            self._set_track(self.instance, None)
            return
        self._add_track(self.track)
        for inst in frame.instances:
            if inst is not self.instance and inst.track is self.track:
                self._set_track(inst, old)
        self._set_track(self.instance, self.track)


@dataclass
class MergeTracks(Command):
    """Move every instance of ``source`` onto ``target`` and drop ``source``.

    Refuses (ValueError naming the frames) where both tracks hold an instance in
    the same frame: one of each pair must be reassigned or deleted first.
    """

    source: sio.Track
    target: sio.Track

    @property
    def label(self) -> str:
        """Menu text."""
        return f"merge {self.source.name} into {self.target.name}"

    def _apply(self) -> None:
        _require_track(self.labels, self.source, "merge")
        _require_track(self.labels, self.target, "merge")
        if self.source is self.target:
            raise ValueError(f"merge: {self.source.name!r} is both source and target")
        clash = [
            lf.frame_idx
            for lf in self.labels.labeled_frames
            if any(i.track is self.source for i in lf.instances)
            and any(i.track is self.target for i in lf.instances)
        ]
        if clash:
            shown = ", ".join(map(str, clash[:10])) + (
                " ..." if len(clash) > 10 else ""
            )
            raise ValueError(
                f"merge: tracks {self.source.name!r} and {self.target.name!r} both "
                f"have an instance in frame(s) {shown}; reassign or delete one of "
                "each pair first"
            )
        for lf in self.labels.labeled_frames:
            for inst in lf.instances:
                if inst.track is self.source:
                    self._set_track(inst, self.target)
        self.labels.tracks[:] = [t for t in self.labels.tracks if t is not self.source]


@dataclass
class SplitTrack(Command):
    """Move a track's instances from frame ``start`` on to a new track."""

    track: sio.Track
    start: int = 0
    new_name: str | None = None
    video: sio.Video | None = None
    new_track: sio.Track | None = field(default=None, init=False)

    @property
    def label(self) -> str:
        """Menu text."""
        return f"split {self.track.name} at {self.start}"

    def _apply(self) -> None:
        _require_track(self.labels, self.track, "split")
        if self.new_track is None:
            taken = {t.name for t in self.labels.tracks}
            name = self.new_name or f"{self.track.name}_{self.start}"
            if name in taken:
                raise ValueError(f"split: a track named {name!r} exists; pick another")
            self.new_track = sio.Track(name=name)
        self._add_track(self.new_track)
        for lf in _frames(self.labels, self.start, None, self.video):
            for inst in lf.instances:
                if inst.track is self.track:
                    self._set_track(inst, self.new_track)


@dataclass
class DeleteTrack(Command):
    """Remove a track: its instances become untracked (or are deleted)."""

    track: sio.Track
    delete_instances: bool = False

    @property
    def label(self) -> str:
        """Menu text."""
        return f"delete track {self.track.name}"

    def _apply(self) -> None:
        _require_track(self.labels, self.track, "delete track")
        for lf in self.labels.labeled_frames:
            for inst in list(lf.instances):
                if inst.track is self.track:
                    if self.delete_instances:
                        self._remove(lf, inst)
                    else:
                        self._set_track(inst, None)
        self.labels.tracks[:] = [t for t in self.labels.tracks if t is not self.track]


@dataclass
class DeleteTrackInstances(Command):
    """Delete a track's instances in frames ``start <= idx < stop``."""

    track: sio.Track
    start: int = 0
    stop: int | None = None
    video: sio.Video | None = None

    @property
    def label(self) -> str:
        """Menu text."""
        end = "end" if self.stop is None else self.stop - 1
        return f"delete {self.track.name} in {self.start}-{end}"

    def _apply(self) -> None:
        _require_track(self.labels, self.track, "delete instances")
        for lf in _frames(self.labels, self.start, self.stop, self.video):
            for inst in list(lf.instances):
                if inst.track is self.track:
                    self._remove(lf, inst)


@dataclass
class RenameTrack(Command):
    """Give a track a new name (unique among the labels' tracks).

    The instances on the track are recorded as changed (their track stays), so
    views that show track names redraw them.
    """

    track: sio.Track
    name: str
    _old_name: str = field(default="", init=False, repr=False)

    @property
    def label(self) -> str:
        """Menu text."""
        return f"rename {self._old_name or self.track.name} to {self.name}"

    def _apply(self) -> None:
        self._old_name = self.track.name  # before any check: a refusal undoes
        _require_track(self.labels, self.track, "rename")
        name = self.name.strip()
        if not name:
            raise ValueError("rename track: type a name (it is empty)")
        taken = [t.name for t in self.labels.tracks if t is not self.track]
        if name in taken:
            raise ValueError(
                f"rename track: another track is already named {name!r}; "
                "choose a name not in " + ", ".join(taken)
            )
        self.name = name
        self.track.name = name
        for lf in self.labels.labeled_frames:
            for inst in lf.instances:
                if inst.track is self.track:
                    self._retracked.append((inst, self.track))

    def undo(self) -> None:
        """Put the old name back."""
        super().undo()
        self.track.name = self._old_name
