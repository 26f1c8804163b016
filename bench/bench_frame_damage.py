"""Cost and catch of the damaged-frame scan that runs before each predicted chunk.

Cost: :func:`napari_sleap.infer.frame_damage.scan_damage` over ``clip.mp4``
(1500 x 1024x1024 H.264) in 500-frame chunks, as ``predict`` calls it, against
the frame reader decoding (and converting) the same frames.

Catch: copies of ``centered_pair_low_quality.mp4`` with one packet garbled
(frame 51, a reference picture; frame 50, a non-reference one): frames whose
pixels differ from the intact video, frames the reader refuses by itself, and
frames the scan refuses.

    .venv/bin/python bench/bench_frame_damage.py
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))


def _cost(clip: Path, chunk: int) -> dict:
    from napari_sleap.infer import frame_damage
    from napari_sleap.io.video import open_video

    reader = open_video(clip, use_cache=False)
    n = reader.n_frames
    frame_damage._INDEX_CACHE.clear()
    t = time.perf_counter()
    frame_damage._index(clip)
    index_s = time.perf_counter() - t
    scan = read = 0.0
    for start in range(0, n, chunk):
        frames = range(start, min(start + chunk, n))
        t = time.perf_counter()
        found = frame_damage.scan_damage(clip, frames)
        scan += time.perf_counter() - t
        assert not found, f"clean video: {len(found)} frames flagged"
        t = time.perf_counter()
        for f in frames:
            reader[f]
        read += time.perf_counter() - t
    reader.close()
    return {
        "frames": n,
        "chunk": chunk,
        "index_s": index_s,
        "scan_ms_per_frame": 1000 * scan / n,
        "read_ms_per_frame": 1000 * read / n,
    }


def _catch(pair: Path, frame: int) -> dict:
    from tests.fixtures.broken_videos import garble_packet

    from napari_sleap.infer.frame_damage import scan_damage
    from napari_sleap.io.video import open_video

    with tempfile.TemporaryDirectory() as tmp:
        bad_path = garble_packet(pair, Path(tmp) / "damaged.mp4", frame)
        good, bad = open_video(pair, use_cache=False), open_video(bad_path)
        frames = range(good.n_frames)
        wrong, refused = set(), set()
        for f in frames:
            try:
                img = bad[f]
            except Exception:
                refused.add(f)
                continue
            if not np.array_equal(img, good[f]):
                wrong.add(f)
        t = time.perf_counter()
        scanned = set(scan_damage(bad_path, frames))
        scan_s = time.perf_counter() - t
    return {
        "garbled_frame": frame,
        "silently_wrong": len(wrong),
        "refused_by_reader": len(refused),
        "refused_by_scan": len(scanned),
        "wrong_missed_by_scan": len(wrong - scanned),
        "scanned_but_intact": len(scanned - wrong - refused),
        "scan_s_whole_video": scan_s,
    }


def main() -> int:
    """Measure and write ``bench/results/frame_damage.json``."""
    clip = DATA / "clip.mp4"
    pair = DATA / "sleap1_models" / "centered_pair_low_quality.mp4"
    if not clip.exists() or not pair.exists():
        print(f"shared data not found under {DATA}", file=sys.stderr)
        return 1
    out = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": platform.node(),
        "loadavg_before": os.getloadavg(),
        "cost": _cost(clip, 500),
        "catch_reference": _catch(pair, 51),
        "catch_non_reference": _catch(pair, 50),
        "loadavg_after": os.getloadavg(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "frame_damage.json"
    path.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
