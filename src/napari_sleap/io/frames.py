"""Frame selections as users type them on the command line: ``"1000-1499,1600"``.

One parser shared by every command that takes ``--frames`` so the syntax and the
error messages are the same everywhere.
"""

from __future__ import annotations

import re

_ITEM = re.compile(r"^(\d+)?\s*(-)?\s*(\d+)?$")

SYNTAX = (
    "comma-separated frame indices and inclusive ranges, e.g. '1000-1499,1600'; "
    "an open range 'A-' runs to the last frame of the video"
)


def parse_frames(spec: str, n_frames: int | None = None) -> list[int]:
    """Parse a frame selection into sorted, unique, 0-based frame indices.

    Items are separated by commas; each is ``N`` (one frame) or ``A-B`` (both
    ends included). ``A-`` (to the end) needs ``n_frames``. With ``n_frames``
    given, every index must be below it.

    Args:
        spec: The selection, e.g. ``"1000-1499,1600"``.
        n_frames: Number of frames in the video, to check bounds and to close
            open ranges; ``None`` skips the bound check.

    Returns:
        The selected frame indices, ascending, without duplicates.

    Raises:
        ValueError: On an empty selection, a malformed item, a reversed range or
            an index past the end; the message names the item and the syntax.
    """
    if spec is None or not str(spec).strip():
        raise ValueError(f"--frames: empty frame selection; expected {SYNTAX}")
    frames: set[int] = set()
    for raw in str(spec).split(","):
        item = raw.strip()
        match = _ITEM.match(item)
        if not item or match is None or match.group(1) is None:
            raise ValueError(f"--frames: cannot read item {item!r}; expected {SYNTAX}")
        start = int(match.group(1))
        is_range = match.group(2) is not None
        if not is_range:
            if match.group(3) is not None:  # "12 34": digits without a dash
                raise ValueError(
                    f"--frames: cannot read item {item!r}; expected {SYNTAX}"
                )
            stop = start
        elif match.group(3) is not None:
            stop = int(match.group(3))
        elif n_frames is None:
            raise ValueError(
                f"--frames: open range {item!r} needs the video length; "
                f"write it as '{start}-LAST' instead"
            )
        else:
            stop = n_frames - 1
        if stop < start:
            raise ValueError(
                f"--frames: range {item!r} runs backwards; write it as '{stop}-{start}'"
            )
        if n_frames is not None and stop >= n_frames:
            raise ValueError(
                f"--frames: {item!r} goes past the last frame ({n_frames - 1}) of a "
                f"{n_frames}-frame video"
            )
        frames.update(range(start, stop + 1))
    return sorted(frames)


def parse_frame_range(spec: str, n_frames: int | None = None) -> tuple[int, int]:
    """Parse one contiguous frame range as ``(start, stop)``, stop exclusive.

    Tracking runs through consecutive frames, so a selection with gaps is refused.
    """
    picked = parse_frames(spec, n_frames)
    if len(picked) != picked[-1] - picked[0] + 1:
        raise ValueError(
            f"--frames {spec}: give one contiguous range A-B "
            "(tracks run through consecutive frames)"
        )
    return picked[0], picked[-1] + 1


def format_frames(frames: list[int]) -> str:
    """Write frame indices back in the compact syntax ``parse_frames`` reads."""
    parts: list[str] = []
    ordered = sorted(set(frames))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        start, stop = ordered[i], ordered[j]
        parts.append(str(start) if start == stop else f"{start}-{stop}")
        i = j + 1
    return ",".join(parts)


def video_length(labels: object) -> int | None:
    """Frame count of a Labels' only video, to close open ranges; else None."""
    videos = getattr(labels, "videos", [])
    if len(videos) != 1:
        return None
    try:
        shape = videos[0].shape
    except Exception:  # an unopened or missing video has no known length
        return None
    return int(shape[0]) if shape else None
