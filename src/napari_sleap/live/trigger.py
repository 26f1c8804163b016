"""A proximity trigger on live poses, and how its times compare with labels.

The rule: the trigger is on while one animal's ``node`` (its head) is within
``distance_px`` of another animal's ``target`` node (its thorax). The same rule
applied to proofread labels gives the times it *should* have fired;
:func:`compare_to_labels` scores the live trigger against them: per processed
frame, per frame with the last decision held over dropped frames, and by the
delay from the frame where the labels turn on to the moment the trigger fired.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def node_index(node_names: Sequence[str], name: str) -> int:
    """Index of the node called ``name`` (case-insensitive).

    Raises:
        ValueError: naming the node and the skeleton's nodes.
    """
    lowered = [n.lower() for n in node_names]
    if name.lower() not in lowered:
        raise ValueError(
            f"the skeleton has no node {name!r}; its nodes are "
            f"{', '.join(node_names)}. Fix: pass one of them (--node/--target)"
        )
    return lowered.index(name.lower())


def proximity(points: np.ndarray, node: int, target: int) -> float:
    """Smallest distance from one animal's ``node`` to another animal's ``target``.

    Args:
        points: ``(animals, nodes, 2)``; NaN for missing nodes.
        node: index of the approaching animal's node.
        target: index of the other animal's node.

    Returns:
        Pixels; NaN with fewer than two animals or the nodes missing.
    """
    points = np.asarray(points, np.float64)
    if points.ndim != 3 or len(points) < 2:
        return float("nan")
    a = points[:, node][:, None, :]  # (animals, 1, 2)
    b = points[:, target][None, :, :]  # (1, animals, 2)
    d = np.linalg.norm(a - b, axis=-1)
    np.fill_diagonal(d, np.nan)
    if np.all(np.isnan(d)):
        return float("nan")
    return float(np.nanmin(d))


@dataclass
class TriggerEvent:
    """The trigger switched ``on`` (or off) at ``t`` (``perf_counter``) on a frame."""

    index: int
    t: float
    on: bool


@dataclass
class ProximityTrigger:
    """On while one animal's ``node`` is within ``distance_px`` of another's ``target``.

    Call it with a :class:`~napari_sleap.live.loop.LiveResult` (as the loop's
    ``on_result``); it returns the state and calls ``on_change(on, result)``
    when the state flips (where a stimulus would be switched).

    Attributes:
        node_names: the model's skeleton nodes.
        distance_px: the distance that switches it on (strictly closer).
        node: the approaching animal's node ("head").
        target: the other animal's node ("thorax").
        on_change: called on every switch.
        events: every switch, in order.
    """

    node_names: Sequence[str]
    distance_px: float
    node: str = "head"
    target: str = "thorax"
    on_change: Callable[[bool, Any], None] | None = None
    events: list[TriggerEvent] = field(default_factory=list)
    state: bool = False

    def __post_init__(self) -> None:
        if not self.distance_px > 0:
            raise ValueError(f"distance_px must be > 0 (got {self.distance_px})")
        self._node = node_index(self.node_names, self.node)
        self._target = node_index(self.node_names, self.target)

    def holds(self, points: np.ndarray) -> bool:
        """Whether the rule holds for one frame's ``(animals, nodes, 2)`` points."""
        d = proximity(points, self._node, self._target)
        return bool(d < self.distance_px)  # NaN compares False

    def __call__(self, result: Any) -> bool:
        """Update the state from a live result's poses; fire on a switch."""
        on = self.holds(result.poses.points)
        if on != self.state:
            self.state = on
            self.events.append(TriggerEvent(int(result.index), time.perf_counter(), on))
            if self.on_change is not None:
                self.on_change(on, result)
        return on


