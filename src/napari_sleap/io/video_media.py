"""Frame-exact reads from media files (mp4, avi, mov, mkv, ...) with PyAV.

Why PyAV: it decodes in-process, so one decoder stays open per reader, and every
decoded frame carries its timestamp, so frame ``i`` is identified by the ``i``-th
smallest presentation timestamp among the stream's packets (an index built on open
by demuxing, which reads no pixels). Forward steps read on from the current
position; a random frame seeks to the keyframe before it and decodes up to it,
converting only the frame asked for. Pixels are converted by FFmpeg's swscale
(``gray``/``rgb24``), the same conversion the ``ffmpeg`` command line and
imageio-ffmpeg make, and every reader of media files in this package uses it, so
training and inference see identical pixels.

Measured on the 1024x1024 fly clip (quiet 2-core machine): PyAV decodes 1,630
frames/s and converts to gray at ~520; imageio-ffmpeg streams ~800 frames/s but
a seek restarts an ffmpeg process; OpenCV reads ~640 and its gray differs from
swscale's by about 0.4 levels. A random frame costs 44 ms on average here (max
~100 ms, keyframes every 250 frames) because frames before it that no later frame
references (B-frames, 3/4 of this stream) are skipped while decoding up to it.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

import av
import numpy as np

from napari_sleap.io.video_base import VideoReader

#: Extensions read by :class:`MediaReader`.
MEDIA_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".webm", ".mj2")

#: Converted frames kept per reader (each is height x width x channels bytes).
RECENT_FRAMES = 3

#: A forward jump costs one decode per frame, a seek costs a decoder flush plus the
#: decodes from the keyframe; read on when that is no more than this many frames
#: longer than decoding from the keyframe.
SEEK_COST_FRAMES = 8


class MediaReader(VideoReader):
    """A media file read frame by frame through one open PyAV decoder.

    Args:
        path: The video file.
        grayscale: True gives 1 channel (luma), False 3 (RGB); None (default) decides
            from the data: 1 channel when the first frame and one near the middle
            have equal red, green and blue.
        stream: Index of the video stream to read (default the first).
    """

    backend = "media"

    def __init__(
        self, path: str | Path, grayscale: bool | None = None, stream: int = 0
    ) -> None:
        super().__init__(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"video file not found: {self.path}. Check the path, or move the "
                "video back to where it was."
            )
        self.stream_index = stream
        self.seeks = 0  # decoder repositionings, to check that stepping reads on
        self._container: Any = None
        self._stream: Any = None
        self._packets: Any = None
        self._pending: deque = deque()
        self._pos = -1  # index of the last frame taken from the decoder
        # The last few converted frames: viewers ask for a frame more than once,
        # and opening already decoded the first one.
        self._recent: OrderedDict[int, np.ndarray] = OrderedDict()
        self._first: Any = None  # frame 0, kept by the index check for detection
        self._build_index()
        self._detect_format(grayscale)

    # -- opening ---------------------------------------------------------------

    def _open(self) -> None:
        try:
            self._container = av.open(str(self.path))
        except av.error.FFmpegError as err:
            raise ValueError(
                f"cannot open {self.path} as a video ({err}). Convert it with "
                "`ffmpeg -i INPUT -c:v libx264 -pix_fmt yuv420p OUTPUT.mp4`."
            ) from err
        streams = self._container.streams.video
        if len(streams) <= self.stream_index:
            self._container.close()
            self._container = None
            raise ValueError(
                f"{self.path} has {len(streams)} video stream(s); stream "
                f"{self.stream_index} was asked for. Pass a smaller `stream`."
            )
        self._stream = streams[self.stream_index]
        self._packets = None
        self._pending.clear()
        self._pos = -1

    def _build_index(self) -> None:
        """Demux every packet once to learn the frame count, timestamps, keyframes."""
        self._open()
        stream = self._stream
        stamps: list[int | None] = []
        keys: list[bool] = []
        try:
            for packet in self._container.demux(stream):
                if packet.size == 0 or getattr(packet, "is_discard", False):
                    continue
                stamps.append(packet.pts)
                keys.append(bool(packet.is_keyframe))
        except av.error.FFmpegError as err:
            # A truncated recording: keep the frames before the damage.
            warnings.warn(
                f"{self.path} is damaged after {len(stamps)} frames ({err}); reading "
                "those frames only",
                stacklevel=3,
            )
        if not stamps:
            raise ValueError(
                f"{self.path} holds no video frames. Check that the file is a "
                "complete, playable video."
            )
        self.fps = float(stream.average_rate) if stream.average_rate else None
        self._height = int(stream.codec_context.height)
        self._width = int(stream.codec_context.width)
        # With unique timestamps a decoded frame tells its own index; without them
        # (raw streams, B-frames in AVI) frames are counted, and random access
        # decodes from the start (exact but slow: cache such videos).
        self._timestamped = None not in stamps and len(set(stamps)) == len(stamps)
        if self._timestamped:
            order = np.argsort(np.asarray(stamps, dtype=np.int64), kind="stable")
            self._pts = np.asarray(stamps, dtype=np.int64)[order]
            self._index_of = {int(p): i for i, p in enumerate(self._pts)}
            key_pts = np.asarray(stamps, dtype=np.int64)[np.asarray(keys)]
            self._keyframes = np.sort(
                np.array([self._index_of[int(p)] for p in key_pts], dtype=np.int64)
            )
            if self._keyframes.size == 0 or self._keyframes[0] != 0:
                self._keyframes = np.concatenate([[0], self._keyframes]).astype(int)
        else:
            self._pts = np.arange(len(stamps), dtype=np.int64)
            self._index_of = {}
            self._keyframes = np.array([0], dtype=np.int64)
        self._n = len(stamps)
        self._rewind()
        if self._timestamped and not self._stamps_match_output():
            # e.g. H.264 with B-frames in AVI: the stamps are in decode order, so
            # only counting the decoder's output tells which frame is which.
            self._timestamped = False
            self._pts = np.arange(self._n, dtype=np.int64)
            self._index_of = {}
            self._keyframes = np.array([0], dtype=np.int64)
            self._rewind()

    def _stamps_match_output(self, count: int = 8) -> bool:
        """Whether the first decoded frames carry the first timestamps, in order.

        Leaves the decoder after those frames, keeping the first one for
        :meth:`_detect_format`.
        """
        self._rewind()
        for j in range(min(self._n, count)):
            frame = self._next_frame()
            if frame is None or frame.pts != self._pts[j]:
                return False
            self._pos = j
            if j == 0:
                self._first = frame
        return True

    def _detect_format(self, grayscale: bool | None) -> None:
        """Pick the pixel format frames are converted to, from the data.

        A video counts as grayscale when its first frame and one near the middle
        have equal red, green and blue (so a color video opening on black stays
        color).
        """
        first = self._first if self._first is not None else self._decode_to(0)
        self._first = None
        deep = max(c.bits for c in first.format.components) > 8
        self._dtype = np.dtype(np.uint16 if deep else np.uint8)
        middle_index = self._probe_index()
        middle = None
        if grayscale is None:
            if first.format.name.startswith("gray"):
                grayscale = True
            else:
                grayscale = _looks_gray(first)
                if grayscale and middle_index > 0:
                    middle = self._decode_to(middle_index)
                    grayscale = _looks_gray(middle)
        self.grayscale = grayscale
        if grayscale:
            self._pix_fmt = "gray16le" if deep else "gray"
        else:
            self._pix_fmt = "rgb48le" if deep else "rgb24"
        self._remember(0, self._convert(first))

    def _probe_index(self) -> int:
        """A frame near the middle that is cheap to reach: the keyframe closest to it.

        Without usable keyframes, a frame a little way in (never the true middle of
        a long video, which would mean decoding half of it).
        """
        key = self._keyframes[np.argmin(np.abs(self._keyframes - self._n // 2))]
        if key > 0:
            return int(key)
        return min(self._n // 2, 64)

    # -- VideoReader ---------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(frames, height, width, channels)``."""
        return (self._n, self._height, self._width, 1 if self.grayscale else 3)

    @property
    def dtype(self) -> np.dtype:
        """uint8, or uint16 for videos of more than 8 bits per component."""
        return self._dtype

    @property
    def keyframes(self) -> np.ndarray:
        """Indices of the frames a seek can land on."""
        return self._keyframes.copy()

    def _read(self, index: int) -> np.ndarray:
        array = self._recent.get(index)
        if array is None:
            array = self._convert(self._decode_to(index))
            self._remember(index, array)
        return array.copy()

    def _remember(self, index: int, array: np.ndarray) -> None:
        self._recent[index] = array
        self._recent.move_to_end(index)
        while len(self._recent) > RECENT_FRAMES:
            self._recent.popitem(last=False)

    def _close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = None
        self._stream = None
        self._packets = None
        self._pending.clear()
        self._pos = -1

    def _drop_handles(self, state: dict) -> None:
        for key in ("_container", "_stream", "_packets", "_first"):
            state[key] = None
        state["_pending"] = deque()
        state["_pos"] = -1
        state["_recent"] = OrderedDict()

    # -- decoding ------------------------------------------------------------------

    def _convert(self, frame: Any) -> np.ndarray:
        array = frame.to_ndarray(format=self._pix_fmt)
        return array[..., None] if array.ndim == 2 else array

    def _rewind(self) -> None:
        """Put the decoder at the start of the stream."""
        if self._container is None:
            self._open()
        else:
            self.seeks += 1
            try:
                self._container.seek(0, stream=self._stream, backward=True)
            except av.error.FFmpegError:  # unseekable (raw streams): reopen
                self._container.close()
                self._open()
                return
            self._stream.codec_context.flush_buffers()
            self._packets = None
            self._pending.clear()
            self._pos = -1

    def _next_frame(self, skip_before: int | None = None) -> Any:
        """The next decoded frame in presentation order, or None at the end.

        Packets stamped before ``skip_before`` are decoded with non-reference frames
        skipped: no later frame needs them, and B-frames are most of an H.264
        stream, so a seek decodes about half as much.
        """
        context = self._stream.codec_context
        while not self._pending:
            if self._packets is None:
                self._packets = self._container.demux(self._stream)
            try:
                packet = next(self._packets)
            except StopIteration:
                return None
            if skip_before is not None:
                skip = packet.pts is not None and packet.pts < skip_before
                context.skip_frame = "NONREF" if skip else "DEFAULT"
            self._pending.extend(packet.decode())
        return self._pending.popleft()

    def _frame_index(self, frame: Any) -> int | None:
        if not self._timestamped:
            return self._pos + 1
        return self._index_of.get(frame.pts)

    def _decode_to(self, index: int) -> Any:
        """Position the decoder on frame ``index`` and return that frame."""
        if self._container is None:
            self._open()
        skip_before = int(self._pts[index]) if self._timestamped else None
        # First read on or seek as planned; if the frame went by (a seek landed
        # late, a frame was missing), seek again, then decode from the start.
        plans = [self._should_read_on(index), False, None]
        try:
            for plan in plans:
                if plan is None:
                    self._rewind()
                elif not plan:
                    self._seek_before(index)
                frame = self._decode_forward(index, skip_before)
                if frame is not None:
                    return frame
        finally:
            if self._stream is not None:
                self._stream.codec_context.skip_frame = "DEFAULT"
        raise ValueError(
            f"could not decode frame {index} of {self.path} (the demuxer lists "
            f"{self._n} frames). The file may be truncated or damaged; re-encode "
            "it with ffmpeg."
        )

    def _decode_forward(self, index: int, skip_before: int | None) -> Any:
        """Decode on until frame ``index``; None if it was passed or never came."""
        while True:
            frame = self._next_frame(skip_before)
            if frame is None:
                return None
            found = self._frame_index(frame)
            if found is None:
                continue
            self._pos = found
            if found == index:
                return frame
            if found > index:
                return None

    def _should_read_on(self, index: int) -> bool:
        """True when decoding forward from the current position beats a seek."""
        if index <= self._pos:
            return False
        if not self._timestamped:
            return True
        key = self._keyframe_before(index)
        return key <= self._pos or index - self._pos <= index - key + SEEK_COST_FRAMES

    def _keyframe_before(self, index: int) -> int:
        k = int(np.searchsorted(self._keyframes, index, side="right")) - 1
        return int(self._keyframes[max(k, 0)])

    def _seek_before(self, index: int) -> None:
        if not self._timestamped:
            self._rewind()
            return
        key = self._keyframe_before(index)
        self.seeks += 1
        try:
            self._container.seek(
                int(self._pts[key]), stream=self._stream, backward=True, any_frame=False
            )
        except av.error.FFmpegError:  # unseekable: decode on from the start
            self._rewind()
            return
        self._stream.codec_context.flush_buffers()
        self._packets = None
        self._pending.clear()
        self._pos = key - 1


def _looks_gray(frame: Any) -> bool:
    """True when a decoded frame's red, green and blue are equal everywhere.

    For 8-bit planar YUV that is flat chroma (every U and V sample 128), read off
    the planes without converting the frame.
    """
    fmt = frame.format
    if fmt.name.startswith("yuv") and fmt.name.endswith("p") and len(frame.planes) == 3:
        for plane in frame.planes[1:]:
            rows = np.frombuffer(plane, np.uint8).reshape(plane.height, -1)
            if not np.all(rows[:, : plane.width] == 128):
                return False
        return True
    rgb = frame.to_ndarray(format="rgb24")
    return bool(
        np.array_equal(rgb[..., 0], rgb[..., 1])
        and np.array_equal(rgb[..., 0], rgb[..., 2])
    )
