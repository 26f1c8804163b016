"""Live frame sources: a camera through OpenCV, or a video replayed as a camera.

A source runs a grab thread that puts each new frame in a one-frame slot
(:class:`LatestFrame`). The consumer always takes the newest frame; a frame
replaced before anyone took it counts as dropped. So a model slower than the
camera falls behind by at most one frame instead of lagging ever more.

A video file replayed as a stand-in camera releases frame ``k`` of the
selection at ``start + k / fps`` (the file's rate unless given), whatever the
consumer does, as a camera exposes frames on its own clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Frame rate used for a camera that reports none (OpenCV answers 0).
DEFAULT_CAMERA_FPS = 30.0


@dataclass
class Grabbed:
    """One frame as the source delivered it.

    Attributes:
        index: frame number in the video (replay) or since the camera started.
        image: ``(height, width, channels)`` uint8.
        t_grab: ``time.perf_counter()`` when the frame entered the slot.
        t_due: when the camera clock released it (replay; equals ``t_grab`` for a
            camera, whose frames are stamped as they arrive).
    """

    index: int
    image: np.ndarray
    t_grab: float
    t_due: float


class LatestFrame:
    """A one-frame slot: ``put`` replaces, ``take`` waits for a frame not yet taken."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Grabbed | None = None
        self._closed = False
        #: Frames replaced before they were taken.
        self.dropped = 0
        #: Frames put in the slot.
        self.put_count = 0

    def put(self, frame: Grabbed) -> None:
        """Hold ``frame`` as the newest; an untaken older frame is dropped."""
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.put_count += 1
            self._cond.notify_all()

    def close(self) -> None:
        """No more frames will come; a waiting ``take`` returns what is left."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def take(self, timeout: float | None = None) -> Grabbed | None:
        """The newest untaken frame, waiting for one; None once closed and empty.

        Raises:
            TimeoutError: if no frame came within ``timeout`` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(
                lambda: self._frame is not None or self._closed, timeout
            ):
                raise TimeoutError(f"no frame within {timeout} s")
            frame, self._frame = self._frame, None
            return frame

    @property
    def pending(self) -> int:
        """1 when a frame waits in the slot, else 0."""
        with self._cond:
            return int(self._frame is not None)


class FrameSource:
    """Base of live sources: a grab thread filling a :class:`LatestFrame`.

    Subclasses implement :meth:`_grab_loop` (put frames until the end or until
    ``self._stop`` is set) and :meth:`_release`.
    """

    #: Human-readable name of the source, for messages and summaries.
    name: str = "source"
    #: Frames per second the source delivers.
    fps: float = DEFAULT_CAMERA_FPS
    #: Frames the source will deliver (None: until stopped).
    length: int | None = None

    def __init__(self) -> None:
        self.slot = LatestFrame()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        #: ``perf_counter`` when grabbing started.
        self.t_start: float | None = None
        #: Frames the source could not deliver in time (replay: decoding fell
        #: behind the clock, so the next frame was already due).
        self.late = 0

    def first_frame(self) -> np.ndarray:
        """A frame of the kind the source delivers (to warm a model up)."""
        raise NotImplementedError

    def start(self) -> None:
        """Start the grab thread (once)."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} was already started")
        self.t_start = time.perf_counter()
        self._thread = threading.Thread(
            target=self._run, daemon=True, name="napari-sleap-grab"
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            self._grab_loop()
        except BaseException as err:  # handed to the consumer by take()
            self._error = err
        finally:
            self.slot.close()
            self._release()

    def _grab_loop(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:  # noqa: B027 (optional hook)
        """Close the device or file (called on the grab thread when it ends)."""

    def take(self, timeout: float | None = 10.0) -> Grabbed | None:
        """The newest frame not yet taken; None when the source has ended.

        Raises:
            RuntimeError: naming the source when its grab thread failed.
            TimeoutError: if no frame came within ``timeout`` seconds.
        """
        frame = self.slot.take(timeout)
        if frame is None and self._error is not None:
            raise RuntimeError(
                f"{self.name}: grabbing failed ({type(self._error).__name__}: "
                f"{self._error})"
            ) from self._error
        return frame

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the grab thread to end and wait for it (safe to call twice).

        A source that never started releases its device or file here.
        """
        already = self._stop.is_set()
        self._stop.set()
        if self._thread is None:
            if not already:
                self._release()
        elif self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the grab thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def dropped(self) -> int:
        """Frames the consumer never got: replaced in the slot, or late."""
        return self.slot.dropped + self.late

    @property
    def grabbed(self) -> int:
        """Frames the source's clock released so far (late ones included)."""
        return self.slot.put_count + self.late


