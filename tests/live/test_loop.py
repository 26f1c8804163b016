"""The closed loop with a real trained model on a real replayed video.

A top-down pipeline is trained briefly on the synthetic two-animal sample
(tests/fixtures/trained_sample.py's recipe, fewer steps) and run live on the
held-out frames replayed at 30 frames/s. Its poses must equal the batch
predictor's on the same frames, every result must carry ordered timestamps,
the trigger's decision must follow the distance rule on the poses, and a stop
(from the callback, another thread, or Ctrl+C on the command) must end the run
cleanly with a summary.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from napari_sleap.live.engines import load_live_model
from napari_sleap.live.loop import LiveLoop
from napari_sleap.live.source import VideoReplaySource
from napari_sleap.live.trigger import ProximityTrigger
from tests.fixtures.trained_sample import TOP_DOWN_STEPS, held_out, trainer

pytestmark = pytest.mark.slow

FPS = 30.0
#: 40 held-out frames (1.3 s at 30 frames/s).
FRAMES = held_out()[:40]


@pytest.fixture(scope="module")
def model_dirs(request, tmp_path_factory) -> list[str]:
    """The session's short top-down pipeline (trained once, shared with infer/)."""
    get = trainer(request, tmp_path_factory, lambda pipeline: TOP_DOWN_STEPS)
    return get("top-down")[0].model_dirs


@pytest.fixture(scope="module")
def live_model(model_dirs):
    # the float32 predictor: its poses are compared with the batch predictor's
    return load_live_model(model_dirs, engine="predictor", max_instances=2)


def _nose_to_tail(points: np.ndarray) -> float:
    """Independent of the trigger: nearest nose -> other animal's tail base."""
    from napari_sleap.sample import NODES

    nose, tail = NODES.index("nose"), NODES.index("tail_base")
    best = np.nan
    for i in range(len(points)):
        for j in range(len(points)):
            if i != j:
                d = float(np.hypot(*(points[i, nose] - points[j, tail])))
                best = d if np.isnan(best) else min(best, d)
    return best


def test_live_poses_equal_the_batch_predictor(
    two_animal_sample, model_dirs, live_model
):
    from napari_sleap.infer.predictor import Predictor, PredictorOptions
    from napari_sleap.io.video import open_video

    trigger = ProximityTrigger(
        live_model.node_names, distance_px=40.0, node="nose", target="tail_base"
    )
    source = VideoReplaySource(two_animal_sample.video, fps=FPS, frames=FRAMES)
    loop = LiveLoop(source, live_model, on_result=trigger)
    summary = loop.run()
    results = loop.results
    assert not source.running and not summary.cancelled
    assert summary.grabbed == len(FRAMES) == summary.processed + summary.dropped
    assert summary.processed == len(results) >= 5
    for r in results:
        assert r.t_due <= r.t_grab <= r.t_start <= r.t_poses <= r.t_decision
    assert summary.latency_ms["median"] > 0 and summary.model_ms["median"] > 0
    # The trigger decided by the distance rule on each frame's poses.
    for r in results:
        assert r.decision == bool(_nose_to_tail(r.poses.points) < 40.0)
    # A real model: both animals on most frames.
    two = sum(len(r.poses) == 2 for r in results)
    assert two >= 0.8 * len(results), [len(r.poses) for r in results]

    inds = [r.index for r in results]
    batch = Predictor.from_model_dirs(
        model_dirs, PredictorOptions(batch_size=4, max_instances=2)
    )
    reader = open_video(two_animal_sample.video)
    expected = [p for _, ps in batch.run(reader, inds) for p in ps]
    reader.close()
    assert len(expected) == len(results)
    for r, want in zip(results, expected, strict=True):
        assert r.poses.points.shape == want.points.shape, r.index
        np.testing.assert_allclose(r.poses.points, want.points, atol=1e-3)
        np.testing.assert_allclose(r.poses.point_scores, want.point_scores, atol=1e-4)


def test_slow_callback_drops_frames_without_lagging(two_animal_sample, live_model):
    """A callback taking 150 ms: most frames dropped, the delay does not grow."""
    source = VideoReplaySource(two_animal_sample.video, fps=FPS, frames=FRAMES)

    def slow(result):
        time.sleep(0.15)
        return True

    loop = LiveLoop(source, live_model, on_result=slow)
    summary = loop.run()
    assert summary.grabbed == len(FRAMES) == summary.processed + summary.dropped
    assert summary.processed <= len(FRAMES) / 3, summary.lines()
    lat = np.array([r.latency for r in loop.results])
    assert np.all(lat >= 0.15)
    # Each decision waits for one frame's work at most, never for a queue.
    waits = np.array([r.t_start - r.t_grab for r in loop.results])
    busy = np.array([r.t_decision - r.t_start for r in loop.results])
    assert np.all(waits <= busy.max() + 0.1), (waits, busy)


