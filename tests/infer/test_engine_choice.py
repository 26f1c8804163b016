"""The ``auto`` engine: which engine and precision a machine gets, and its poses.

The choice function is checked on given CPU flag sets and on this machine's
(against what oneDNN itself reports about the CPU); ``predict`` with the
default engine is run end to end on a small real top-down model and its poses
compared with the float32 predictor's.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from napari_sleap.infer.engine_choice import (
    EngineChoice,
    choose_engine,
    cpu_flags,
    native_bf16,
)
from tests.fixtures.trained_sample import TOP_DOWN_STEPS, held_out, trainer

AMX = {"fpu", "avx2", "avx512f", "amx_tile", "amx_bf16", "amx_int8"}
AVX512_BF16 = {"fpu", "avx2", "avx512f", "avx512_bf16"}
PLAIN = {"fpu", "sse4_2", "avx2", "avx512f", "avx512bw"}


def _choose(flags, pipeline="top-down", **kw) -> EngineChoice:
    base = {"backend": "tensorflow", "gpu": False}
    return choose_engine(pipeline=pipeline, flags=flags, **{**base, **kw})


def test_cpu_flags_read_from_cpuinfo_text():
    text = "processor\t: 0\nflags\t\t: fpu avx512f amx_bf16\nbugs\t: spectre\n"
    assert cpu_flags(text) == {"fpu", "avx512f", "amx_bf16"}
    assert cpu_flags("Features\t: fp asimd bf16\n") == {"fp", "asimd", "bf16"}
    assert cpu_flags("nothing here") == frozenset()


@pytest.mark.parametrize(
    ("flags", "native"), [(AMX, True), (AVX512_BF16, True), (PLAIN, False), ((), False)]
)
def test_native_bf16_needs_amx_or_avx512_bf16(flags, native):
    assert native_bf16(flags) is native


@pytest.mark.parametrize(
    ("flags", "kw", "engine", "precision"),
    [
        (AMX, {}, "portable", "bfloat16"),
        (AVX512_BF16, {}, "portable", "bfloat16"),
        (PLAIN, {}, "predictor", "float32"),
        (AMX, {"gpu": True}, "predictor", "float32"),  # not measured on a GPU
        (AMX, {"pipeline": "bottom-up"}, "predictor", "float32"),  # not measured
        (AMX, {"pipeline": None}, "predictor", "float32"),
        (AMX, {"tta": "flip"}, "portable", "bfloat16"),  # both engines offer it
        (AMX, {"float16": True}, "predictor", "float16"),
        (AMX, {"precision": "float32"}, "predictor", "float32"),  # --no-bfloat16
        (PLAIN, {"precision": "bfloat16"}, "portable", "bfloat16"),
        (AMX, {"engine": "predictor"}, "predictor", "float32"),
        (AMX, {"engine": "portable"}, "portable", "float32"),  # by name: as before
        (AMX, {"engine": "portable", "precision": "bfloat16"}, "portable", "bfloat16"),
        (AMX, {"backend": "jax"}, "portable", "float32"),  # bfloat16 no faster
        (PLAIN, {"backend": "torch", "gpu": True}, "portable", "float32"),
    ],
)
def test_choice_on_given_flag_sets(flags, kw, engine, precision):
    choice = _choose(flags, **kw)
    assert (choice.engine, choice.precision) == (engine, precision)
    assert choice.reason and choice.engine in choice.describe()


@pytest.mark.parametrize("tta", ["flip", "rot180", "rot90", "flip-rot90"])
@pytest.mark.parametrize("flags", [AMX, AVX512_BF16, PLAIN])
@pytest.mark.parametrize(
    "kw", [{}, {"backend": "jax"}, {"gpu": True}, {"precision": "float32"}]
)
def test_tta_does_not_change_the_choice(flags, kw, tta):
    assert _choose(flags, tta=tta, **kw) == _choose(flags, **kw)


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"engine": "predictor", "precision": "bfloat16"}, "portable engine only"),
        ({"engine": "predictor", "backend": "jax"}, "needs TensorFlow"),
        ({"precision": "bfloat16", "float16": True}, "choose one"),
        ({"engine": "onnx"}, "choose one of"),
        ({"precision": "int8"}, "choose one of"),
    ],
)
def test_choice_refuses_what_no_engine_offers(kw, needle):
    with pytest.raises(ValueError, match=needle):
        _choose(AMX, **kw)


def _onednn_isa() -> str:
    """The CPU ISA line oneDNN prints when TensorFlow runs a bfloat16 conv."""
    code = (
        "import tensorflow as tf\n"
        "x = tf.zeros((1, 8, 8, 4), tf.bfloat16)\n"
        "tf.nn.conv2d(x, tf.zeros((3, 3, 4, 4), tf.bfloat16), 1, 'SAME')\n"
    )
    env = dict(os.environ, ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in proc.stdout.splitlines() if ",info,cpu,isa:" in ln]
    if not lines:
        pytest.skip("this TensorFlow build does not use oneDNN (no ISA line)")
    return lines[0]


def test_choice_on_this_machine_agrees_with_onednn():
    """/proc/cpuinfo's bfloat16 flags and oneDNN's ISA report say the same."""
    native = native_bf16(cpu_flags())
    assert ("bfloat16" in _onednn_isa()) is native
    choice = _choose(cpu_flags())
    want = ("portable", "bfloat16") if native else ("predictor", "float32")
    assert (choice.engine, choice.precision) == want


# -- end to end on a small real model -----------------------------------------
#: Steps per model: the top-down pipeline the other test files share.
STEPS = {"top-down": TOP_DOWN_STEPS}
#: Low enough for plenty of nodes to compare (as tests/infer/test_portable.py).
THRESHOLD = 0.1


@pytest.fixture(scope="module")
def topdown(request, tmp_path_factory):
    """A top-down pipeline trained on the two-animal sample (once per module)."""
    trained, sample = trainer(request, tmp_path_factory, STEPS.__getitem__)("top-down")
    return trained.model_dirs, sample


def _predict(capsys, dirs, video, out, frames, *extra) -> str:
    """Run ``napari-sleap predict`` (its ``main``, in this process); its output.

    In-process: three fresh interpreters (TensorFlow import, model load) made
    this test 3.6x slower (41.6 s vs 11.5 s on the busy 2-core box).
    """
    from napari_sleap.cli import main

    args = ["predict", *map(str, dirs), str(video), "-o", str(out)]
    args += ["--frames", frames, *extra, "--peak-threshold", str(THRESHOLD)]
    capsys.readouterr()
    rc = main(args)
    printed = capsys.readouterr()
    assert rc == 0, printed.err[-3000:]
    return printed.out + printed.err


def _poses(path) -> dict[int, np.ndarray]:
    import sleap_io as sio

    labels = sio.load_slp(str(path))
    return {
        int(lf.frame_idx): np.stack([i.numpy() for i in lf.instances])
        for lf in labels.labeled_frames
        if lf.instances
    }


@pytest.mark.slow
def test_predict_default_engine_gives_the_float32_poses(topdown, tmp_path, capsys):
    """``predict`` (auto) vs ``--engine predictor`` vs ``--no-bfloat16``."""
    dirs, sample = topdown
    frames = held_out()[:16]
    span = f"{frames[0]}-{frames[-1]}"
    native = native_bf16(cpu_flags())
    text = {}
    for name, extra in [
        ("auto", []),
        ("predictor", ["--engine", "predictor"]),
        ("float32", ["--no-bfloat16"]),
    ]:
        out = tmp_path / f"{name}.slp"
        extra = [*extra, "--tta", "none"]  # the engines' precision alone, one view
        text[name] = _predict(capsys, dirs, sample.video, out, span, *extra)
    want = "engine portable (bfloat16)" if native else "engine predictor (float32)"
    assert want in text["auto"], text["auto"][-2000:]
    assert "engine predictor (float32)" in text["predictor"]
    assert "engine predictor (float32)" in text["float32"]
    ref = _poses(tmp_path / "predictor.slp")
    assert sum(len(p) for p in ref.values()) >= len(frames)  # animals found
    diffs, same = _differences(_poses(tmp_path / "float32.slp"), ref)
    assert same == len(ref) and diffs.max(initial=0) < 1e-3
    diffs, same = _differences(_poses(tmp_path / "auto.slp"), ref)
    if not native:
        assert same == len(ref) and diffs.max(initial=0) < 1e-3
        return
    # bfloat16 keeps ~3 significant digits: an instance or node near the
    # threshold may come or go, most nodes move by hundredths of a pixel, a
    # few on the weak maps of this briefly trained model by a pixel or two.
    assert same >= 0.8 * len(ref), f"only {same} of {len(ref)} frames alike"
    assert len(diffs) >= 2 * len(frames)
    p50, p90, top = np.percentile(diffs, [50, 90, 100])
    found = {
        name: sum(int(np.isfinite(p[..., 0]).sum()) for p in poses.values())
        for name, poses in (("predictor", ref), ("auto", _poses(tmp_path / "auto.slp")))
    }
    print(f"bfloat16 - float32: p50 {p50:.3f} p90 {p90:.3f} max {top:.3f} px; {found}")
    assert p50 < 0.1 and p90 < 1.0 and top < 4.0, (p50, p90, top)
    # as many nodes found (accuracy on real data: bench/bench_portable.py)
    assert abs(found["auto"] - found["predictor"]) <= 0.1 * found["predictor"]


def _differences(got: dict, ref: dict) -> tuple[np.ndarray, int]:
    """Node distances (px) over frames with the same instances and nodes.

    Instances are paired by mean node distance (optimal assignment). Returns
    the distances and how many frames had the same instance count and the
    same missing nodes.
    """
    from scipy.optimize import linear_sum_assignment

    out, same = [], 0
    for f, want in ref.items():
        have = got.get(f)
        if have is None or have.shape != want.shape:
            continue
        d = np.linalg.norm(have[:, None] - want[None], axis=-1)  # (have, want, n)
        rows, cols = linear_sum_assignment(np.nan_to_num(np.nanmean(d, -1), nan=1e9))
        a, b = have[rows], want[cols]
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            continue
        same += 1
        e = np.linalg.norm(a - b, axis=-1)
        out.extend(e[np.isfinite(e)].tolist())
    return np.asarray(out), same


@pytest.mark.slow
def test_live_takes_the_default_and_the_frame_worker_the_predictor(topdown):
    """The live loop loads what ``predict`` chooses; Add's worker the predictor."""
    import queue

    from napari_sleap.jobs.frame_worker import serve
    from napari_sleap.live.engines import load_live_model

    dirs, sample = topdown
    native = native_bf16(cpu_flags())
    live = load_live_model(dirs, max_instances=2)
    assert live.engine == ("portable (tensorflow, bfloat16)" if native else "predictor")
    back = load_live_model(dirs, max_instances=2, precision="float32")
    assert back.engine == "predictor"
    events = []
    requests: queue.Queue = queue.Queue()
    requests.put(None)  # ready, then end
    serve(dirs, requests, emit=lambda name, value: events.append((name, value)))
    assert dict(events)["ready"]["engine"].startswith("engine predictor (float32)")
