"""Batch prediction on a real 2-process LocalCluster with SLEAP 1.x models.

Outputs must equal the single-process predictor's, reruns must skip finished
videos, and a worker killed in the middle of a task must not cost frames.
"""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

CENTROID = "minimal_instance.UNet.centroid"
CENTERED = "minimal_instance.UNet.centered_instance"
VIDEO = "centered_pair_low_quality.mp4"
FRAMES = list(range(12))
CHUNK = 8  # two chunks per video: stitching is exercised


@pytest.fixture(scope="module")
def model_dirs(sleap1_models_dir):
    return [str(sleap1_models_dir / CENTROID), str(sleap1_models_dir / CENTERED)]


@pytest.fixture(scope="module")
def options():
    from napari_sleap.infer.predictor import PredictorOptions

    return PredictorOptions(batch_size=4, max_instances=2)


@pytest.fixture(scope="module")
def videos(sleap1_models_dir, tmp_path_factory):
    """Two symlinked copies of the real video (distinct names, one file)."""
    folder = tmp_path_factory.mktemp("videos")
    paths = []
    for name in ("a.mp4", "b.mp4"):
        (folder / name).symlink_to(sleap1_models_dir / VIDEO)
        paths.append(folder / name)
    return paths


@pytest.fixture(scope="module")
def reference(model_dirs, videos, options, tmp_path_factory):
    """Single-process ``predict`` of the first video: points per frame."""
    from napari_sleap.infer.predict import predict

    out = tmp_path_factory.mktemp("single") / "a.slp"
    labels = predict(
        model_dirs, videos[0], out, frames=FRAMES, options=options, chunk_frames=CHUNK
    )
    return _points(labels)


@pytest.fixture(scope="module")
def cluster():
    """A real LocalCluster: 2 worker processes, 1 TensorFlow thread each."""
    from distributed import Client
    from napari_sleap.distributed.cluster import local_sizing, start_local_cluster

    sizing = local_sizing(2, 1, gpus=0)
    with start_local_cluster(sizing) as lc, Client(lc) as client:
        client.wait_for_workers(2, timeout=120)
        yield client, sizing


def _points(labels) -> dict[int, np.ndarray]:
    out = {}
    for lf in labels.labeled_frames:
        pts = np.stack([i.numpy() for i in lf.instances])
        out[lf.frame_idx] = pts[np.lexsort((pts[:, 0, 1], pts[:, 0, 0]))]
    return out


def _assert_same(path, reference):
    import sleap_io as sio

    got = _points(sio.load_slp(str(path)))
    assert sorted(got) == sorted(reference) == FRAMES
    for f in FRAMES:
        np.testing.assert_allclose(got[f], reference[f], atol=1e-4, equal_nan=True)


def _run(client, sizing, model_dirs, videos, out, options, **kw):
    from napari_sleap.distributed.batch import predict_batch

    return predict_batch(
        model_dirs,
        videos,
        out,
        frames=FRAMES,
        options=options,
        chunk_frames=CHUNK,
        client=client,
        threads=sizing.threads,
        **kw,
    )


def test_workers_are_pinned_and_outputs_equal_single_process(
    cluster, model_dirs, videos, options, reference, tmp_path
):
    from napari_sleap.distributed.worker import thread_settings

    client, sizing = cluster
    seen = []
    result = _run(
        client,
        sizing,
        model_dirs,
        [str(videos[0].parent / "*.mp4")],
        tmp_path,
        options,
        status=lambda s: seen.append((s.videos_done, s.frames_done, s.frames_total)),
    )
    assert [p.name for p in result.written] == [
        "a.predictions.slp",
        "b.predictions.slp",
    ]
    assert not result.failed and result.frames == 2 * len(FRAMES)
    assert result.dashboard and result.dashboard.startswith("http")
    assert seen[-1] == (2, 24, 24)
    for path in result.written:
        _assert_same(path, reference)
        assert not path.with_name(path.name + ".parts").exists()
    # Each worker process kept its model and runs TensorFlow on one thread.
    settings = client.run(thread_settings)
    assert len({s["pid"] for s in settings.values()}) == 2
    for s in settings.values():
        assert s["env"]["OMP_NUM_THREADS"] == "1"
        assert s["env"]["TF_NUM_INTRAOP_THREADS"] == "1"
        assert s["intra_op"] == 1 and s["inter_op"] == 2
    assert sum(s["models"] for s in settings.values()) >= 1


