"""Fire a trigger when one animal's head comes within N px of another's thorax.

A closed-loop example of :mod:`napari_sleap.live`: poses from a camera, or a
video replayed at its frame rate as a stand-in camera, and a decision on each
frame. ``on_change`` is where a stimulus (a TTL pulse, a light) would be
switched; here it prints the switch with its delay since the frame was grabbed.

    python examples/proximity_trigger.py MODEL_DIR... SOURCE [--distance 60]
        [--node head] [--target thorax] [--fps 30] [--frames 0-1249]
        [--labels clip_0-1249.slp]

With ``--labels`` (proofread poses of the replayed frames) the trigger's times
are compared with the times the same rule gives on the labels: precision and
recall of trigger-on frames, and the delay from each labeled onset to the
moment the trigger fired. ``bench/bench_live.py`` runs this on the fly clip and
records the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from napari_sleap.live import LiveLoop, VideoReplaySource, load_live_model, open_source
from napari_sleap.live.trigger import (
    ProximityTrigger,
    compare_to_labels,
    rule_from_labels,
)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the trigger live; return the summary (and the comparison with labels)."""
    from napari_sleap.io.frames import parse_frames

    frames = parse_frames(args.frames) if args.frames else None
    source = open_source(args.source, fps=args.fps, frames=frames)
    model = load_live_model(args.models, engine=args.engine, max_instances=2)

    def switched(on: bool, result: Any) -> None:
        delay = (time.perf_counter() - result.t_grab) * 1000
        print(
            f"trigger {'ON ' if on else 'off'} at frame {result.index} ({delay:.0f} ms)"
        )

    trigger = ProximityTrigger(
        model.node_names, args.distance, args.node, args.target, on_change=switched
    )
    loop = LiveLoop(source, model, on_result=trigger)
    summary = loop.run()
    print("\n".join(summary.lines()))
    out: dict[str, Any] = {"summary": summary.to_dict()}
    if args.labels and isinstance(source, VideoReplaySource):
        import sleap_io as sio

        truth = rule_from_labels(
            sio.load_slp(args.labels),
            source.frames,
            args.distance,
            args.node,
            args.target,
        )
        decisions = {r.index: bool(r.decision) for r in loop.results}
        score = compare_to_labels(decisions, trigger.events, truth, source.due_of_frame)
        held, onsets = score["held"], score["onsets"]
        print(
            f"vs labels: held-state precision {held['precision']:.3f}, recall "
            f"{held['recall']:.3f}; onsets {onsets['matched']}/{len(onsets['labels'])} "
            f"found, {len(onsets['false'])} false, delay median "
            f"{onsets['delay_ms_median']:.0f} ms"
        )
        out["vs_labels"] = score
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", metavar="MODEL_DIR")
    p.add_argument("source", help="camera index or video file")
    p.add_argument("--distance", type=float, default=60.0, help="N px (60)")
    p.add_argument("--node", default="head")
    p.add_argument("--target", default="thorax")
    p.add_argument("--fps", type=float)
    p.add_argument("--frames", help="video frames to replay, e.g. 0-1249")
    p.add_argument("--labels", help="proofread .slp of the replayed frames")
    p.add_argument("--engine", default="predictor", choices=("predictor", "portable"))
    run(p.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
