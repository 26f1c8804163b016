"""Video I/O figures on the real clip: open, step, seek, cache, zarr reads, napari.

Run under a display for the napari parts:
``xvfb-run -a .venv/bin/python bench/bench_video.py``.
Writes ``bench/results/video.json``; ``--append-doc`` adds rows to docs/benchmarks.md.
Targets (issue 2): open in napari < 1 s, forward step < 10 ms, random frame
<= 100 ms, zarr reads >= 200 frames/s, napari frame change from the cache < 30 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_sleap.io.video import (  # noqa: E402
    VideoReader,
    ZarrReader,
    as_dask,
    as_lazy_array,
    open_video,
)
from napari_sleap.io.video_cache_writer import cache_video  # noqa: E402

DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "clip.mp4"
MACHINE = "cpu2 (2-core dev box, shared/busy)"


def ms(seconds: float) -> float:
    return round(seconds * 1e3, 3)


def summary(times: list[float]) -> dict[str, float]:
    """Median, mean, 90th percentile and max of a list of seconds, in ms."""
    arr = np.asarray(times)
    return {
        "median_ms": ms(float(np.median(arr))),
        "mean_ms": ms(float(arr.mean())),
        "p90_ms": ms(float(np.percentile(arr, 90))),
        "max_ms": ms(float(arr.max())),
        "n": len(times),
    }


def bench_open(video: Path, repeats: int = 5) -> dict:
    """Time to open the reader (demux index + first frame) and wrap it as dask."""
    reader_t, dask_t = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        reader = open_video(video, use_cache=False)
        t1 = time.perf_counter()
        as_dask(reader, squeeze_gray=True)
        t2 = time.perf_counter()
        reader.close()
        reader_t.append(t1 - t0)
        dask_t.append(t2 - t1)
    return {
        "reader": summary(reader_t),
        "dask": summary(dask_t),
        "total_median_ms": ms(
            statistics.median(a + b for a, b in zip(reader_t, dask_t, strict=True))
        ),
    }


def bench_forward(video: Path, start: int = 300, n: int = 300) -> dict:
    """Mean time of reading the next frame, across a keyframe."""
    reader = open_video(video, use_cache=False)
    reader.read(start)
    times = []
    for i in range(start + 1, start + 1 + n):
        t0 = time.perf_counter()
        reader.read(i)
        times.append(time.perf_counter() - t0)
    return {**summary(times), "seeks": reader.seeks - 1}


def bench_random(video: Path, n: int = 60, seed: int = 0) -> dict:
    """Time of reading frames in random order (each one seeks)."""
    reader = open_video(video, use_cache=False)
    picks = np.random.default_rng(seed).integers(0, reader.n_frames, n)
    times = []
    for i in picks:
        t0 = time.perf_counter()
        reader.read(int(i))
        times.append(time.perf_counter() - t0)
    return summary(times)


def bench_cache(video: Path, store: Path) -> dict:
    """Writing the whole video into a zarr cache."""
    t0 = time.perf_counter()
    cache_video(video, store)
    seconds = time.perf_counter() - t0
    n = open_video(store).n_frames
    size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
    return {
        "frames": n,
        "seconds": round(seconds, 2),
        "fps": round(n / seconds, 1),
        "store_mb": round(size / 1e6, 1),
        "video_mb": round(video.stat().st_size / 1e6, 2),
        "raw_mb": round(n * np.prod(open_video(store).shape[1:]) / 1e6, 1),
    }


def bench_codecs(video: Path, folder: Path, n: int = 60) -> dict:
    """Size, write and random-read speed of candidate chunk codecs on sample frames."""
    import warnings

    import zarr
    from zarr.codecs import BloscCodec, ZstdCodec
    from zarr.codecs.numcodecs import Delta

    reader = open_video(video, use_cache=False)
    frames = reader.read_frames(np.linspace(0, reader.n_frames - 1, n).astype(int))
    warnings.simplefilter("ignore")  # numcodecs' codecs are outside the v3 spec
    candidates = {
        "zstd-1 (chosen)": {"compressors": [ZstdCodec(level=1)]},
        "zstd-5": {"compressors": [ZstdCodec(level=5)]},
        "blosc-lz4": {
            "compressors": [BloscCodec(cname="lz4", clevel=5, shuffle="noshuffle")]
        },
        "blosc-zstd-3-bitshuffle": {
            "compressors": [BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle")]
        },
        "delta+zstd-1": {
            "filters": [Delta(dtype="u1")],
            "compressors": [ZstdCodec(level=1)],
        },
        "none": {"compressors": None},
    }
    out = {}
    order = np.random.default_rng(0).permutation(n)
    for name, codec in candidates.items():
        path = folder / f"codec-{len(out)}.zarr"
        array = zarr.create_array(
            store=str(path),
            shape=frames.shape,
            chunks=(1, *frames.shape[1:]),
            dtype=frames.dtype,
            **codec,
        )
        t0 = time.perf_counter()
        for i in range(n):
            array[i] = frames[i]
        write = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in order:
            array[int(i)]
        read = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        out[name] = {
            "kib_per_frame": round(size / n / 1024, 1),
            "write_fps": round(n / write, 1),
            "read_fps": round(n / read, 1),
        }
        shutil.rmtree(path, ignore_errors=True)
    return out


def bench_zarr_read(store: Path, n: int = 300, seed: int = 1) -> dict:
    """Random frame reads from the cache, by the reader and through dask."""
    reader = ZarrReader(store)
    picks = np.random.default_rng(seed).integers(0, reader.n_frames, n)
    t0 = time.perf_counter()
    for i in picks:
        reader.read(int(i))
    seconds = time.perf_counter() - t0
    array = as_dask(reader, squeeze_gray=True)
    array[0].compute()  # dask's first compute imports its schedulers
    t0 = time.perf_counter()
    for i in picks:
        array[int(i)].compute()
    dask_seconds = time.perf_counter() - t0
    return {
        "frames_per_s": round(n / seconds, 1),
        "ms_per_frame": ms(seconds / n),
        "dask_frames_per_s": round(n / dask_seconds, 1),
        "dask_ms_per_frame": ms(dask_seconds / n),
    }


def bench_napari(video: Path, store: Path, n: int = 40, seed: int = 2) -> dict:
    """Open the clip in a shown viewer, then jump to random frames (mp4 and zarr)."""
    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    scene = viewer.window._qt_viewer.canvas._scene_canvas
    draws = [0]
    scene.events.draw.connect(lambda event: draws.__setitem__(0, draws[0] + 1))
    for _ in range(20):
        app.processEvents()

    def wait_for_draw(before: int, timeout: float = 10.0) -> None:
        deadline = time.perf_counter() + timeout
        while draws[0] == before:
            app.processEvents()
            if time.perf_counter() > deadline:
                raise TimeoutError("the canvas did not redraw")

    def open_layer(path: Path, use_cache: bool, wrap) -> tuple[float, object, object]:
        before = draws[0]
        t0 = time.perf_counter()
        reader = open_video(path, use_cache=use_cache)
        data = wrap(reader, squeeze_gray=True)
        # Contrast from the dtype's range: napari would otherwise read frames to
        # estimate it.
        top = np.iinfo(data.dtype).max
        layer = viewer.add_image(
            data, name=path.name, multiscale=False, contrast_limits=(0, top)
        )
        wait_for_draw(before)
        return time.perf_counter() - t0, reader, layer

    def jumps(reader, layer, forward: bool = False) -> dict:
        picks = np.random.default_rng(seed).integers(0, reader.n_frames, n)
        if forward:  # stepping on frame by frame, as when playing or scrubbing
            picks = np.arange(600, 600 + n)
            if viewer.dims.current_step[0] != 599:
                before = draws[0]
                viewer.dims.set_current_step(0, 599)
                wait_for_draw(before)
        times = []
        for i in picks:
            before = draws[0]
            t0 = time.perf_counter()
            viewer.dims.set_current_step(0, int(i))
            wait_for_draw(before)
            times.append(time.perf_counter() - t0)
            shown = np.asarray(layer._slice.image.raw)
            expected = reader.read(int(i))[..., 0]
            assert np.array_equal(shown, expected), f"frame {i} not shown"
        return summary(times)

    out: dict = {}
    # napari's own first-image cost (GL programs), paid by any first layer.
    before = draws[0]
    t0 = time.perf_counter()
    viewer.add_image(np.zeros((4, 64, 64), np.uint8))
    wait_for_draw(before)
    out["first_image_gl_setup_ms"] = ms(time.perf_counter() - t0)
    viewer.layers.clear()
    # Opening: without dask, then dask's first compute in this process (it
    # imports `distributed` when that is installed), then dask again.
    seconds, _, _ = open_layer(video, False, as_lazy_array)
    out["open_mp4_lazy_ms"] = ms(seconds)
    viewer.layers.clear()
    seconds, _, _ = open_layer(video, False, as_dask)
    out["open_mp4_dask_first_ms"] = ms(seconds)
    viewer.layers.clear()
    seconds, reader, layer = open_layer(video, False, as_dask)
    out["open_mp4_ms"] = ms(seconds)
    out["frame_change_mp4"] = jumps(reader, layer)
    out["frame_step_mp4"] = jumps(reader, layer, forward=True)
    viewer.layers.clear()
    seconds, reader, layer = open_layer(store, True, as_dask)
    out["open_zarr_ms"] = ms(seconds)
    out["frame_change_zarr"] = jumps(reader, layer)
    viewer.layers.clear()
    _, reader, layer = open_layer(store, True, as_lazy_array)
    out["frame_change_zarr_lazy"] = jumps(reader, layer)
    viewer.close()
    return out


class _Blank(VideoReader):
    """Frames of zeros: isolates what the array wrappers cost per frame."""

    backend = "blank"

    def __init__(self, n: int) -> None:
        super().__init__("blank")
        self._n = n

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self._n, 64, 64, 1)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8)

    def _read(self, index: int) -> np.ndarray:
        return np.zeros((64, 64, 1), np.uint8)


def bench_wrappers(sizes=(1_500, 15_000, 150_000), n: int = 30) -> dict:
    """Per-frame indexing cost of the array wrappers as videos get longer.

    ``dask_then_squeeze`` is the pitfall :func:`as_dask` documents: a whole-array
    ``[..., 0]`` adds a task per frame to every later frame read.
    """
    variants = {
        "dask": lambda r: as_dask(r, squeeze_gray=True),
        "dask_then_squeeze": lambda r: as_dask(r)[..., 0],
        "lazy": lambda r: as_lazy_array(r, squeeze_gray=True),
    }
    out = {}
    for size in sizes:
        row = {}
        for name, wrap in variants.items():
            array = wrap(_Blank(size))
            np.asarray(array[0])
            t0 = time.perf_counter()
            for i in range(n):
                np.asarray(array[(i * 7919) % size])
            row[f"{name}_ms"] = ms((time.perf_counter() - t0) / n)
        out[str(size)] = row
    return out


def doc_rows(results: dict, command: str) -> list[str]:
    """Rows for docs/benchmarks.md: reader, cache, napari."""
    r = results
    w = r["wrappers"]
    figures = [
        f"clip.mp4 (1500 x 1024x1024 gray H.264) reader: open (demux index + first "
        f"frames) + dask {r['open']['total_median_ms']:.0f} ms; forward step "
        f"{r['forward']['mean_ms']:.1f} ms mean; random frame "
        f"{r['random']['mean_ms']:.0f} ms mean, {r['random']['p90_ms']:.0f} p90, "
        f"{r['random']['max_ms']:.0f} max",
        f"zarr cache (zstd-1, 1 frame/chunk): written at {r['cache']['fps']:.0f} fps, "
        f"{r['cache']['store_mb']:.0f} MB (raw {r['cache']['raw_mb']:.0f} MB); random "
        f"reads {r['zarr_read']['frames_per_s']:.0f} frames/s "
        f"({r['zarr_read']['dask_frames_per_s']:.0f} through dask); per-frame "
        "indexing overhead at 1.5k/15k/150k frames, as_dask / as_dask then "
        "[..., 0] / LazyFrames: "
        + "; ".join(
            f"{v['dask_ms']:.1f} / {v['dask_then_squeeze_ms']:.1f} / {v['lazy_ms']:.3f}"
            for v in w.values()
        )
        + " ms",
        "zarr chunk codecs on 60 frames (KiB/frame, write fps, read fps): "
        + "; ".join(
            f"{k} {v['kib_per_frame']:.0f}, {v['write_fps']:.0f}, {v['read_fps']:.0f}"
            for k, v in r["codecs"].items()
        ),
    ]
    if "napari" in r:
        n = r["napari"]
        z, zl = n["frame_change_zarr"], n["frame_change_zarr_lazy"]
        m, ms_ = n["frame_change_mp4"], n["frame_step_mp4"]
        figures.append(
            f"napari (shown, Xvfb/llvmpipe): open clip.mp4 to first draw "
            f"{n['open_mp4_ms']:.0f} ms (LazyFrames {n['open_mp4_lazy_ms']:.0f}; "
            f"dask's first compute in a process {n['open_mp4_dask_first_ms']:.0f}; "
            f"napari's own first-image GL set-up {n['first_image_gl_setup_ms']:.0f} "
            f"apart); frame change from zarr {z['median_ms']:.0f} ms median / "
            f"{z['p90_ms']:.0f} p90 (LazyFrames {zl['median_ms']:.0f} / "
            f"{zl['p90_ms']:.0f}); from mp4: random jump {m['median_ms']:.0f} / "
            f"{m['p90_ms']:.0f}, next frame {ms_['median_ms']:.0f} / "
            f"{ms_['p90_ms']:.0f}"
        )
    day = r["date"][:10]
    machine = f"{MACHINE[:-1]}; load {r['loadavg_before'][0]:.1f})"
    return [f"| {day} | {machine} | `{command}` | {f} |" for f in figures]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/video.json")
    parser.add_argument("--no-napari", action="store_true")
    parser.add_argument("--append-doc", action="store_true")
    args = parser.parse_args(argv)
    if not args.video.exists():
        print(f"{args.video} not found (the shared data)", file=sys.stderr)
        return 1
    results: dict = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": MACHINE,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "video": str(args.video),
        "loadavg_before": list(os.getloadavg()),
    }
    tmp = Path(tempfile.mkdtemp(prefix="bench_video_"))
    try:
        store = tmp / "clip.zarr"
        results["open"] = bench_open(args.video)
        results["forward"] = bench_forward(args.video)
        results["random"] = bench_random(args.video)
        results["codecs"] = bench_codecs(args.video, tmp)
        results["cache"] = bench_cache(args.video, store)
        results["zarr_read"] = bench_zarr_read(store)
        results["wrappers"] = bench_wrappers()
        if not args.no_napari:
            results["napari"] = bench_napari(args.video, store)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["loadavg_after"] = list(os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    command = "xvfb-run -a .venv/bin/python bench/bench_video.py"
    rows = doc_rows(results, command)
    print("\n".join(rows))
    if args.append_doc:
        with open(ROOT / "docs/benchmarks.md", "a") as doc:
            doc.write("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
