"""Frame stepping with clip.mp4 opened directly through the plugin (no zarr cache).

``xvfb-run -a .venv/bin/python bench/bench_frame_step.py [--steps 60] [--label L]``
opens ``../shared/data/clip.mp4`` (1024x1024 H.264, a keyframe every 250 frames)
with the napari-sleap reader in a shown viewer (1400x1000) and times, wall and
CPU of this process (all its threads), each step to the next frame and to the
previous frame as the arrow keys make it (``dims`` step, layer slice, frame
decode, draw): median and p90. Two layers take turns in one run, as this machine
is noisy: ``plain`` (the reader as a lazy array, what the plugin opened before)
and ``plugin`` (File > Open through the plugin: cache and read-ahead). It does
that while idle, then while a real training job runs in its own process (as
Train in the panel starts it), and stops that job.

Writes ``bench/results/frame_step_<label>.json``; add the row to
docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CLIP = ROOT.parent / "shared" / "data" / "clip.mp4"
RESULTS = ROOT / "bench" / "results"
MACHINE = "cpu2 (2-core dev box, shared/busy)"
#: The layers compared: the bare reader, the plugin's, the plugin's without
#: forward read-ahead (only the cache and backward windows), and frames already in
#: memory (no decoding at all: napari's own slice and draw, the floor).
KINDS = ("plain", "plugin", "plugin-no-read-ahead", "in-memory")


class InMemory:
    """The clip's shape, served from 50 decoded frames held in memory."""

    def __init__(self, n: int) -> None:
        from napari_sleap.io.video import open_video

        reader = open_video(CLIP)
        self.pool = reader.read_frames(range(300, 350))[..., 0]
        self.shape = (n, *self.pool.shape[1:])
        self.dtype = self.pool.dtype
        self.ndim = 3

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        first = key[0]
        if isinstance(first, slice):  # napari asks for a 1-frame slice
            first = range(*first.indices(self.shape[0]))
            index = [i % len(self.pool) for i in first]
        else:
            index = int(first) % len(self.pool)
        return self.pool[(index, *key[1:])]


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return {
        "median_ms": round(1000 * statistics.median(ordered), 1),
        "p90_ms": round(1000 * p90, 1),
        "max_ms": round(1000 * ordered[-1], 1),
        "n": len(ordered),
    }


def _step(app, viewer, frame: int) -> tuple[float, float]:
    """Go to ``frame`` and draw it; (wall s, CPU s of this process)."""
    w0, c0 = time.perf_counter(), time.process_time()
    viewer.dims.set_current_step(0, frame)
    app.processEvents()  # the slice's draw request is painted here
    return time.perf_counter() - w0, time.process_time() - c0


def measure(app, viewer, steps: int, start_next: int, start_prev: int) -> dict:
    """Next-frame steps from ``start_next``, previous-frame from ``start_prev``."""
    out = {}
    for name, start, sign in (("next", start_next, 1), ("previous", start_prev, -1)):
        _step(app, viewer, start)
        time.sleep(0.3)  # let a read-ahead settle, as a person pauses first
        app.processEvents()
        wall, cpu = [], []
        for k in range(1, steps + 1):
            w, c = _step(app, viewer, start + sign * k)
            wall.append(w)
            cpu.append(c)
            # a person holding an arrow key: ~30 steps/s at most
            pause = 0.033 - w
            if pause > 0:
                time.sleep(pause)
        out[name] = {"wall": _stats(wall), "cpu": _stats(cpu)}
    return out


def use_layer(app, viewer, kind: str) -> None:
    """Show clip.mp4 as the ``plain`` reader or as the plugin opens it."""
    from napari_sleap.io import video_prefetch
    from napari_sleap.io.video import as_lazy_array, open_video

    viewer.layers.clear()
    if kind.startswith("plugin"):
        ahead = video_prefetch.AHEAD
        if kind == "plugin-no-read-ahead":
            video_prefetch.AHEAD = 0
        try:
            viewer.open(str(CLIP), plugin="napari-sleap")
        finally:
            video_prefetch.AHEAD = ahead
    else:
        if kind == "in-memory":
            data = InMemory(1500)
        else:
            data = as_lazy_array(open_video(CLIP), squeeze_gray=True)
        viewer.add_image(data, name=CLIP.name, contrast_limits=(0, 255))
    app.processEvents()


