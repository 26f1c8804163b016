"""Find frames of a damaged media file before they are given poses.

A damaged packet in a compressed video does not always make the decoder fail:
FFmpeg conceals the damage, flags only the frame whose packet was bad, and
every frame predicted from it afterwards (up to the next keyframe) comes out
with wrong pixels and no flag at all. Measured on the shared
``centered_pair_low_quality.mp4`` with one reference packet garbled: 101 frames
decoded with wrong pixels, one was flagged, none raised an error.

:func:`scan_damage` decodes the groups of pictures (GOPs) holding the frames
asked for, without converting pixels, and marks as damaged every frame that
failed to decode or was flagged corrupt, plus every frame decoded after it in
its GOP and the leading frames of the next GOP (which may reference it); an
H.264 non-reference picture is refused alone, since nothing is built from it.
:func:`screen_frames` wraps a frame reader so that reading a damaged frame
raises, and the predictor reports and skips it like any unreadable frame.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Media files scanned (other readers, like image folders, have no GOPs).
MEDIA_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".webm")


class DamagedFrameError(ValueError):
    """A frame whose pixels cannot be trusted (it, or a frame it needs, is bad)."""


@dataclass
class _Index:
    """Packets of a stream in decode order: stamps, keyframes, GOP of each."""

    pts: np.ndarray  # (P,) presentation stamps, decode order
    gop: np.ndarray  # (P,) GOP number of each packet (decode order)
    key_pos: np.ndarray  # (G,) decode position of each GOP's keyframe
    frame_of_pos: np.ndarray  # (P,) frame index (rank of pts) per packet
    pos_of_frame: np.ndarray  # (P,) packet position per frame index


#: Files whose packet index is kept (a batch worker sees many videos).
INDEX_CACHE_SIZE = 8
_INDEX_CACHE: OrderedDict[tuple, _Index | None] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _index(path: Path) -> _Index | None:
    """Demux once (cached per file version); None when stamps are not unique."""
    import av

    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _CACHE_LOCK:
        if key in _INDEX_CACHE:
            _INDEX_CACHE.move_to_end(key)
            return _INDEX_CACHE[key]
    stamps: list[int | None] = []
    keys: list[bool] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or getattr(packet, "is_discard", False):
                    continue
                stamps.append(packet.pts)
                keys.append(bool(packet.is_keyframe))
        except av.error.FFmpegError:
            pass  # truncated: the reader keeps the frames before the damage too
    index = None
    if stamps and None not in stamps and len(set(stamps)) == len(stamps):
        pts = np.asarray(stamps, np.int64)
        is_key = np.asarray(keys, bool)
        is_key[0] = True
        gop = np.cumsum(is_key) - 1
        frame_of_pos = np.empty(len(pts), np.int64)
        frame_of_pos[np.argsort(pts, kind="stable")] = np.arange(len(pts))
        pos_of_frame = np.argsort(frame_of_pos)
        index = _Index(pts, gop, np.flatnonzero(is_key), frame_of_pos, pos_of_frame)
    with _CACHE_LOCK:
        _INDEX_CACHE[key] = index
        while len(_INDEX_CACHE) > INDEX_CACHE_SIZE:
            _INDEX_CACHE.popitem(last=False)
    return index


def _leading(idx: _Index, g: int) -> list[int]:
    """Decode positions of GOP ``g``'s leading frames (shown before its keyframe)."""
    key = int(idx.key_pos[g])
    end = int(idx.key_pos[g + 1]) if g + 1 < len(idx.key_pos) else len(idx.pts)
    return [p for p in range(key + 1, end) if idx.pts[p] < idx.pts[key]]


