"""Portable inference gives the current predictor's poses, on every backend.

Small real models trained on the synthetic sample (tests/fixtures/trained_sample.py:
the session's models of test_trained_pipelines.py, the shared short top-down) are run
by each backend in a subprocess of its own (``KERAS_BACKEND`` is read when Keras
is imported; one process per backend serves the module's jobs) and their poses
compared with the TensorFlow predictor's: within 1e-3 px, same instances and
missing nodes. A low peak threshold makes sure there is plenty to compare.

PyTorch is not a test dependency (~2 GB with its CUDA wheels): point
``NAPARI_SLEAP_TORCH_PYTHON`` at the python of an environment holding torch,
Keras and the core's runtime packages (no TensorFlow needed; docs/backends.md)
and the torch variants run their worker there, on this checkout's ``src``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.trained_sample import (
    TEST_STEPS,
    TOP_DOWN_STEPS,
    held_out,
    trainer,
)

WORKER = Path(__file__).with_name("portable_worker.py")
SRC = Path(__file__).resolve().parents[2] / "src"
#: A python with torch + Keras for the torch variants (torch is not a test extra).
TORCH_PYTHON = "NAPARI_SLEAP_TORCH_PYTHON"
#: Training steps per model: the trained-pipeline tests' models (trained once per
#: session for both files); top-down (not among those) the short model that
#: test_engine_choice, test_model_export and live share.
STEPS = {
    "top-down": TOP_DOWN_STEPS,
    "single": TEST_STEPS,
    "bottom-up": TEST_STEPS,
    "top-down-id": TEST_STEPS,
    "bottom-up-id": TEST_STEPS,
}
#: Seconds one worker job may take.
JOB_TIMEOUT = 900
THRESHOLD = 0.1
TOL_PX = 1e-3
BACKENDS = ["tensorflow", "jax", "torch"]


def _python(backend: str) -> str:
    """The interpreter a backend's worker runs in."""
    if backend == "torch" and os.environ.get(TORCH_PYTHON):
        return os.environ[TORCH_PYTHON]
    return sys.executable


def _available(backend: str) -> str | None:
    """Why a backend cannot run here (None when it can)."""
    if backend == "torch" and os.environ.get(TORCH_PYTHON):
        if not os.access(os.environ[TORCH_PYTHON], os.X_OK):
            return f"{TORCH_PYTHON}={os.environ[TORCH_PYTHON]} is not an executable"
        return None
    if backend == "torch" and importlib.util.find_spec("torch") is None:
        return (
            "PyTorch is not installed (not a test dependency: it is ~2 GB); set "
            f"{TORCH_PYTHON} to a python with torch and keras (docs/backends.md)"
        )
    if backend == "jax" and importlib.util.find_spec("jax") is None:
        return "jax is not installed: pip install -c constraints.txt -e '.[test]'"
    return None


@pytest.fixture(scope="module")
def trained(request, tmp_path_factory):
    """``get(pipeline)`` -> (model dirs, sample); each pipeline trains once."""
    get_trained = trainer(request, tmp_path_factory, STEPS.__getitem__)

    def get(pipeline: str):
        models, sample = get_trained(pipeline)
        return models.model_dirs, sample

    return get


def _reference(dirs, video, frames, tta: str = "none"):
    """The current (TensorFlow) predictor's poses, frame by frame."""
    from napari_sleap.infer import load_predictor
    from napari_sleap.io.video import open_video

    pred = load_predictor(dirs, batch_size=4, peak_threshold=THRESHOLD, tta=tta)
    images = open_video(video).read_frames(frames)
    return [p for i in range(0, len(images), 4) for p in pred.layer(images[i : i + 4])]


class Workers:
    """One serving worker process per backend (portable_worker.py --serve)."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.procs: dict[str, subprocess.Popen] = {}

    def _start(self, backend: str) -> subprocess.Popen:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        python = _python(backend)
        if python != sys.executable:  # another environment: run this checkout's code
            env["PYTHONPATH"] = os.pathsep.join(
                [str(SRC), *filter(None, [env.get("PYTHONPATH")])]
            )
        with (self.logs / f"{backend}.log").open("a") as log:
            return subprocess.Popen(
                [python, str(WORKER), "--serve"],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def _log_tail(self, backend: str) -> str:
        return (self.logs / f"{backend}.log").read_text()[-3000:]

    def run(self, backend: str, args: list[str]) -> None:
        """Run one job in ``backend``'s worker; fails with its error and log."""
        proc = self.procs.get(backend)
        if proc is None or proc.poll() is not None:
            proc = self.procs[backend] = self._start(backend)
        proc.stdin.write(json.dumps(args) + "\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], JOB_TIMEOUT)
        if not ready:
            proc.kill()
            pytest.fail(f"{backend} worker: no answer in {JOB_TIMEOUT} s")
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"{backend} worker exited: {self._log_tail(backend)}")
        answer = json.loads(line)
        assert answer.get("ok"), f"{answer.get('error')}\n{self._log_tail(backend)}"

    def close(self) -> None:
        for proc in self.procs.values():
            proc.stdin.close()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    """The module's backend workers, each started on its first job."""
    pool = Workers(tmp_path_factory.mktemp("portable_workers"))
    yield pool
    pool.close()


