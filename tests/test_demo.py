"""``make demo``: the whole loop runs end to end, writes its figures and resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from napari_sleap.demo.run import QUICK_SAMPLE, STEPS, DemoContext, Step, run_demo
from napari_sleap.sample import train_frames

MODEL_STEPS = ["train", "predict", "track", "evaluate", "render"]


def _demo(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the demo as ``make demo`` does, in its own process (it loads TensorFlow)."""
    cmd = [sys.executable, "-m", "napari_sleap.demo", *args]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_steps_in_order():
    assert [s.name for s in STEPS] == ["sample", *MODEL_STEPS, "view"]


@pytest.mark.parametrize("n", [400, 60, 41])
def test_held_out_frames_never_trained_on(n, tmp_path):
    from napari_sleap.demo.steps import held_out_frames

    ctx = DemoContext(out=tmp_path, sample_dir=tmp_path, n_frames=n)
    held = held_out_frames(ctx)
    assert held and held[-1] == n - 1
    assert held[0] > train_frames(n).max()
    assert held[0] >= round(0.75 * n)


def test_rerun_skips_steps_whose_outputs_exist(tmp_path):
    """Skipped while outputs and saved results exist; redone after a redo or --fresh."""
    calls: list[str] = []

    def make(name: str):
        def run(ctx: DemoContext) -> str:
            calls.append(name)
            (ctx.out / f"{name}.txt").write_text(name)
            ctx.results[name] = {"value": len(calls)}
            return f"{name} ran"

        return Step(name, run, lambda c: [c.out / f"{name}.txt"])

    steps = [make("a"), make("b"), make("c")]

    def ctx(**kw) -> DemoContext:
        return DemoContext(out=tmp_path / "out", sample_dir=tmp_path, **kw)

    first = run_demo(ctx(), steps)
    assert calls == ["a", "b", "c"]
    assert not any(s["skipped"] for s in first["steps"])
    second = run_demo(ctx(), steps)
    assert calls == ["a", "b", "c"]  # nothing redone
    assert all(s["skipped"] for s in second["steps"])
    assert second["results"] == first["results"]  # the saved figures come back
    (tmp_path / "out" / "b.txt").unlink()  # b's output gone: b and c redo
    run_demo(ctx(), steps)
    assert calls == ["a", "b", "c", "b", "c"]
    run_demo(ctx(fresh=True), steps)
    assert calls[-3:] == ["a", "b", "c"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["results"]["c"] == {"value": 8}
    assert len(summary["settings"]["load_average"]) == 3


def test_format_summary_reads_every_figure():
    from napari_sleap.demo.steps import format_summary

    summary = {
        "results": {
            "sample": {"frames": 400, "size": 384, "train_frames": 30},
            "train": {
                "pipeline": "top-down",
                "seconds": 200.0,
                "models": {"centroid": {"steps": 800, "steps_per_s": 12.5}},
            },
            "predict": {"frames": [300, 399], "instances": 198, "frames_per_s": 12.0},
            "track": {"tracker": "flow", "tracks": ["track_0"], "ms_per_frame": 1.0},
            "evaluate": {
                "oks_map": 0.86,
                "oks_mar": 0.9,
                "detection": {"recall": 0.95},
                "error_px": {"p50": 0.5, "p90": None},
                "id_switches": 0,
                "idf1": 0.97,
                "mota": 0.94,
                "pred_tracks": 2,
                "gt_tracks": 2,
                "plot": "node_errors.png",
            },
        }
    }
    summary["results"]["sample"]["last_train_frame"] = 290
    text = format_summary(summary)
    for want in (
        "OKS mAP 0.860",
        "0 ID switches",
        "IDF1 0.970",
        "p90 n/a",
        "800 steps",
    ):
        assert want in text


@pytest.mark.slow
def test_quick_demo_end_to_end_then_resumes(sample_small, tmp_path):
    """``--quick`` runs every step for real (tiny model) and writes summary.json."""
    import imageio.v3 as iio

    assert (len(train_frames(60)), 60, 192) == (5, *QUICK_SAMPLE)
    out = tmp_path / "demo"
    sample = ("--sample-dir", str(sample_small.folder))
    done = _demo("--quick", "--out", str(out), *sample)
    assert "== napari-sleap demo ==" in done.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert [s["name"] for s in summary["steps"]] == [s.name for s in STEPS]
    res = summary["results"]
    assert res["sample"]["frames"] == 60 and res["sample"]["train_frames"] == 5
    for role in ("centroid", "centered_instance"):
        model = res["train"]["models"][role]
        assert model["steps"] == 100 and np.isfinite(model["loss"])
        assert (Path(model["folder"]) / "best.keras").exists()
    assert res["predict"]["frames"] == [45, 59] and res["predict"]["n_frames"] == 15
    assert res["track"]["tracker"] == "flow" and len(res["track"]["tracks"]) <= 2
    ev = res["evaluate"]
    assert ev["frames"] == [45, 59] and ev["gt_tracks"] == 2
    for key in ("oks_map", "idf1", "mota", "id_switches", "error_px", "detection"):
        assert key in ev
    full = json.loads((out / "evaluation.json").read_text())
    assert full["poses"]["counts"]["gt_instances"] == 30  # 15 frames x 2 animals
    # The pictures: tracks.png drawn from the video, screenshots from a viewer.
    picture = iio.imread(res["render"]["picture"])
    assert picture.shape[2] == 3 and picture.mean() > 20
    view = res["view"]
    assert view["labels"] == str(out / "tracked.slp")
    whole, zoom = (iio.imread(shot) for shot in view["screenshots"])
    assert (whole[..., :3] > 10).mean() > 0.3  # the frame is drawn, not black
    assert zoom.shape[:2] == (768, 768)
    assert Path(ev["plot"]).exists()

    # Rerun: every model step finds its outputs and is skipped, figures kept.
    _demo("--quick", "--out", str(out), *sample, "--steps", ",".join(MODEL_STEPS))
    again = json.loads((out / "summary.json").read_text())
    assert [s["skipped"] for s in again["steps"]] == [True] * len(MODEL_STEPS)
    assert again["results"]["evaluate"] == ev


def test_failed_step_keeps_what_ran(tmp_path):
    """A failing step stops the demo, and summary.json says which one and why."""

    def ok(ctx: DemoContext) -> str:
        ctx.results["ok"] = {"value": 1}
        return "fine"

    def broken(ctx: DemoContext) -> str:
        raise ValueError("sample.mp4: the video cannot be read")

    ctx = DemoContext(out=tmp_path / "out", sample_dir=tmp_path)
    with pytest.raises(ValueError, match="cannot be read"):
        run_demo(ctx, [Step("ok", ok), Step("broken", broken)])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [s["name"] for s in summary["steps"]] == ["ok"]
    assert summary["results"]["ok"] == {"value": 1}
    assert summary["failed"]["step"] == "broken"
    assert "cannot be read" in summary["failed"]["error"]