def test_rerun_skips_finished_videos_and_keeps_finished_chunks(
    cluster, model_dirs, videos, options, reference, tmp_path
):
    from napari_sleap.infer.predict import predict
    from napari_sleap.progress import Cancelled

    client, sizing = cluster
    first = _run(client, sizing, model_dirs, videos[:1], tmp_path, options)
    done = first.written[0]
    stamp = done.stat().st_mtime_ns
    # The second video was interrupted after its first chunk (a real run
    # stopped on request), leaving that chunk's part on disk.
    half = threading.Event()
    with pytest.raises(Cancelled):
        predict(
            model_dirs,
            videos[1],
            tmp_path / "b.predictions.slp",
            frames=FRAMES,
            options=options,
            chunk_frames=CHUNK,
            progress=lambda d, t: half.set() if d >= CHUNK else None,
            stop=half,
        )
    assert len(list((tmp_path / "b.predictions.slp.parts").glob("*.npz"))) == 1
    lines = []
    again = _run(
        client, sizing, model_dirs, videos, tmp_path, options, log=lines.append
    )
    assert again.skipped == [done] and done.stat().st_mtime_ns == stamp
    assert any("already done" in line for line in lines)
    assert again.written == [tmp_path / "b.predictions.slp"]
    # Only the missing chunk was predicted: its frames are the run's work.
    assert again.frames == len(FRAMES) - CHUNK
    _assert_same(again.written[0], reference)
    nothing = _run(client, sizing, model_dirs, videos, tmp_path, options)
    assert not nothing.written and len(nothing.skipped) == 2


def test_killed_worker_is_retried_and_output_is_complete(
    cluster, model_dirs, videos, options, tmp_path
):
    import sleap_io as sio

    from napari_sleap.distributed.batch import predict_batch
    from napari_sleap.infer.predict import predict

    client, sizing = cluster
    frames = list(range(64))  # long enough that the kill lands mid-chunk
    reference = _points(
        predict(model_dirs, videos[0], None, frames=frames, options=options)
    )
    pids = client.run(os.getpid)
    out = tmp_path / "a.predictions.slp"
    box: dict = {}

    def kill_a_busy_worker(s):
        if "killed" in box or not 0 < s.frames_done < s.frames_total:
            return
        for addr, keys in client.processing().items():
            if any(str(k).startswith("predict-chunk-") for k in keys) and addr in pids:
                box["parts"] = len(list(tmp_path.glob("*.parts/*.npz")))
                box["output"] = out.exists()
                os.kill(pids[addr], signal.SIGKILL)
                box["killed"] = pids[addr]
                return

    result = predict_batch(
        model_dirs,
        videos[:1],
        tmp_path,
        frames=frames,
        options=options,
        chunk_frames=32,
        client=client,
        threads=sizing.threads,
        status=kill_a_busy_worker,
    )
    assert "killed" in box, "no chunk task was seen running"
    # The worker died with the video unfinished, at most one chunk on disk.
    assert not box["output"] and box["parts"] < 2
    assert result.written == [out] and not result.failed
    got = _points(sio.load_slp(str(out)))
    assert sorted(got) == frames
    for f in frames:
        np.testing.assert_allclose(got[f], reference[f], atol=1e-4, equal_nan=True)
    assert result.details[0]["pid"] != box["killed"]
    client.wait_for_workers(2, timeout=120)  # the nanny restarted the worker


def test_stop_cancels_and_a_rerun_completes(
    cluster, model_dirs, videos, options, reference, tmp_path
):
    from napari_sleap.progress import Cancelled

    client, sizing = cluster
    stop = threading.Event()

    def status(s):
        if s.frames_done > 0:
            stop.set()

    with pytest.raises(Cancelled, match="rerun the same command to resume"):
        _run(
            client,
            sizing,
            model_dirs,
            videos,
            tmp_path,
            options,
            status=status,
            stop=stop,
        )
    # A video may end between the first frame's report and the stop arriving
    # (seen once under CI load); the rest keep their parts.
    finished = sorted(tmp_path.glob("*.predictions.slp"))
    assert len(finished) < len(videos)
    assert list(tmp_path.glob("*.slp.parts"))
    # The rerun connects by address, as to a dask-jobqueue or Kubernetes cluster.
    from napari_sleap.distributed.batch import predict_batch

    result = predict_batch(
        model_dirs,
        videos,
        tmp_path,
        frames=FRAMES,
        options=options,
        chunk_frames=CHUNK,
        scheduler=client.scheduler.address,
        threads=sizing.threads,
    )
    assert len(result.written) + len(finished) == 2
    for path in [*finished, *result.written]:
        _assert_same(path, reference)
