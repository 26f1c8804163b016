"""Frame stepping with clip.mp4 opened directly through the plugin (no zarr cache).

``xvfb-run -a .venv/bin/python bench/bench_frame_step.py [--steps 40] [--label L]``
opens ``../shared/data/clip.mp4`` (1024x1024 H.264, a keyframe every 250 frames)
with the napari-sleap reader in a shown viewer (1400x1000) and steps frames as a
person does: real Right/Left arrow key presses on the canvas, inside Qt's own
event loop, the next press 33 ms after the frame is on screen (a held key). Per
step: wall from the key press to the end of the window's repaint that shows the
frame, and CPU of this process (all its threads) over the same span and over
the whole cycle (press to next press: trailing repaints, read-ahead). Median and
p90. Layers take turns in one run, as this machine is noisy (``--kinds``):
``plain`` (the bare reader as a lazy array, what the plugin opened before),
``plugin`` (File > Open through the plugin: cache and read-ahead),
``in-memory`` (frames already decoded: napari's slice and draw only, the floor)
and ``plugin-no-read-ahead``. It does that while idle, then
while a real training job runs in its own process, once per ``--job-nice``
value (10: niced, as the Train dock starts it now; 0: equal priority, as
before), and stops that job.

An earlier version drove steps with ``QApplication.processEvents()`` instead of
the event loop: napari's status-bar spinner then never stopped after the open
(its hide runs on a deferred delete, which that never delivers) and recomposed
the whole window ~10 times a second, and each step was composed twice (the
layer list's delayed layout came after the canvas's repaint). Neither happens
in a real session; this version measures what a person gets.

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
DEFAULT_KINDS = ("plain", "plugin", "in-memory")


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


def _wait(seconds: float) -> None:
    """Run Qt's event loop for ``seconds`` (timers, deferred deletes, repaints)."""
    from qtpy.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(1000 * seconds), loop.quit)
    loop.exec()


class KeySteps:
    """Arrow-key presses on the canvas inside Qt's event loop, each timed until drawn.

    A step ends when the main window has handled the repaint request that
    follows the press (a zero timer posted when that request arrives fires right
    after it): the frame has been sliced, drawn by vispy and composed by Qt.
    """

    def __init__(self, viewer, steps: int, key) -> None:
        from qtpy.QtCore import QEvent, QEventLoop, QObject

        from napari_sleap.napari.compat import canvas_widget

        self.viewer, self.steps, self.key = viewer, steps, key
        self.canvas = canvas_widget(viewer)
        self.window = viewer.window._qt_window
        self.loop = QEventLoop()
        self.pending = False
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.frames: list[int] = []
        outer = self

        class _Repaints(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
                if (
                    obj is outer.window
                    and event.type() == QEvent.Type.UpdateRequest
                    and outer.pending
                ):
                    from qtpy.QtCore import QTimer

                    QTimer.singleShot(0, outer._drawn)
                return False

        self.filter = _Repaints()

    def run(self) -> tuple[list[float], list[float], float]:
        """(wall s per step, CPU s per step, CPU s per cycle)."""
        from qtpy.QtCore import QTimer

        self.window.installEventFilter(self.filter)
        QTimer.singleShot(0, self._press)
        QTimer.singleShot(10_000 * self.steps, self.loop.quit)  # safety
        c0 = time.process_time()
        self.loop.exec()
        cycle = (time.process_time() - c0) / max(1, len(self.wall))
        self.window.removeEventFilter(self.filter)
        return self.wall, self.cpu, cycle

    def _press(self) -> None:
        from qtpy.QtTest import QTest

        self.pending = True
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        QTest.keyClick(self.canvas, self.key)

    def _drawn(self) -> None:
        from qtpy.QtCore import QTimer

        if not self.pending:
            return
        self.pending = False
        w = time.perf_counter() - self.w0
        self.wall.append(w)
        self.cpu.append(time.process_time() - self.c0)
        self.frames.append(int(self.viewer.dims.current_step[0]))
        if len(self.wall) >= self.steps:
            self.loop.quit()
            return
        # a person holding an arrow key: ~30 steps/s at most
        QTimer.singleShot(max(0, int(1000 * (0.033 - w))), self._press)


def _key(name: str):
    from qtpy.QtCore import Qt

    return getattr(Qt.Key, f"Key_{name}")


def measure(app, viewer, steps: int, start_next: int, start_prev: int) -> dict:
    """Right-arrow steps from ``start_next``, left-arrow steps from ``start_prev``."""
    from qtpy.QtCore import Qt

    out = {}
    for name, start, key, sign in (
        ("next", start_next, Qt.Key.Key_Right, 1),
        ("previous", start_prev, Qt.Key.Key_Left, -1),
    ):
        viewer.dims.set_current_step(0, start)
        _wait(0.3)  # let a read-ahead settle, as a person pauses first
        stepper = KeySteps(viewer, steps, key)
        wall, cpu, cycle = stepper.run()
        want = [start + sign * k for k in range(1, steps + 1)]
        if len(wall) < steps:
            raise RuntimeError(f"{name}: {len(wall)} of {steps} steps drawn in time")
        if stepper.frames != want:
            raise RuntimeError(f"{name}: frames {stepper.frames[:5]}... not {want[:5]}")
        out[name] = {
            "wall": _stats(wall),
            "cpu": _stats(cpu),
            "cpu_cycle_ms": round(1000 * cycle, 1),
        }
    return out


def use_layer(app, viewer, kind: str) -> None:
    """Show clip.mp4 as ``kind`` says (see :data:`KINDS` and the module doc)."""
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
    _wait(0.2)


def compare(app, viewer, kinds, steps: int, start_next: int, start_prev: int) -> dict:
    """The kinds in turn, twice; each kind's steps pooled."""
    pooled: dict = {}
    for _round in range(2):
        for kind in kinds:
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
                "cpu_cycle_ms": statistics.median(r["cpu_cycle_ms"] for r in runs),
                "runs": runs,
            }
            for way, runs in ways.items()
        }
    return out