def _run(
    workers: Workers, backend: str, dirs, video, frames, tmp_path, tta: str = "none"
) -> dict:
    out = tmp_path / f"{backend}-{tta}.npz"
    span = f"{frames[0]}-{frames[-1]}"
    args = [str(out), str(video), span, str(THRESHOLD), f"--tta={tta}"]
    args += [str(d) for d in dirs]
    workers.run(backend, args)
    return dict(np.load(out))


def _compare(ref, got: dict, backend: str) -> int:
    """Assert the same poses; returns the number of instances compared."""
    n = 0
    for i, poses in enumerate(ref):
        pts = got["points"][i]
        live = ~np.isnan(got["instance_scores"][i])
        assert live.sum() == len(poses), f"{backend}: frame {i} instance count"
        a, b = poses.points, pts[live]
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{backend}: frame {i} nodes"
        if a.size:
            assert np.nanmax(np.abs(a - b), initial=0) < TOL_PX, f"{backend}: frame {i}"
        np.testing.assert_allclose(
            got["scores"][i][live], poses.point_scores, atol=1e-4
        )
        np.testing.assert_allclose(
            got["instance_scores"][i][live], poses.instance_scores, atol=1e-4
        )
        if poses.class_inds is not None:
            cls = got["class_inds"][i][: len(poses)]
            np.testing.assert_array_equal(cls, poses.class_inds)
        n += len(poses)
    return n


@pytest.fixture(scope="module")
def reference(trained):
    """``get(pipeline)`` -> (dirs, video, frames, the TF predictor's poses)."""
    cache: dict[str, tuple] = {}

    def get(pipeline: str):
        if pipeline not in cache:
            dirs, sample = trained(pipeline)
            frames = held_out()[:12]
            cache[pipeline] = (
                dirs,
                sample.video,
                frames,
                _reference(dirs, sample.video, frames),
            )
        return cache[pipeline]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "pipeline", ["top-down", "bottom-up", "single", "top-down-id", "bottom-up-id"]
)
def test_portable_matches_predictor(pipeline, backend, reference, workers, tmp_path):
    why = _available(backend)
    if why:
        pytest.skip(f"{backend} backend not checked: {why}")
    dirs, video, frames, ref = reference(pipeline)
    got = _run(workers, backend, dirs, video, frames, tmp_path)
    assert str(got["backend"]) == backend
    assert bool(got["tensorflow_imported"]) == (backend == "tensorflow")
    n = _compare(ref, got, backend)
    assert n >= len(frames), f"{pipeline}: too few instances to compare ({n})"
    # the batch-1 path gives the same poses as the batched one
    first = got["points"][0][~np.isnan(got["instance_scores"][0])]
    np.testing.assert_allclose(got["frame0"], first, atol=TOL_PX)