class VideoReplaySource(FrameSource):
    """A video file replayed in real time, as if a camera were filming it.

    Frames are decoded with the package's own reader (the pixels the models were
    trained on) on the grab thread and released on the camera clock. A frame
    decoded after the next one was due is skipped and counted in :attr:`late`
    (a camera would have replaced it), so a busy machine makes the replay drop
    frames, never deliver old ones in a burst.

    Args:
        path: the video file.
        fps: replay rate (None: the rate the file records).
        frames: frame indices to replay, in order (None: all).
        grayscale: passed to :func:`napari_sleap.io.video.open_video`.

    Raises:
        FileNotFoundError: naming the file and the fix when it does not exist.
        ValueError: when the file is not a readable video, has no rate and none
            was given, or ``frames`` falls outside it.
    """

    def __init__(
        self,
        path: str | Path,
        fps: float | None = None,
        frames: Sequence[int] | None = None,
        grayscale: bool | None = None,
    ) -> None:
        super().__init__()
        from napari_sleap.io.video import open_video

        path = Path(path).expanduser()
        if not path.exists():
            raise FileNotFoundError(
                f"live source not found: {path}. Fix: give an existing video file "
                "to replay, or a camera index (0, 1, ...) to film live"
            )
        self.path = path
        self.name = f"video {path.name}"
        self.reader = open_video(path, grayscale=grayscale)
        n = self.reader.n_frames
        if n == 0:
            self.reader.close()
            raise ValueError(f"{path}: the video has no frames to replay")
        rate = fps if fps is not None else self.reader.fps
        if not rate or rate <= 0:
            self.reader.close()
            raise ValueError(
                f"{path}: the file records no frame rate; give one with --fps "
                "(fps= from Python)"
            )
        self.fps = float(rate)
        inds = list(range(n)) if frames is None else [int(i) for i in frames]
        bad = [i for i in inds if not 0 <= i < n]
        if bad or not inds:
            self.reader.close()
            raise ValueError(
                f"{path}: frames {bad[:3] or 'none'} outside the video's 0..{n - 1}"
            )
        self.frames = inds
        self.length = len(inds)
        self._first = np.asarray(self.reader[inds[0]])

    def first_frame(self) -> np.ndarray:
        """The first frame to be replayed (already decoded when opening)."""
        return self._first

    def due_time(self, k: int) -> float:
        """When the ``k``-th frame of the selection is released (``perf_counter``)."""
        assert self.t_start is not None, "the source has not started"
        return self.t_start + k / self.fps

    def due_of_frame(self, index: int) -> float:
        """When video frame ``index`` (of the selection) is released."""
        if not hasattr(self, "_position"):
            self._position = {f: k for k, f in enumerate(self.frames)}
        return self.due_time(self._position[int(index)])

    def _grab_loop(self) -> None:
        for k, index in enumerate(self.frames):
            image = self._first if k == 0 else np.asarray(self.reader[index])
            due = self.due_time(k)
            if k + 1 < len(self.frames) and time.perf_counter() >= self.due_time(k + 1):
                # Decoding fell behind the clock: a camera would already show
                # the next frame, so this one is never seen (no stale bursts).
                self.late += 1
                continue
            wait = due - time.perf_counter()
            if wait > 0 and self._stop.wait(wait):
                return
            if self._stop.is_set():
                return
            self.slot.put(Grabbed(index, image, time.perf_counter(), due))

    def _release(self) -> None:
        self.reader.close()


class CameraSource(FrameSource):
    """A camera through OpenCV's ``VideoCapture``, frames stamped as they arrive.

    Args:
        index: the camera's index (0 is the first camera).
        fps: ask the camera for this rate (None: its default).
        width, height: ask the camera for this frame size (None: its default).
        grayscale: deliver one channel (luma) instead of RGB.

    Raises:
        ValueError: naming the index and the fix when no camera answers there.
    """

    def __init__(
        self,
        index: int,
        fps: float | None = None,
        width: int | None = None,
        height: int | None = None,
        grayscale: bool = False,
    ) -> None:
        super().__init__()
        import cv2

        self.index = int(index)
        self.name = f"camera {self.index}"
        self.grayscale = grayscale
        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            raise ValueError(
                f"camera {self.index} could not be opened (OpenCV found no camera "
                f"at index {self.index}). Fix: plug the camera in and check it is "
                "listed (e.g. /dev/video* on Linux) and not in use by another "
                "program, try another index, or give a video file to replay"
            )
        for prop, value in (
            (cv2.CAP_PROP_FPS, fps),
            (cv2.CAP_PROP_FRAME_WIDTH, width),
            (cv2.CAP_PROP_FRAME_HEIGHT, height),
        ):
            if value:
                cap.set(prop, float(value))
        ok, frame = cap.read()
        if not ok or frame is None:
            cap.release()
            raise ValueError(
                f"camera {self.index} opened but gave no frame. Fix: check that "
                "no other program holds it, and its cable and permissions"
            )
        self.cap = cap
        self.fps = float(fps or cap.get(cv2.CAP_PROP_FPS) or DEFAULT_CAMERA_FPS)
        self._first = self._convert(frame)

    def _convert(self, bgr: Any) -> np.ndarray:
        import cv2

        if self.grayscale:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)[..., None]
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def first_frame(self) -> np.ndarray:
        """The frame read when opening (to warm a model up)."""
        return self._first

    def _grab_loop(self) -> None:
        count = 0
        while not self._stop.is_set():
            ok, frame = self.cap.read()
            if not ok:
                raise RuntimeError(f"camera {self.index} stopped giving frames")
            now = time.perf_counter()
            self.slot.put(Grabbed(count, self._convert(frame), now, now))
            count += 1

    def _release(self) -> None:
        self.cap.release()


def open_source(
    spec: str | int | Path,
    fps: float | None = None,
    frames: Sequence[int] | None = None,
    grayscale: bool | None = None,
) -> FrameSource:
    """A camera for an integer (``0`` or ``"0"``), else a video file replayed.

    Raises:
        FileNotFoundError, ValueError: naming the source and the fix.
    """
    text = str(spec).strip()
    if isinstance(spec, int) or text.isdigit():
        if frames is not None:
            raise ValueError(
                f"--frames selects frames of a video file; camera {text} films live"
            )
        return CameraSource(int(text), fps=fps, grayscale=bool(grayscale))
    return VideoReplaySource(Path(text), fps=fps, frames=frames, grayscale=grayscale)