def test_stop_from_the_callback_ends_cleanly(two_animal_sample, live_model):
    source = VideoReplaySource(two_animal_sample.video, fps=FPS, frames=FRAMES)
    seen = []

    def on_result(result):
        seen.append(result.index)
        if len(seen) == 5:
            loop.stop()
        return None

    loop = LiveLoop(source, live_model, on_result=on_result)
    summary = loop.run()
    assert summary.cancelled and summary.processed == 5 == len(seen)
    assert not source.running
    assert source.reader._container is None  # the decoder was closed
    assert "(cancelled)" in summary.lines()[0]


def test_stop_flag_from_another_thread(two_animal_sample, live_model):
    source = VideoReplaySource(two_animal_sample.video, fps=FPS, frames=FRAMES)
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    loop = LiveLoop(source, live_model, stop=stop)
    timer.start()
    start = time.perf_counter()
    summary = loop.run()
    timer.join()
    assert summary.cancelled and not source.running
    assert 0 < summary.grabbed < len(FRAMES)
    assert time.perf_counter() - start < 1.3  # well before the source's 1.3 s end


def test_command_prints_figures_and_saves_poses(
    two_animal_sample, model_dirs, tmp_path, capsys
):
    import sleap_io as sio

    from napari_sleap.cli import main

    out = tmp_path / "poses.slp"
    args = ["live", *model_dirs, str(two_animal_sample.video), "--fps", "30"]
    args += ["--frames", "240-269", "--max-instances", "2", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "end-to-end latency (grab -> decision): median" in text
    assert "30 grabbed" in text and "dropped" in text
    labels = sio.load_slp(str(out))
    frames = [lf.frame_idx for lf in labels.labeled_frames]
    assert frames and set(frames) <= set(range(240, 270))
    assert Path(labels.videos[0].filename).name == "sample.mp4"

    as_json = tmp_path / "poses.json"
    assert main([*args, "--out", str(as_json)]) == 0
    data = json.loads(as_json.read_text())
    assert data["summary"]["grabbed"] == 30
    assert len(data["frames"]) == data["summary"]["processed"]
    first = data["frames"][0]
    assert first["t_grab"] <= first["t_poses"] <= first["t_decision"]
    assert np.asarray(first["points"], dtype=float).shape[1:] == (10, 2)


def test_command_bad_source_and_output(model_dirs, tmp_path, capsys):
    from napari_sleap.cli import main

    assert main(["live", *model_dirs, str(tmp_path / "none.mp4")]) == 1
    err = capsys.readouterr().err
    assert "none.mp4" in err and "Fix" in err
    assert main(["live", *model_dirs, "95"]) == 1
    assert "camera 95" in capsys.readouterr().err
    assert main(["live", *model_dirs, "95", "--out", str(tmp_path / "a.slp")]) == 1
    assert "write .json" in capsys.readouterr().err
    assert main(["live", str(tmp_path / "nomodel"), "0"]) == 1
    assert "model folder" in capsys.readouterr().err


def test_ctrl_c_stops_the_command_with_its_figures(two_animal_sample, model_dirs):
    """SIGINT (Ctrl+C) mid-run: the loop ends, prints its figures, exits 0."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "napari_sleap", "live", *model_dirs]
    # 10 frames/s: the 320-frame replay lasts 32 s, so the signal lands mid-run
    # even when this test process is scheduled late on a busy machine.
    cmd += [str(two_animal_sample.video), "--fps", "10", "--max-instances", "2"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        # The progress line appears once frames flow (after loading and warm-up).
        buf = ""
        deadline = time.monotonic() + 120
        while "live [" not in buf and time.monotonic() < deadline:
            ch = proc.stderr.read(1)
            if not ch:
                break
            buf += ch
        assert "live [" in buf, buf[-2000:]
        seen = buf[buf.rfind("live [") :]  # the progress when the signal went
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "(cancelled)" in out and "end-to-end latency" in out, (seen, out, err[-800:])


def test_proximity_example_runs_and_scores_against_labels(
    two_animal_sample, model_dirs, capsys
):
    """examples/proximity_trigger.py end to end on the sample and its labels."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "examples" / "proximity_trigger.py"
    spec = importlib.util.spec_from_file_location("proximity_trigger", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    args = [*model_dirs, str(two_animal_sample.video), "--fps", "30"]
    args += ["--frames", "240-279", "--distance", "40", "--node", "nose"]
    args += ["--target", "tail_base", "--labels", str(two_animal_sample.gt)]
    assert example.main(args) == 0
    out = capsys.readouterr().out
    assert "end-to-end latency" in out
    assert "vs labels: held-state precision" in out
