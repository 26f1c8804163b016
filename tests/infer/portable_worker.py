"""Run the portable pipeline in a fresh process (the backend is chosen at import).

``KERAS_BACKEND=jax python tests/infer/portable_worker.py OUT.npz VIDEO FRAMES
THRESHOLD MODEL_DIR...`` predicts the frames (``a-b``) and saves the
fixed-shape arrays, identity classes, the backend and whether TensorFlow got imported.
"""

from __future__ import annotations

import sys

import numpy as np


def main(argv: list[str]) -> int:
    out, video, frames, threshold, *dirs = argv
    from napari_sleap.infer.portable import load_portable
    from napari_sleap.io.video import open_video

    lo, hi = (int(x) for x in frames.split("-"))
    images = open_video(video).read_frames(range(lo, hi + 1))
    pipe = load_portable(dirs, batch_size=4, peak_threshold=float(threshold))
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