def _runs(gops: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive GOP numbers as inclusive ``(first, last)`` runs."""
    runs: list[tuple[int, int]] = []
    for g in sorted(set(gops)):
        if runs and g == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], g)
        else:
            runs.append((g, g))
    return runs


def _avc_length_size(stream: Any) -> int | None:
    """NAL length-prefix size of an H.264 stream in MP4 form (avcC), else None."""
    context = stream.codec_context
    extradata = bytes(context.extradata or b"")
    if context.name != "h264" or len(extradata) < 7 or extradata[0] != 1:
        return None
    return (extradata[4] & 3) + 1


def _non_reference(data: bytes, length_size: int) -> bool:
    """True for an H.264 packet no other frame can reference.

    Only when its NAL units parse cleanly (their lengths tile the packet, no
    forbidden bit) and every slice is a non-IDR slice with ``nal_ref_idc`` 0;
    anything else (parameter sets, IDR, reference slices, a garbled header)
    counts as referenced, so damage to it still spoils the rest of the GOP.
    """
    i, slices = 0, 0
    while i < len(data):
        if i + length_size >= len(data):
            return False
        n = int.from_bytes(data[i : i + length_size], "big")
        header = data[i + length_size]
        i += length_size + n
        if n == 0 or header & 0x80:
            return False
        kind, ref = header & 0x1F, (header >> 5) & 3
        if kind == 1 and ref == 0:
            slices += 1
        elif kind not in (6, 9, 12):  # SEI, access unit delimiter, filler
            return False
    return i == len(data) and slices > 0


def _decode_run(
    container: Any, stream: Any, idx: _Index, first: int, last: int
) -> tuple[dict[int, tuple[int, str]], dict[int, str]]:
    """Decode GOPs ``first..last``.

    Returns GOP -> (its first bad decode position, why), for damage later
    frames may be built from, and decode position -> why for damaged frames
    no other frame references (H.264 non-reference pictures). The leading
    frames of GOP ``first`` are left out: they reference the GOP before it,
    which this run does not decode.
    """
    import av

    pos_of_pts = {int(p): i for i, p in enumerate(idx.pts)}
    start = int(idx.key_pos[first])
    unknowable = set(_leading(idx, first))
    container.seek(int(idx.pts[start]), stream=stream, backward=True, any_frame=False)
    context = stream.codec_context
    context.flush_buffers()
    bad: dict[int, tuple[int, str]] = {}  # GOP -> its earliest bad position
    alone: dict[int, str] = {}  # damaged frames nothing else is built from
    isolated: set[int] = set()  # decode positions of non-reference packets
    length_size = _avc_length_size(stream)
    seen: set[int] = set()

    def taint(pos: int, why: str) -> None:
        g = int(idx.gop[pos])
        if pos in unknowable:
            return
        if pos in isolated:
            alone.setdefault(pos, why)
        elif g not in bad or pos < bad[g][0]:
            bad[g] = (pos, why)

    def take(frames: Iterable[Any]) -> None:
        for frame in frames:
            pos = pos_of_pts.get(int(frame.pts)) if frame.pts is not None else None
            if pos is None:
                continue
            seen.add(pos)
            flags = getattr(frame, "decode_error_flags", 0) or 0
            if getattr(frame, "is_corrupt", False) or flags:
                taint(pos, f"the decoder flagged frame {idx.frame_of_pos[pos]} corrupt")

    started = False
    for packet in container.demux(stream):
        if packet.size == 0 or packet.pts is None:
            continue
        pos = pos_of_pts.get(int(packet.pts))
        if pos is None:
            continue
        if not started:
            if pos < start:
                continue  # the seek landed before the GOP asked for
            started = True
        if idx.gop[pos] > last:
            break
        if length_size and _non_reference(bytes(packet), length_size):
            isolated.add(pos)
        try:
            take(packet.decode())
        except av.error.FFmpegError as err:
            taint(pos, f"frame {idx.frame_of_pos[pos]} did not decode ({err})")
    with contextlib.suppress(av.error.FFmpegError):
        take(context.decode(None))  # frames still held back for reordering
    end = int(idx.key_pos[last + 1]) if last + 1 < len(idx.key_pos) else len(idx.pts)
    for pos in range(start, end):
        if pos not in seen:
            taint(pos, f"frame {idx.frame_of_pos[pos]} never came out of the decoder")
    return bad, alone


def scan_damage(path: str | Path, frames: Iterable[int]) -> dict[int, str]:
    """Damaged frames among the GOPs holding ``frames``: frame index -> reason.

    Frames decoded after a bad one in its GOP, and the next GOP's leading
    frames (shown before its keyframe), are damaged too: they may be predicted
    from the bad frame, unless it is an H.264 non-reference picture. Videos
    without unique timestamps are not scanned (an empty result); their decode
    errors still surface when frames are read.
    """
    import av

    path = Path(path)
    idx = _index(path)
    frames = [int(f) for f in frames if 0 <= int(f) < (len(idx.pts) if idx else 0)]
    if idx is None or not frames:
        return {}
    wanted = {int(idx.gop[idx.pos_of_frame[f]]) for f in frames}
    # A GOP with leading frames (shown before its keyframe, open GOP) needs the
    # GOP before it decoded too: they reference it.
    with_prev = wanted | {g - 1 for g in wanted if g > 0 and _leading(idx, g)}
    n_gops = len(idx.key_pos)
    tainted: dict[int, tuple[int, str]] = {}
    alone: dict[int, str] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for first, last in _runs(with_prev):
            bad, single = _decode_run(container, stream, idx, first, last)
            tainted.update(bad)
            alone.update(single)
    out: dict[int, str] = {}
    for pos, why in alone.items():
        f = int(idx.frame_of_pos[pos])
        out[f] = (
            f"{path}: frame {f} is damaged: {why} (no other frame is built from "
            "it); re-encode the video from an intact copy"
        )
    for g, (at, why) in sorted(tainted.items()):
        end = int(idx.key_pos[g + 1]) if g + 1 < n_gops else len(idx.pts)
        positions = list(range(at, end))
        if g + 1 < n_gops:  # the next GOP's leading frames may reference this one
            key = int(idx.key_pos[g + 1])
            stop = int(idx.key_pos[g + 2]) if g + 2 < n_gops else len(idx.pts)
            positions += [p for p in range(key + 1, stop) if idx.pts[p] < idx.pts[key]]
        for p in positions:
            f = int(idx.frame_of_pos[p])
            out.setdefault(
                f,
                f"{path}: frame {f} is damaged: {why}, and frames decoded after it "
                "up to the next keyframe may be built from it; re-encode the "
                "video from an intact copy",
            )
    return out


class ScreenedFrames:
    """A frame reader that refuses the frames :func:`scan_damage` found damaged."""

    def __init__(self, reader: Any, damaged: dict[int, str]) -> None:
        self.reader = reader
        self.damaged = damaged

    def __getitem__(self, index: int) -> Any:
        """Frame ``index``, or :class:`DamagedFrameError` for a damaged one."""
        reason = self.damaged.get(int(index))
        if reason is not None:
            raise DamagedFrameError(reason)
        return self.reader[index]

    def __len__(self) -> int:
        return len(self.reader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)

    def close(self) -> None:
        """Close the wrapped reader."""
        self.reader.close()


def media_path(reader: Any) -> Path | None:
    """The media file behind a reader (its ``source`` for a zarr cache), if any."""
    for name in ("source", "path"):
        value = getattr(reader, name, None)
        if isinstance(value, (str, Path)) and Path(value).suffix.lower() in (
            MEDIA_SUFFIXES
        ):
            return Path(value)
    return None


def screen_frames(reader: Any, frames: Iterable[int]) -> Any:
    """``reader``, refusing the damaged frames among ``frames``' GOPs (if any).

    A zarr cache of a damaged video holds the concealed pixels too, so the
    media file behind it is scanned as well.
    """
    path = media_path(reader)
    if path is None or not path.is_file():
        return reader
    damaged = scan_damage(path, frames)
    return ScreenedFrames(reader, damaged) if damaged else reader