def rule_from_labels(
    labels: Any,
    frames: Iterable[int],
    distance_px: float,
    node: str = "head",
    target: str = "thorax",
) -> dict[int, bool]:
    """Where the rule holds in a labels file's user instances, per frame.

    A frame without two labeled animals counts as off (the rule cannot hold).
    """
    video = labels.videos[0]
    names = [n.name for n in labels.skeletons[0].nodes]
    a, b = node_index(names, node), node_index(names, target)
    by_frame = {lf.frame_idx: lf for lf in labels.find(video)}
    out = {}
    for f in frames:
        lf = by_frame.get(int(f))
        insts = list(lf.user_instances) if lf is not None else []
        if len(insts) < 2:
            out[int(f)] = False
            continue
        pts = np.stack([np.asarray(i.numpy(), np.float64) for i in insts])
        out[int(f)] = bool(proximity(pts, a, b) < distance_px)
    return out


def onsets(states: dict[int, bool]) -> list[int]:
    """Frames where the state turns on (off at the frame before; not the first)."""
    frames = sorted(states)
    pairs = zip(frames, frames[1:], strict=False)
    return [f for p, f in pairs if states[f] and not states[p]]


def _precision_recall(pred: Iterable[bool], truth: Iterable[bool]) -> dict[str, Any]:
    p = np.asarray(list(pred), bool)
    t = np.asarray(list(truth), bool)
    tp, fp, fn = int(np.sum(p & t)), int(np.sum(p & ~t)), int(np.sum(~p & t))
    return {
        "frames": int(len(p)),
        "on_truth": int(t.sum()),
        "on_live": int(p.sum()),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
    }


def compare_to_labels(
    decisions: dict[int, bool],
    events: Sequence[TriggerEvent],
    truth: dict[int, bool],
    due_time: Callable[[int], float],
    early_frames: int = 15,
) -> dict[str, Any]:
    """Score a live trigger against the rule computed from labels.

    Args:
        decisions: processed frame -> the trigger's state there.
        events: the trigger's switches (with the time each fired).
        truth: frame -> whether the rule holds in the labels (every frame of
            the run).
        due_time: frame -> when the camera released it (``perf_counter``).
        early_frames: a live onset up to this many frames before a labeled
            onset counts as that onset (the poses may cross the line first); a
            later one counts until the next labeled onset, however late.

    Returns:
        ``processed``: precision/recall of on-frames over processed frames;
        ``held``: the same over every frame, each taking the state of the
        last processed frame at or before it (what a stimulus would follow);
        ``onsets``: labeled onsets, matched, missed, false live onsets, and the
        delay in ms from a labeled onset frame's release to the trigger firing.
    """
    frames = sorted(truth)
    seen = sorted(f for f in decisions if f in truth)
    processed = _precision_recall(
        [decisions[f] for f in seen], [truth[f] for f in seen]
    )
    held_states, state, k = [], False, 0
    for f in frames:
        while k < len(seen) and seen[k] <= f:
            state = decisions[seen[k]]
            k += 1
        held_states.append(state)
    held = _precision_recall(held_states, [truth[f] for f in frames])
    truth_on = onsets(truth)
    live_on = [e for e in events if e.on and e.index in truth]
    used: set[int] = set()
    delays, missed = [], []
    for n, f in enumerate(truth_on):
        until = truth_on[n + 1] if n + 1 < len(truth_on) else float("inf")
        match = next(
            (
                j
                for j, e in enumerate(live_on)
                if j not in used and f - early_frames <= e.index < until
            ),
            None,
        )
        if match is None:
            missed.append(f)
            continue
        used.add(match)
        delays.append((live_on[match].t - due_time(f)) * 1000.0)
    false_on = [e.index for j, e in enumerate(live_on) if j not in used]
    first = min(decisions) if decisions else None  # the state it starts in
    return {
        "processed": processed,
        "held": held,
        "onsets": {
            "labels": truth_on,
            "matched": len(delays),
            "missed": missed,
            "false": [f for f in false_on if f != first],
            "delay_ms": [round(d, 1) for d in delays],
            "delay_ms_median": float(np.median(delays)) if delays else float("nan"),
            "delay_ms_max": float(np.max(delays)) if delays else float("nan"),
            "early_frames": early_frames,
        },
    }