def compare(app, viewer, steps: int, start_next: int, start_prev: int) -> dict:
    """Both layers, in turn twice; each kind's steps pooled."""
    pooled: dict = {}
    for _round in range(2):
        for kind in KINDS:
            use_layer(app, viewer, kind)
            got = measure(app, viewer, steps, start_next, start_prev)
            for way, stats in got.items():
                pooled.setdefault(kind, {}).setdefault(way, []).append(stats)
            start_next += steps + 5
            start_prev -= steps + 5
    out = {}
    for kind, ways in pooled.items():
        out[kind] = {
            way: {
                "wall_median_ms": statistics.median(
                    r["wall"]["median_ms"] for r in runs
                ),
                "wall_p90_ms": max(r["wall"]["p90_ms"] for r in runs),
                "cpu_median_ms": statistics.median(r["cpu"]["median_ms"] for r in runs),
                "runs": runs,
            }
            for way, runs in ways.items()
        }
    return out


def start_training(tmp: Path):
    """A real training job (top-down on the synthetic sample) in its own process."""
    from napari_sleap.jobs import start_job
    from napari_sleap.sample import ensure_sample

    sample = ensure_sample(tmp / "sample", n_frames=60, size=192)
    overrides = {
        "model": {"backbone": {"unet": {"filters": 16}}},
        "optim": {"epochs": 1000, "steps_per_epoch": 50, "batch_size": 4},
    }
    handle = start_job(
        "napari_sleap.jobs.tasks:train",
        {
            "labels": str(sample.train),
            "pipeline": "top-down",
            "out_dir": str(tmp / "models"),
            "overrides": overrides,
        },
    )
    # wait until it trains (TensorFlow imported, frames decoded, steps running)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        handle.poll()
        if handle.progress and handle.progress[0] >= 5:
            return handle
        if handle.done:
            raise RuntimeError(f"training job ended early: {handle.error}")
        time.sleep(0.2)
    raise RuntimeError("training job did not start stepping within 180 s")


def _say(when: str, got: dict) -> None:
    for kind, ways in got.items():
        line = ", ".join(
            f"{way} {w['wall_median_ms']:.0f} ms (p90 {w['wall_p90_ms']:.0f}, "
            f"CPU {w['cpu_median_ms']:.0f})"
            for way, w in ways.items()
        )
        print(f"{when} {kind}: {line}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--label", default="now")
    parser.add_argument("--no-job", action="store_true")
    args = parser.parse_args()
    if not CLIP.exists():
        sys.exit(f"{CLIP} not found: this bench needs ../shared/data/clip.mp4")
    if (CLIP.with_suffix(".zarr")).exists():
        sys.exit(f"{CLIP.with_suffix('.zarr')} exists: remove it (no cache wanted)")

    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 1000)
    app = QApplication.instance()
    t0 = time.perf_counter()
    (layer,) = viewer.open(str(CLIP), plugin="napari-sleap")
    app.processEvents()
    open_s = time.perf_counter() - t0
    shape = list(layer.data.shape)
    result = {
        "machine": MACHINE,
        "platform": platform.platform(),
        "command": "xvfb-run -a .venv/bin/python bench/bench_frame_step.py "
        + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_before": os.getloadavg()[0],
        "video": str(CLIP.name),
        "shape": shape,
        "open_s": round(open_s, 2),
        "steps": args.steps,
    }
    # frames inside one keyframe interval (250) so previous steps cost what
    # they cost mid-GOP, away from frame 0's keyframe
    result["idle"] = compare(app, viewer, args.steps, 300, 740)
    _say("idle", result["idle"])
    if not args.no_job:
        with tempfile.TemporaryDirectory() as tmp:
            handle = start_training(Path(tmp))
            try:
                result["job_running"] = compare(app, viewer, args.steps, 800, 1240)
                handle.poll()
                result["job_status_during"] = handle.status
            finally:
                handle.stop(grace_s=20, block=True)
        _say("job running", result["job_running"])
    result["load_after"] = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"frame_step_{args.label}.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")
    viewer.close()


if __name__ == "__main__":
    main()
