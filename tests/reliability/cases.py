"""Bad-input cases for every CLI command, and how an outcome is judged.

Each case builds its inputs in a folder of its own, runs one command in a fresh
process and is judged on what a careless or hostile user would suffer:

* ``data lost``: a file that existed before (and is not the command's declared
  output) changed or vanished;
* ``code ran``: a hostile file made the program create a marker file;
* ``partial left``: a temporary file stayed behind;
* ``wrong result``: exit 0 although the input was bad, or a result that is wrong;
* ``unclear``: a non-zero exit with a traceback, or a message that does not name
  the file, the field or the fix;
* ``clear`` (bad input refused well) or ``ok`` (good input, right result).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from tests.reliability.world import (
    World,
    as_predictions,
    cli,
    edit_points,
    ensure_model,
)

PARTIAL_MARKERS = ("napari-sleap-partial", ".tmp", ".partial")
GOOD = ("clear", "ok")


@dataclass
class Spec:
    """What one case runs and expects."""

    argv: list[str]
    expect: str = "error"  # "ok", or "either" (a clear error or success)
    must: list[str] = field(default_factory=list)  # in stderr (errors) / stdout+err
    outputs: list[str] = field(default_factory=list)  # may change or appear
    check: Callable[[Path, object], str | None] | None = None
    limit_bytes: int | None = None


@dataclass
class Case:
    """A named bad (or tricky) input for a command."""

    name: str
    group: str
    build: Callable[[World, Path], Spec]
    needs_model: bool = False
    skip_as_root: bool = False


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mode of every file under ``folder`` (relative paths)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(folder))] = (
                hashlib.sha256(p.read_bytes()).hexdigest(),
                stat.S_IMODE(p.stat().st_mode),
            )
    return out


def judge(spec: Spec, folder: Path, proc, before: dict, after: dict) -> tuple[str, str]:
    """Outcome and a one-line reason (see the module docstring)."""
    allowed = set(spec.outputs)
    lost = [
        k
        for k, v in before.items()
        if k not in allowed
        and not any(k.startswith(o.rstrip("/") + "/") for o in allowed)
        and after.get(k, (None,))[0] != v[0]
    ]
    if lost:
        return "data lost", f"changed or removed: {', '.join(lost[:3])}"
    if (folder / "PWNED").exists():
        return "code ran", "a hostile input created PWNED"
    new = [k for k in after if k not in before]
    partial = [k for k in new if any(m in Path(k).name for m in PARTIAL_MARKERS)]
    partial += [k for k in before if k in after and "napari-sleap-partial" in k]
    if partial:
        return "partial left", f"left behind: {', '.join(partial[:3])}"
    text = proc.stderr + proc.stdout
    if spec.expect == "either" and proc.returncode == 0:
        return "ok", "handled (exit 0)"
    if spec.expect in ("error", "either"):
        if proc.returncode == 0:
            return "wrong result", "exit 0 on bad input"
        problem = spec.check(folder, proc) if spec.check else None
        if problem:
            return "wrong result", problem
        if "Traceback" in proc.stderr:
            last = proc.stderr.strip().splitlines()[-1][:160]
            return "unclear", f"traceback: {last}"
        missing = [m for m in spec.must if m.lower() not in proc.stderr.lower()]
        if missing:
            return "unclear", f"message lacks {missing}: {proc.stderr.strip()[-200:]}"
        return "clear", proc.stderr.strip().splitlines()[-1][:160]
    if proc.returncode != 0:
        return "unclear", f"failed on good input: {proc.stderr.strip()[-200:]}"
    problem = spec.check(folder, proc) if spec.check else None
    if problem is None:
        problem = next(
            (f"output lacks {m!r}" for m in spec.must if m.lower() not in text.lower()),
            None,
        )
    return ("wrong result", problem) if problem else ("ok", "as intended")


def run_case(
    case: Case, world: World, folder: Path, src: Path | None = None
) -> tuple[str, str]:
    """Build, run and judge one case in ``folder`` (created empty)."""
    if case.skip_as_root and os.geteuid() == 0:
        return "skipped", "needs a non-root user (root writes read-only folders)"
    if case.needs_model:
        ensure_model(world)
    folder.mkdir(parents=True)
    spec = case.build(world, folder)
    before = snapshot(folder)
    try:
        proc = cli(
            spec.argv, cwd=folder, src=src, limit_bytes=spec.limit_bytes, timeout=180
        )
    except subprocess.TimeoutExpired:
        return "wrong result", "accepted the input and ran past 180 s"
    after = snapshot(folder)
    return judge(spec, folder, proc, before, after)


# ----------------------------------------------------------------------------
# Helpers the cases share


def _sample(world: World, d: Path, *names: str) -> Path:
    return world.copy_sample(d, names)


def _preds(world: World, d: Path) -> Path:
    _sample(world, d, "sample.mp4", "sample_gt.slp")
    return as_predictions(d / "sample_gt.slp", d / "preds.slp")


def _model_copy(world: World, d: Path) -> Path:
    dst = d / "model"
    shutil.copytree(world.model, dst)
    return dst


def _slp_frames(path: Path) -> int:
    import sleap_io as sio

    return len(sio.load_slp(str(path), open_videos=False))


def _json_out(proc) -> dict:
    text = proc.stdout
    return json.loads(text[text.index("{") :])


# ----------------------------------------------------------------------------
# Data destroyed: outputs that are inputs, videos or user labels


def export_csv_over_input(world, d):
    _sample(world, d, "sample_gt.slp")
    return Spec(
        ["export", "sample_gt.slp", "--format", "csv", "-o", "sample_gt.slp"],
        must=["sample_gt.slp", "input", "Fix"],
    )


def export_h5_over_input(world, d):
    _sample(world, d, "sample_gt.slp")
    return Spec(
        ["export", "sample_gt.slp", "--format", "analysis-h5", "-o", "sample_gt.slp"],
        must=["sample_gt.slp", "Fix"],
    )


def export_csv_over_video(world, d):
    _sample(world, d, "sample_gt.slp", "sample.mp4")
    return Spec(
        ["export", "sample_gt.slp", "--format", "csv", "-o", "sample.mp4"],
        must=["sample.mp4", "Fix"],
    )


def export_csv_over_other_labels(world, d):
    _sample(world, d, "sample_gt.slp", "sample_train.slp")
    return Spec(
        ["export", "sample_gt.slp", "--format", "csv", "-o", "sample_train.slp"],
        must=["sample_train.slp", "--overwrite"],
    )


def export_overwrite_flag_replaces(world, d):
    _sample(world, d, "sample_gt.slp", "sample_train.slp")
    argv = ["export", "sample_gt.slp", "--format", "csv", "-o", "sample_train.slp"]
    return Spec(
        [*argv, "--overwrite"],
        expect="ok",
        outputs=["sample_train.slp"],
        check=lambda f, p: (
            None
            if (f / "sample_train.slp").read_text().startswith("video,")
            else "not replaced by the CSV"
        ),
    )


def export_to_folder(world, d):
    _sample(world, d, "sample_gt.slp")
    (d / "out").mkdir()
    return Spec(
        ["export", "sample_gt.slp", "--format", "csv", "-o", "out"],
        must=["out", "folder", "Fix"],
    )


def export_missing_folder(world, d):
    _sample(world, d, "sample_gt.slp")
    return Spec(
        ["export", "sample_gt.slp", "--format", "csv", "-o", "nope/out.csv"],
        must=["nope", "Fix"],
    )


def export_read_only_folder(world, d):
    _sample(world, d, "sample_gt.slp")
    ro = d / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    return Spec(
        ["export", "sample_gt.slp", "--format", "csv", "-o", "ro/out.csv"],
        must=["ro", "writable"],
    )


def predict_over_ground_truth(world, d):
    _sample(world, d, "sample.mp4", "sample_gt.slp")
    model = _model_copy(world, d)
    return Spec(
        [
            "predict",
            str(model),
            "sample_gt.slp",
            "-o",
            "sample_gt.slp",
            "--only-labeled-frames",
            "--frames",
            "0-2",
        ],
        must=["sample_gt.slp", "input", "Fix"],
    )


def predict_over_user_labels(world, d):
    _sample(world, d, "sample.mp4", "sample_train.slp")
    model = _model_copy(world, d)
    argv = ["predict", str(model), "sample.mp4", "-o", "sample_train.slp"]
    return Spec([*argv, "--frames", "0-2"], must=["sample_train.slp", "--overwrite"])


def predict_to_mp4(world, d):
    _sample(world, d, "sample.mp4")
    model = _model_copy(world, d)
    return Spec(
        ["predict", str(model), "sample.mp4", "-o", "X.mp4", "--frames", "0-2"],
        must=["X.mp4", ".slp"],
        check=lambda f, p: "made a folder X.mp4" if (f / "X.mp4").exists() else None,
    )


def predict_good(world, d):
    _sample(world, d, "sample.mp4")
    model = _model_copy(world, d)
    return Spec(
        ["predict", str(model), "sample.mp4", "-o", "out.slp", "--frames", "0-2"],
        expect="ok",
        outputs=["out.slp", "out.slp.parts"],
        check=lambda f, p: (
            None
            if _slp_frames(f / "out.slp") <= 3
            and _video_of(f / "out.slp").endswith("sample.mp4")
            else "wrong frames or video"
        ),
    )


def track_over_input(world, d):
    _preds(world, d)
    return Spec(
        ["track", "preds.slp", "--tracker", "simple", "-o", "preds.slp"],
        must=["preds.slp", "input"],
    )


def track_over_user_labels(world, d):
    _preds(world, d)
    _sample(world, d, "sample_train.slp")
    argv = ["track", "preds.slp", "--tracker", "simple", "-o", "sample_train.slp"]
    return Spec(argv, must=["sample_train.slp", "--overwrite"])


def evaluate_plot_over_gt(world, d):
    _preds(world, d)
    return Spec(
        ["evaluate", "sample_gt.slp", "preds.slp", "--plot", "sample_gt.slp"],
        must=["sample_gt.slp"],
    )


def cache_over_video(world, d):
    _sample(world, d, "sample.mp4")
    return Spec(["cache", "sample.mp4", "-o", "sample.mp4"], must=["sample.mp4"])


def cache_over_labels(world, d):
    _sample(world, d, "sample.mp4", "sample_gt.slp")
    return Spec(["cache", "sample.mp4", "-o", "sample_gt.slp"], must=["sample_gt.slp"])


def train_out_is_file(world, d):
    _sample(world, d, "sample.mp4", "sample_train.slp")
    (d / "notes.txt").write_text("my notes\n")
    argv = ["train", "sample_train.slp", "--pipeline", "bottom-up", "-o", "notes.txt"]
    return Spec(argv, must=["notes.txt", "folder"])


def train_out_is_labels(world, d):
    _sample(world, d, "sample.mp4", "sample_train.slp")
    argv = ["train", "sample_train.slp", "--pipeline", "bottom-up"]
    return Spec([*argv, "-o", "sample_train.slp"], must=["sample_train.slp"])


def sample_out_is_file(world, d):
    (d / "notes.txt").write_text("my notes\n")
    return Spec(["sample", "-o", "notes.txt", "--frames", "10"], must=["notes.txt"])


def batch_out_is_file(world, d):
    _sample(world, d, "sample.mp4")
    shutil.copy(d / "sample.mp4", d / "second.mp4")
    (d / "notes.txt").write_text("my notes\n")
    model = _model_copy(world, d)
    argv = ["predict", str(model), "sample.mp4", "second.mp4", "-o", "notes.txt"]
    return Spec([*argv, "--scheduler", "none"], must=["notes.txt"])


# ----------------------------------------------------------------------------
# Silently wrong: videos, numbers and caches


def _video_of(path: Path) -> str:
    import sleap_io as sio

    return str(sio.load_slp(str(path), open_videos=False).videos[0].filename)


def bare_name_beside_labels(world, d):
    """A same-named decoy in the working folder must not win over the real video."""
    proj = _sample(world, d / "project", "sample.mp4", "sample_gt.slp")
    shutil.copy(world.decoy / "sample.mp4", d / "sample.mp4")
    _sample(world, d / "tmp", "sample_gt.slp")
    as_predictions(proj / "sample_gt.slp", proj / "preds.slp")
    argv = ["track", "project/preds.slp", "--tracker", "flow", "--frames", "0-5"]
    return Spec(
        [*argv, "-o", "tracked.slp"],
        expect="ok",
        outputs=["tracked.slp"],
        check=lambda f, p: (
            None
            if Path(_video_of(f / "tracked.slp")).parent.name == "project"
            else f"tracked against {_video_of(f / 'tracked.slp')}"
        ),
    )


def only_decoy_video(world, d):
    """The labeled video is gone; a smaller same-named one sits in the cwd."""
    proj = d / "project"
    proj.mkdir()
    shutil.copy(world.sample / "sample_gt.slp", proj)
    as_predictions(proj / "sample_gt.slp", proj / "preds.slp")
    shutil.copy(world.decoy / "sample.mp4", d / "sample.mp4")
    argv = ["track", "project/preds.slp", "--tracker", "flow", "-o", "tracked.slp"]
    return Spec(argv, must=["sample.mp4", "96x96", "Fix"])


def frame_count_disagrees(world, d):
    """Labels up to frame 59 beside a 30-frame video of the same name."""
    _sample(world, d, "sample_gt.slp")
    shutil.copy(world.short / "sample.mp4", d / "sample.mp4")
    as_predictions(d / "sample_gt.slp", d / "preds.slp")
    argv = ["track", "preds.slp", "--tracker", "flow", "-o", "tracked.slp"]
    return Spec(argv, must=["sample.mp4", "30 frames", "Fix"])


def two_videos_same_name(world, d):
    """Two videos called sample.mp4 in different folders stay two videos."""
    import sleap_io as sio

    a = _sample(world, d / "a", "sample.mp4", "sample_gt.slp")
    b = d / "b"
    b.mkdir()
    shutil.copy(world.short / "sample.mp4", b / "sample.mp4")
    labels = sio.load_slp(str(a / "sample_gt.slp"), open_videos=False)
    va = labels.videos[0]
    va.replace_filename(str(a / "sample.mp4"), open=False)
    vb = sio.Video.from_filename(str(b / "sample.mp4"))
    labels.videos.append(vb)
    for lf in list(labels.labeled_frames):
        if lf.frame_idx < 30:
            labels.append(
                sio.LabeledFrame(
                    video=vb,
                    frame_idx=lf.frame_idx,
                    instances=[
                        sio.PredictedInstance.from_numpy(
                            i.numpy(), skeleton=i.skeleton, score=1.0
                        )
                        for i in lf.instances
                    ],
                )
            )
    labels.save(str(d / "two.slp"))
    argv = ["export", "two.slp", "--format", "analysis-h5", "-o", "two.h5"]

    def check(f: Path, p) -> str | None:
        outs = sorted(f.glob("two.*analysis.h5"))
        if len(outs) != 2:
            return f"expected one analysis file per video, got {outs}"
        with h5py.File(outs[1], "r") as h:
            frames = h["tracks"].shape[-1]
        return None if frames == 30 else f"second video has {frames} frames, not 30"

    return Spec(argv, expect="ok", outputs=[], check=check)


def unicode_spaces_paths(world, d):
    """Paths with spaces and non-ASCII letters work end to end."""
    odd = d / "dä tä" / "名 前 é"
    _sample(world, odd, "sample.mp4", "sample_gt.slp")
    rel = "dä tä/名 前 é/"
    argv = ["export", rel + "sample_gt.slp", "--format", "csv", "-o", rel + "ö ut.csv"]
    return Spec(
        argv,
        expect="ok",
        check=lambda f, p: (
            None
            if len((odd / "ö ut.csv").read_text(encoding="utf-8").splitlines()) > 100
            else "CSV too short"
        ),
    )


def nan_loss(world, d):
    """A learning rate of 1e8 diverges: a clear error, nothing marked trained."""
    _sample(world, d, "sample.mp4", "sample_train.slp")
    import yaml

    cfg = d / "hot.yaml"
    data = yaml.safe_load(world.tiny_yaml.read_text())
    data["optim"]["learning_rate"] = 1.0e8
    data["optim"]["steps_per_epoch"] = 4
    cfg.write_text(yaml.safe_dump(data))

    def check_state(f: Path, p) -> str | None:
        for state in f.glob("m/*/resume/state.json"):
            if json.loads(state.read_text()).get("status") == "done":
                return f"{state} says done"
        return None

    argv = ["train", "sample_train.slp", "--pipeline", "bottom-up", "-o", "m"]
    spec = Spec(
        [*argv, "--config", "hot.yaml", "--quiet"],
        must=["diverged", "learning_rate"],
        outputs=["m/"],
    )
    spec.check = check_state
    return spec


def _tiny_with(world: World, learning_rate: str) -> str:
    """The tiny training YAML with ``optim.learning_rate`` set to a YAML literal."""
    text = world.tiny_yaml.read_text()
    return text.replace("optim:\n", f"optim:\n  learning_rate: {learning_rate}\n", 1)


def learning_rate_nan(world, d):
    _sample(world, d, "sample.mp4", "sample_train.slp")
    (d / "nan.yaml").write_text(_tiny_with(world, ".nan"))
    argv = ["train", "sample_train.slp", "--pipeline", "bottom-up", "-o", "m"]
    return Spec(
        [*argv, "--config", "nan.yaml"], must=["nan.yaml", "learning_rate", "finite"]
    )


def learning_rate_inf(world, d):
    _sample(world, d, "sample.mp4", "sample_train.slp")
    (d / "inf.yaml").write_text(_tiny_with(world, ".inf"))
    argv = ["train", "sample_train.slp", "--pipeline", "bottom-up", "-o", "m"]
    return Spec([*argv, "--config", "inf.yaml"], must=["inf.yaml", "learning_rate"])


def max_minutes_nan(world, d):
    _sample(world, d, "sample.mp4", "sample_train.slp")
    argv = ["train", "sample_train.slp", "--pipeline", "bottom-up", "-o", "m"]
    shutil.copy(world.tiny_yaml, d / "tiny.yaml")
    argv = [*argv, "--config", "tiny.yaml", "--max-minutes", "nan"]
    return Spec(argv, must=["--max-minutes"], outputs=["m/"])


def damaged_cache(world, d):
    """A cache chunk removed: frames come from the video and the cache is named."""
    from napari_sleap.io.video_cache_writer import cache_video

    _sample(world, d, "sample.mp4")
    store = cache_video(d / "sample.mp4")
    shutil.rmtree(store / "c" / "1")
    model = _model_copy(world, d)
    argv = ["predict", str(model), "sample.mp4", "-o", "out.slp", "--frames", "0-2"]
    return Spec(
        argv,
        expect="ok",
        must=["sample.zarr"],
        outputs=["out.slp", "out.slp.parts"],
    )


def evaluate_inf_ground_truth(world, d):
    """Infinite GT points are ignored, not scored as misses of every instance."""
    _sample(world, d, "sample_gt.slp")
    as_predictions(d / "sample_gt.slp", d / "preds.slp")

    def poison(pts, frame, k):
        pts[0] = np.inf

    edit_points(d / "sample_gt.slp", d / "sample_gt.slp", poison)
    return Spec(
        ["evaluate", "sample_gt.slp", "preds.slp", "--json"],
        expect="ok",
        check=lambda f, p: (
            None
            if _json_out(p)["oks"]["mAP"] > 0.9
            else f"mAP {_json_out(p)['oks']['mAP']}"
        ),
    )


def evaluate_tracks_inf_ground_truth(world, d):
    _sample(world, d, "sample_gt.slp")
    as_predictions(d / "sample_gt.slp", d / "preds.slp")

    def poison(pts, frame, k):
        pts[k + 1] = (np.inf, -np.inf)

    edit_points(d / "sample_gt.slp", d / "sample_gt.slp", poison)
    return Spec(
        ["evaluate-tracks", "sample_gt.slp", "preds.slp", "--json"],
        expect="ok",
        check=lambda f, p: (
            None if _json_out(p)["mota"] > 0.9 else f"MOTA {_json_out(p)['mota']}"
        ),
    )


def predict_peak_nan(world, d):
    _sample(world, d, "sample.mp4")
    model = _model_copy(world, d)
    argv = ["predict", str(model), "sample.mp4", "-o", "out.slp", "--frames", "0-2"]
    return Spec([*argv, "--peak-threshold", "nan"], must=["--peak-threshold"])


def predict_max_instances_zero(world, d):
    _sample(world, d, "sample.mp4")
    model = _model_copy(world, d)
    argv = ["predict", str(model), "sample.mp4", "-o", "out.slp", "--frames", "0-2"]
    return Spec([*argv, "--max-instances", "0"], must=["--max-instances"])


def predict_max_instances_negative(world, d):
    _sample(world, d, "sample.mp4")
    model = _model_copy(world, d)
    argv = ["predict", str(model), "sample.mp4", "-o", "out.slp", "--frames", "0-2"]
    return Spec([*argv, "--max-instances", "-1"], must=["--max-instances"])


def predict_frames_beyond(world, d):
    _sample(world, d, "sample.mp4")
    model = _model_copy(world, d)
    argv = ["predict", str(model), "sample.mp4", "-o", "out.slp"]
    return Spec([*argv, "--frames", "99999"], must=["--frames"])


def track_min_score_too_high(world, d):
    _preds(world, d)
    argv = ["track", "preds.slp", "--tracker", "simple", "-o", "t.slp"]
    return Spec([*argv, "--min-score", "5"], must=["--min-score"])


def track_frames_beyond(world, d):
    _preds(world, d)
    argv = ["track", "preds.slp", "--tracker", "simple", "-o", "t.slp"]
    return Spec([*argv, "--frames", "99999-99999"], must=["--frames"])


# ----------------------------------------------------------------------------
# Clear errors: bad labels, configs and model files


def _train_argv(labels: str) -> list[str]:
    return ["train", labels, "--pipeline", "bottom-up", "-o", "m", "--quiet"]


def coords_far_out(world, d):
    _sample(world, d, "sample.mp4", "sample_train.slp")

    def far(pts, frame, k):
        if frame == 0 and k == 1:
            pts[2] = (-1e6, 5.0)

    edit_points(d / "sample_train.slp", d / "far.slp", far)
    return Spec(_train_argv("far.slp"), must=["far.slp", "frame 0", "instance 1"])


def coords_huge(world, d):
    _sample(world, d, "sample.mp4", "sample_train.slp")

    def huge(pts, frame, k):
        pts[0] = (1e300, 1e300)

    edit_points(d / "sample_train.slp", d / "huge.slp", huge)
    return Spec(_train_argv("huge.slp"), must=["huge.slp", "node", "Fix"])


def coords_all_nan(world, d):
    _sample(world, d, "sample.mp4", "sample_train.slp")

    def gone(pts, frame, k):
        pts[:] = np.nan

    edit_points(d / "sample_train.slp", d / "nan.slp", gone)
    return Spec(_train_argv("nan.slp"), must=["nan.slp"])


def skeleton_edge_missing_node(world, d):
    _sample(world, d, "sample_gt.slp")
    with h5py.File(d / "sample_gt.slp", "a") as f:
        meta = json.loads(f["metadata"].attrs["json"])
        meta["skeletons"][0]["links"][0]["target"] = 99
        f["metadata"].attrs["json"] = json.dumps(meta)
    argv = ["export", "sample_gt.slp", "--format", "csv", "-o", "out.csv"]
    return Spec(argv, must=["sample_gt.slp", "edge 0", "99", "Fix"])


def _tamper_info(world, d, change) -> Path:
    model = _model_copy(world, d)
    info = json.loads((model / "model_info.json").read_text())
    change(info)
    (model / "model_info.json").write_text(json.dumps(info))
    _sample(world, d, "sample.mp4")
    return model


def model_info_bad_field(world, d):
    model = _tamper_info(world, d, lambda i: i.update(input_scale="abc"))
    argv = ["predict", str(model), "sample.mp4", "-o", "out.slp", "--frames", "0-1"]
    return Spec(argv, must=["model_info.json", "input_scale"])


def model_info_escapes_folder(world, d):
    secret = d / "secret.keras"
    secret.write_text("not yours")
    model = _tamper_info(
        world, d, lambda i: i.update(keras_file="../../../../../../etc/passwd")
    )
    argv = ["predict", str(model), "sample.mp4", "-o", "out.slp", "--frames", "0-1"]
    return Spec(argv, must=["model_info.json", "keras_file"])


def best_keras_is_text(world, d):
    model = _model_copy(world, d)
    (model / "best.keras").write_text("this is not a model\n")
    _sample(world, d, "sample.mp4")
    argv = ["predict", str(model), "sample.mp4", "-o", "out.slp", "--frames", "0-1"]
    return Spec(argv, must=["best.keras", "Fix"])


def sleap1_config_bad_field(world, d):
    src = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    models = sorted((src / "sleap1_models").glob("*single_instance*"))
    if not models:
        raise FileNotFoundError("../shared/data/sleap1_models missing")
    model = d / "sleap1"
    shutil.copytree(models[0], model)
    cfg = json.loads((model / "training_config.json").read_text())
    head = cfg["model"]["heads"]["single_instance"]
    head["output_stride"] = "abc"
    (model / "training_config.json").write_text(json.dumps(cfg))
    _sample(world, d, "sample.mp4")
    argv = ["predict", str(model), "sample.mp4", "-o", "out.slp", "--frames", "0-1"]
    return Spec(argv, must=["training_config.json", "output_stride"])


def zarr_to_predict(world, d):
    from napari_sleap.io.video_cache_writer import cache_video

    _sample(world, d, "sample.mp4")
    cache_video(d / "sample.mp4", d / "frames.zarr")
    model = _model_copy(world, d)
    argv = ["predict", str(model), "frames.zarr", "-o", "out.slp", "--frames", "0-1"]
    return Spec(argv, must=["frames.zarr", "Fix"])


def cache_damaged_video(world, d):
    """A video whose middle is garbage: the error names the file and the fix."""
    _sample(world, d, "sample.mp4")
    data = bytearray((d / "sample.mp4").read_bytes())
    mid = len(data) // 2
    data[mid : mid + 4000] = np.random.default_rng(0).bytes(4000)
    (d / "broken.mp4").write_bytes(bytes(data))
    return Spec(["cache", "broken.mp4"], expect="either", must=["broken.mp4", "Fix"])


def missing_video_fix_names_flag(world, d):
    proj = d / "project"
    proj.mkdir()
    shutil.copy(world.sample / "sample_gt.slp", proj)
    as_predictions(proj / "sample_gt.slp", proj / "preds.slp")
    argv = ["track", "project/preds.slp", "--tracker", "flow", "-o", "t.slp"]
    return Spec(argv, must=["sample.mp4", "--video-search"])


def video_search_flag_finds(world, d):
    proj = d / "project"
    proj.mkdir()
    shutil.copy(world.sample / "sample_gt.slp", proj)
    as_predictions(proj / "sample_gt.slp", proj / "preds.slp")
    _sample(world, d / "videos", "sample.mp4")
    argv = ["track", "project/preds.slp", "--tracker", "flow", "-o", "t.slp"]
    return Spec(
        [*argv, "--frames", "0-5", "--video-search", "videos"],
        expect="ok",
        outputs=["t.slp"],
    )


def hostile_yaml_tag(world, d):
    _sample(world, d, "sample.mp4", "sample_train.slp")
    (d / "evil.yaml").write_text(
        "optim: !!python/object/apply:os.system ['touch PWNED']\n"
    )
    argv = ["train", "sample_train.slp", "--pipeline", "bottom-up", "-o", "m"]
    return Spec([*argv, "--config", "evil.yaml"], must=["evil.yaml"])


# ----------------------------------------------------------------------------
# Writes: full disk, stale partial files, permissions


def full_disk_keeps_old_output(world, d):
    """A write that runs out of space leaves the previous output and no partial."""
    _sample(world, d, "sample_gt.slp")
    (d / "out.csv").write_text("video,frame_idx\nprevious export\n")
    argv = ["export", "sample_gt.slp", "--format", "csv", "-o", "out.csv"]
    return Spec(argv, must=["out.csv"], limit_bytes=20_000)


def stale_partials_cleaned(world, d):
    """Partial files of a killed earlier export go on the next write."""
    import subprocess
    import sys

    _sample(world, d, "sample_gt.slp")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    stale = d / f".out.csv.napari-sleap-partial-{dead}-0123abcd.csv"
    stale.write_text("half an export")
    legacy = d / ".out.csv.k3j4h5g6.tmp.csv"
    legacy.write_text("half an export from an older version")
    old = 1_600_000_000
    os.utime(legacy, (old, old))
    argv = ["export", "sample_gt.slp", "--format", "csv", "-o", "out.csv"]
    return Spec(
        argv,
        expect="ok",
        outputs=[stale.name, legacy.name, "out.csv"],
        check=lambda f, p: (
            None
            if not (stale.exists() or legacy.exists())
            else "stale partial files remain"
        ),
    )


def plot_permissions(world, d):
    """A chart is readable by others (umask 022), not owner-only."""
    _preds(world, d)
    argv = ["evaluate", "sample_gt.slp", "preds.slp", "--plot", "chart.png"]
    return Spec(
        argv,
        expect="ok",
        check=lambda f, p: (
            None
            if stat.S_IMODE((f / "chart.png").stat().st_mode) & 0o044
            else oct(stat.S_IMODE((f / "chart.png").stat().st_mode))
        ),
    )


#: (name, group, build, needs the tiny model, skipped as root)
_D, _O, _W, _E, _H, _X = (
    "data destroyed",
    "output checked first",
    "silently wrong",
    "clear errors",
    "hostile input",
    "writes",
)
_TABLE = [
    ("export csv -o IN.slp", _D, export_csv_over_input, False),
    ("export analysis-h5 -o IN.slp", _D, export_h5_over_input, False),
    ("export csv -o VIDEO.mp4", _D, export_csv_over_video, False),
    ("export csv -o OTHER_LABELS.slp", _D, export_csv_over_other_labels, False),
    ("export ... --overwrite replaces", _D, export_overwrite_flag_replaces, False),
    ("predict -o GT.slp (the input)", _D, predict_over_ground_truth, True),
    ("predict -o USER_LABELS.slp", _D, predict_over_user_labels, True),
    ("track -o IN.slp", _D, track_over_input, False),
    ("track -o USER_LABELS.slp", _D, track_over_user_labels, False),
    ("evaluate --plot GT.slp", _D, evaluate_plot_over_gt, False),
    ("cache -o VIDEO.mp4 (the input)", _D, cache_over_video, False),
    ("cache -o LABELS.slp", _D, cache_over_labels, False),
    ("train -o NOTES.txt", _O, train_out_is_file, False),
    ("train -o LABELS.slp", _O, train_out_is_labels, False),
    ("sample -o FILE", _O, sample_out_is_file, False),
    ("export -o FOLDER", _O, export_to_folder, False),
    ("export -o MISSING/out.csv", _O, export_missing_folder, False),
    ("export -o READ_ONLY/out.csv", _O, export_read_only_folder, False, True),
    ("predict -o X.mp4", _O, predict_to_mp4, True),
    ("predict VIDEOS -o FILE (batch)", _O, batch_out_is_file, True),
    ("predict (good input)", _W, predict_good, True),
    ("bare video name: decoy in cwd", _W, bare_name_beside_labels, False),
    ("only a smaller same-named video", _W, only_decoy_video, False),
    ("video shorter than the labels", _W, frame_count_disagrees, False),
    ("two videos named alike", _W, two_videos_same_name, False),
    ("Unicode and spaces in paths", _W, unicode_spaces_paths, False),
    ("train diverges (lr 1e8)", _W, nan_loss, False),
    ("learning_rate: .nan", _W, learning_rate_nan, False),
    ("learning_rate: .inf", _W, learning_rate_inf, False),
    ("--max-minutes nan", _W, max_minutes_nan, False),
    ("damaged zarr cache chunk", _W, damaged_cache, True),
    ("evaluate: inf in GT", _W, evaluate_inf_ground_truth, False),
    ("evaluate-tracks: inf in GT", _W, evaluate_tracks_inf_ground_truth, False),
    ("predict --peak-threshold nan", _W, predict_peak_nan, True),
    ("predict --max-instances 0", _W, predict_max_instances_zero, True),
    ("predict --max-instances -1", _W, predict_max_instances_negative, True),
    ("predict --frames 99999", _W, predict_frames_beyond, True),
    ("track --min-score 5", _W, track_min_score_too_high, False),
    ("track --frames 99999", _W, track_frames_beyond, False),
    ("labels at x=-1e6", _E, coords_far_out, False),
    ("labels at 1e300", _E, coords_huge, False),
    ("labels all NaN", _E, coords_all_nan, False),
    ("skeleton edge to node 99", _E, skeleton_edge_missing_node, False),
    ("model_info.json input_scale 'abc'", _E, model_info_bad_field, True),
    ("model_info.json keras_file ../etc/passwd", _E, model_info_escapes_folder, True),
    ("best.keras is text", _E, best_keras_is_text, True),
    ("training_config.json output_stride 'abc'", _E, sleap1_config_bad_field, True),
    (".zarr given to predict", _E, zarr_to_predict, True),
    ("cache a damaged video", _E, cache_damaged_video, False),
    ("missing video: Fix names the flag", _E, missing_video_fix_names_flag, False),
    ("--video-search finds a moved video", _E, video_search_flag_finds, False),
    ("YAML tag in --config", _H, hostile_yaml_tag, False),
    ("full disk during export", _X, full_disk_keeps_old_output, False),
    ("stale partial files cleaned", _X, stale_partials_cleaned, False),
    ("chart permissions", _X, plot_permissions, False),
]
CASES: list[Case] = [Case(*row) for row in _TABLE]
