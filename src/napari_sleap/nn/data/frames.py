"""Read the labeled frames of a Labels object into memory, in file order.

Frames come through ``napari_sleap.io.video.open_sleap_video``, the decoder
inference uses too, so training and inference see the same pixels. Frames are
read in ascending order per video so the decoder reads on instead of seeking.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import sleap_io as sio

from napari_sleap.io.video import VideoReader, open_sleap_video
from napari_sleap.progress import ProgressFn, StopFlag, check_stop


def _reader(video: sio.Video) -> VideoReader:
    """A frame reader for a sleap-io video: ``reader[i] -> (H, W, C)``."""
    return open_sleap_video(video)


def to_channels(frame: np.ndarray, channels: int) -> np.ndarray:
    """Make ``frame`` (H, W[, C]) uint8 with ``channels`` channels (1 or 3)."""
    frame = np.asarray(frame)
    if frame.ndim == 2:
        frame = frame[:, :, None]
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    have = frame.shape[2]
    if have == channels:
        return frame
    if channels == 1:
        # ITU-R 601 luma, as OpenCV's gray conversion.
        gray = frame[:, :, :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114])
        return np.round(gray).astype(np.uint8)[:, :, None]
    return np.repeat(frame[:, :, :1], 3, axis=2)


def read_frames(
    labels,
    keys: list[tuple[int, int]],
    channels: int,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
) -> dict[tuple[int, int], np.ndarray]:
    """Decode frames ``(video_index, frame_index)`` of ``labels``.

    Raises:
        FileNotFoundError: a video cannot be opened; names the file.
    """
    by_video: dict[int, list[int]] = defaultdict(list)
    for v, f in keys:
        by_video[v].append(f)
    out: dict[tuple[int, int], np.ndarray] = {}
    total, done = len(keys), 0
    for v, frames in sorted(by_video.items()):
        video = labels.videos[v]
        try:
            reader = _reader(video)
        except Exception as err:  # noqa: BLE001 - any decoder failure: say which file
            raise FileNotFoundError(
                f"cannot open video {video.filename!r} (labels video {v}): {err}; "
                "check that the file exists beside the .slp or relink it"
            ) from err
        for f in sorted(set(frames)):
            check_stop(stop)
            try:
                frame = reader.read(f) if hasattr(reader, "read") else reader[f]
            except Exception as err:  # noqa: BLE001
                raise FileNotFoundError(
                    f"cannot read frame {f} of video {video.filename!r}: {err}"
                ) from err
            if frame is None:
                raise FileNotFoundError(
                    f"cannot read frame {f} of video {video.filename!r}"
                )
            out[(v, f)] = to_channels(
                np.asarray(frame).squeeze(axis=0) if np.ndim(frame) == 4 else frame,
                channels,
            )
            done += 1
            if progress is not None:
                progress(done, total)
    return out