def start_training(tmp: Path, nice: int):
    """A real training job (top-down on the synthetic sample) in its own process.

    ``nice``: the job's niceness; the Train dock starts jobs at
    :data:`napari_sleap.jobs.BACKGROUND_NICE`, 0 is how it started them before.
    """
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
        nice=nice,
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
            f"CPU {w['cpu_median_ms']:.0f}, per cycle {w['cpu_cycle_ms']:.0f})"
            for way, w in ways.items()
        )
        print(f"{when} {kind}: {line}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--label", default="now")
    parser.add_argument("--no-job", action="store_true")
    parser.add_argument(
        "--job-nice",
        default="0,10",
        help="niceness of the training job, comma-separated: each is measured "
        "(10 is what the Train dock uses, 0 the equal priority it had before)",
    )
    parser.add_argument(
        "--kinds",
        default=",".join(DEFAULT_KINDS),
        help=f"comma-separated, from {KINDS}",
    )
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    if unknown := set(kinds) - set(KINDS):
        sys.exit(f"--kinds: unknown {sorted(unknown)}; choose from {KINDS}")
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
    open_s = time.perf_counter() - t0
    _wait(1.0)  # the event loop delivers the open's deferred deletes
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
        "kinds": kinds,
        "driven_by": "real arrow-key presses in Qt's event loop",
        "LP_NUM_THREADS": os.environ.get("LP_NUM_THREADS"),
    }
    # frames inside one keyframe interval (250) so previous steps cost what
    # they cost mid-GOP, away from frame 0's keyframe
    result["idle"] = compare(app, viewer, kinds, args.steps, 300, 740)
    _say("idle", result["idle"])
    # the picture after stepping with the keys: look at it (contrast, colormap)
    use_layer(app, viewer, "plugin")
    viewer.dims.set_current_step(0, 400)
    KeySteps(viewer, 3, _key("Right")).run()
    RESULTS.mkdir(parents=True, exist_ok=True)
    shot = RESULTS / f"frame_step_{args.label}.png"
    viewer.screenshot(str(shot), canvas_only=False)
    result["screenshot"] = {"path": shot.name, "frame": viewer.dims.current_step[0]}
    if not args.no_job:
        result["job_running"] = {}
        for k, nice in enumerate(int(n) for n in args.job_nice.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                handle = start_training(Path(tmp), nice)
                try:
                    start_next, start_prev = 800 + 100 * k, 1240 - 100 * k
                    got = compare(
                        app, viewer, kinds, args.steps, start_next, start_prev
                    )
                    handle.poll()
                    got["job_status_during"] = handle.status
                    result["job_running"][f"nice {nice}"] = got
                finally:
                    handle.stop(grace_s=20, block=True)
            shown = {kind: got[kind] for kind in kinds}
            _say(f"job running (nice {nice})", shown)
    result["load_after"] = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"frame_step_{args.label}.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")
    viewer.close()


if __name__ == "__main__":
    main()
