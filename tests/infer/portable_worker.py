"""Run the portable pipeline in a fresh process (the backend is chosen at import).

``KERAS_BACKEND=jax python tests/infer/portable_worker.py OUT.npz VIDEO FRAMES
THRESHOLD [--tta=MODE] MODEL_DIR...`` predicts the frames (``a-b``) and saves the
fixed-shape arrays, identity classes, the backend and whether TensorFlow got imported.

``... portable_worker.py --serve`` answers such jobs one after another: one JSON
argument list per stdin line, one JSON line back (``{"ok": true}`` or
``{"error": traceback}``). The tests keep one serving process per backend, so
the backend and Keras are imported once, not once per job.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import numpy as np


def main(argv: list[str]) -> int:
    out, video, frames, threshold, *dirs = argv
    tta = "none"
    if dirs and dirs[0].startswith("--tta="):
        tta = dirs.pop(0).removeprefix("--tta=")
    from napari_sleap.infer.portable import load_portable
    from napari_sleap.io.video import open_video

    lo, hi = (int(x) for x in frames.split("-"))
    images = open_video(video).read_frames(range(lo, hi + 1))
    pipe = load_portable(dirs, batch_size=4, peak_threshold=float(threshold), tta=tta)
    points, scores, inst = pipe.predict_arrays(images)
    one = pipe.predict_frame(images[0])
    classes = np.full(inst.shape, -1, np.int64)  # identity class per live slot
    for i, poses in enumerate(pipe.predict(images)):
        if poses.class_inds is not None:
            classes[i, : len(poses)] = poses.class_inds
    np.savez(
        out,
        points=points,
        scores=scores,
        instance_scores=inst,
        frame0=one.points,
        class_inds=classes,
        backend=pipe.backend,
        tensorflow_imported="tensorflow" in sys.modules,
    )
    return 0


def serve() -> int:
    """Run the jobs read from stdin until it closes; replies go to the real stdout."""
    reply = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the replies
    for line in sys.stdin:
        try:
            main(json.loads(line))
            answer = {"ok": True}
        except Exception:  # reported to the test, which fails with it
            answer = {"error": traceback.format_exc()}
        reply.write(json.dumps(answer) + "\n")
        reply.flush()
    return 0


if __name__ == "__main__":
    sys.exit(serve() if sys.argv[1:] == ["--serve"] else main(sys.argv[1:]))