@pytest.mark.slow
def test_predict_cli_portable_engine_writes_the_same_poses(reference, tmp_path):
    """``napari-sleap predict --engine portable`` writes the default engine's poses."""
    import sleap_io as sio

    from napari_sleap.cli import main

    dirs, video, frames, _ = reference("top-down")
    span = f"{frames[0]}-{frames[-1]}"
    outs = {}
    for engine in ("default", "portable"):
        out = tmp_path / f"{engine}.slp"
        args = ["predict", *dirs, str(video), "-o", str(out), "--frames", span]
        args += ["--peak-threshold", str(THRESHOLD), "--engine", engine]
        assert main(args) == 0
        outs[engine] = sio.load_slp(str(out))
    a, b = outs["default"], outs["portable"]
    assert len(a.labeled_frames) == len(b.labeled_frames) > 0
    for fa, fb in zip(a.labeled_frames, b.labeled_frames, strict=True):
        assert fa.frame_idx == fb.frame_idx and len(fa.instances) == len(fb.instances)
        for ia, ib in zip(fa.instances, fb.instances, strict=True):
            np.testing.assert_allclose(ia.numpy(), ib.numpy(), atol=TOL_PX)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--bfloat16"], "--bfloat16 is offered by the portable engine only"),
        (["--engine", "portable", "--bfloat16", "--mixed-precision"], "drop"),
        (["--engine", "portable", "--workers", "2"], "batch mode"),
    ],
)
def test_predict_cli_refuses_what_portable_does_not_offer(
    tmp_path, capsys, extra, needle
):
    from napari_sleap.cli import main

    model = tmp_path / "model"
    model.mkdir()
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    out = tmp_path / "o.slp"
    assert main(["predict", str(model), str(video), "-o", str(out), *extra]) != 0
    assert needle in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize(
    "centered",
    [
        "minimal_instance.UNet.centered_instance",
        "minimal_instance.UNet.centered_instance_with_scaling",
    ],
)
def test_sleap1_top_down_on_every_backend(
    sleap1_models_dir, centered, workers, tmp_path
):
    """SLEAP 1.x folders: fractional ("center") crops, up to 9 animals a frame."""
    dirs = [
        sleap1_models_dir / "minimal_instance.UNet.centroid",
        sleap1_models_dir / centered,
    ]
    video = sleap1_models_dir / "centered_pair_low_quality.mp4"
    frames = list(range(6))
    ref = _reference(dirs, video, frames)
    assert max(len(p) for p in ref) > 2  # the slots had to widen
    for backend in BACKENDS:
        if _available(backend) is None:
            got = _run(workers, backend, dirs, video, frames, tmp_path)
            assert str(got["backend"]) == backend
            _compare(ref, got, backend)


#: Test-time augmentation modes the portable top-down runs (tta.TTA_MODES).
TTA = ["flip", "rot180", "rot90", "flip-rot90"]


@pytest.fixture(scope="module")
def tta_reference(trained):
    """``get(mode)`` -> (dirs, video, frames, the predictor's poses with ``mode``)."""
    cache: dict[str, tuple] = {}

    def get(mode: str):
        if mode not in cache:
            dirs, sample = trained("top-down")
            frames = held_out()[:4]
            ref = _reference(dirs, sample.video, frames, tta=mode)
            cache[mode] = (dirs, sample.video, frames, ref)
        return cache[mode]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_portable_tta_matches_predictor_tta(backend, tta_reference, workers, tmp_path):
    """Every tta mode: the compiled graph's view-averaged poses are the
    predictor's with the same mode (the shared short top-down, 4 frames)."""
    why = _available(backend)
    if why:
        pytest.skip(f"{backend} backend not checked: {why}")
    dirs, video, frames, plain = tta_reference("none")
    got = _run(workers, backend, dirs, video, frames, tmp_path)
    assert _compare(plain, got, backend) >= len(frames)
    for mode in TTA:
        ref = tta_reference(mode)[3]
        got = _run(workers, backend, dirs, video, frames, tmp_path, tta=mode)
        assert _compare(ref, got, f"{backend} {mode}") >= len(frames)
        moved = [
            np.nanmax(np.abs(a.points - b.points), initial=0)
            for a, b in zip(plain, ref, strict=True)
            if len(a) == len(b)
        ]
        assert max(moved) > TOL_PX, f"{mode}: the views changed nothing"


@pytest.mark.shared_data
def test_sleap1_portable_tta_and_what_it_refuses(sleap1_models_dir, workers, tmp_path):
    """SLEAP 1.x top-down (fractional crops): turned views match the predictor's;
    mirrors need left/right nodes; single-instance models take no tta."""
    from napari_sleap.infer.portable import load_portable

    dirs = [
        sleap1_models_dir / "minimal_instance.UNet.centroid",
        sleap1_models_dir / "minimal_instance.UNet.centered_instance",
    ]
    video = sleap1_models_dir / "centered_pair_low_quality.mp4"
    frames = list(range(3))
    ref = _reference(dirs, video, frames, tta="rot90")
    got = _run(workers, "tensorflow", dirs, video, frames, tmp_path, tta="rot90")
    assert _compare(ref, got, "tensorflow rot90") >= len(frames)
    with pytest.raises(ValueError, match="left/right node pairs"):
        load_portable(dirs, tta="flip")
    with pytest.raises(ValueError, match="top-down models .* only"):
        load_portable(
            sleap1_models_dir / "minimal_robot.UNet.single_instance", tta="rot180"
        )
    with pytest.raises(ValueError, match="tta mode 'spin'"):
        load_portable(dirs, tta="spin")
