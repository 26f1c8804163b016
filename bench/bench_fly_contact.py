"""Inference-only candidates on the fly clip's contact frames (issue 15).

``.venv/bin/python bench/bench_fly_contact.py out/fly_topdown`` loads a trained
top-down pipeline (``<dir>/centroid`` and ``<dir>/centered_instance``, trained
with ``bench/fly_contact_split.yaml``: frames < 1200 only), predicts frames
1150..1249 of ``clip.mp4`` once per test-time augmentation mode, applies the
post-processing candidates (left/right consistency, temporal pass) and scores
them against the proofread ``clip_0-1249.slp`` on two validation sets:

- ``val``: every labeled frame in 1150..1249 that is not a frame of
  ``clip_train.slp`` (80 frames; the 40 before 1200 sit next to training
  frames);
- ``later``: those from 1200 on (40 frames; after every training frame, the
  time split).

Each is reported by contact (closest nodes of the two flies < 20 px) vs apart,
per node and per 25-frame bin (``napari_sleap.evaluate.breakdown``). Frames
1250..1499 are never read. Writes ``bench/results/fly_contact<tag>.json`` and
``<out>/poses_<mode>_<post>.npz`` (for ``bench/render_fly_contact.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
FIRST, STOP = 1150, 1250  # predicted frames (never beyond 1249)
LATER_FROM = 1200
TRAIN_BEFORE = 1200  # the split of bench/fly_contact_split.yaml


def user_points(labels, frames) -> dict[int, np.ndarray]:
    """``frame -> (n, nodes, 2)`` user poses of the wanted frames."""
    out = {}
    for lf in labels:
        if lf.frame_idx in frames and lf.user_instances:
            out[int(lf.frame_idx)] = np.stack(
                [i.numpy(invisible_as_nan=True) for i in lf.user_instances]
            ).astype(np.float64)
    return out


def models_trained(model_dir: Path) -> dict:
    """Epochs/steps each model of the pipeline reached (from its log)."""
    import yaml

    out = {}
    for role in ("centroid", "centered_instance"):
        d = model_dir / role
        log = d / "training_log.csv"
        cfg = yaml.safe_load((d / "config.yaml").read_text())
        epochs = max(0, len(log.read_text().splitlines()) - 1) if log.exists() else 0
        out[role] = {
            "epochs": epochs,
            "steps": epochs * cfg["optim"]["steps_per_epoch"],
            "crop_size": cfg["data"]["crop_size"],
        }
        phase1 = d / "self_train" / "phase1" / "training_log.csv"
        if phase1.exists():  # self-trained: phase 1 + phase 2 (this folder)
            e1 = max(0, len(phase1.read_text().splitlines()) - 1)
            out[role]["phase1_steps"] = e1 * cfg["optim"]["steps_per_epoch"]
            out[role]["steps"] += out[role]["phase1_steps"]
            pseudo = d / "self_train" / "pseudo_labels.slp"
            if pseudo.exists():
                import sleap_io as sio

                out[role]["pseudo_frames"] = len(sio.load_slp(str(pseudo)))
    return out


def predict_frames(
    model_dir: Path, images: np.ndarray, mode: str, peak_threshold: float = 0.2
) -> dict:
    """Poses of frames FIRST.. with one TTA mode, timed after a warm-up."""
    from napari_sleap.infer.predictor import Predictor, PredictorOptions

    dirs = [model_dir / "centroid", model_dir / "centered_instance"]
    opts = PredictorOptions(
        batch_size=1, max_instances=2, tta=mode, peak_threshold=peak_threshold
    )
    pred = Predictor.from_model_dirs(dirs, opts)
    pred.warmup(*images.shape[1:])
    for _ in range(3):  # trace the crop batch shapes too
        pred.predict_frame(images[0])

    class Frames:
        def __getitem__(self, i: int) -> np.ndarray:
            return images[i - FIRST]

    t0, c0 = time.monotonic(), time.process_time()
    poses = {}
    for inds, batch in pred.run(Frames(), list(range(FIRST, FIRST + len(images)))):
        for i, p in zip(inds, batch, strict=True):
            poses[i] = (p.points.astype(np.float64), p.instance_scores.astype(float))
    return {
        "poses": poses,
        "wall_s": time.monotonic() - t0,
        "cpu_s": time.process_time() - c0,
        "node_names": list(pred.info.node_names),
    }


def post_process(poses: dict, post: str, sides_conv) -> tuple[dict, int]:
    """Apply ``sides``, ``temporal`` or both to every frame's poses."""
    from napari_sleap.infer.sides import fix_sides
    from napari_sleap.infer.temporal import fix_jumps, link_tracks

    out = {f: (p.copy(), s) for f, (p, s) in poses.items()}
    changed = 0
    if "temporal" in post:
        frames = sorted(out)
        tracks, assign = link_tracks([out[f][0] for f in frames], n_tracks=2)
        fixed, n = fix_jumps(tracks)
        changed += n
        for t, f in enumerate(frames):
            for k, track in enumerate(assign[t]):
                if track >= 0:
                    out[f][0][k] = fixed[t, track]
    if "sides" in post:
        for f, (p, s) in out.items():
            fixed, n = fix_sides(p, sides_conv)
            out[f] = (fixed, s)
            changed += n
    return out, changed


def frame_pairs(gt: dict, poses: dict, frames: list[int]):
    """``FramePair`` list of the given frames."""
    from napari_sleap.evaluate.matching import FramePair

    pairs = []
    for f in frames:
        pts, scores = poses.get(f, (np.zeros((0,) + gt[f].shape[1:]), np.zeros(0)))
        pairs.append(
            FramePair(video=0, frame_idx=f, gt=gt[f], pr=pts, pr_scores=scores)
        )
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "models", type=Path, help="folder with centroid/ and centered_instance/"
    )
    parser.add_argument("--modes", default="none,flip,rot180,rot90,flip-rot90")
    parser.add_argument("--posts", default="none,sides,temporal,sides+temporal")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "fly_contact")
    parser.add_argument("--tag", default="")
    parser.add_argument("--peak-threshold", type=float, default=0.2)
    args = parser.parse_args()

    import sleap_io as sio

    from napari_sleap.evaluate.breakdown import breakdown, format_breakdown
    from napari_sleap.infer.sides import fit_sides
    from napari_sleap.io.video import open_video
    from napari_sleap.nn.data.skeleton import propose_symmetries

    args.out.mkdir(parents=True, exist_ok=True)
    gt_labels = sio.load_slp(str(DATA / "clip_0-1249.slp"))
    train_labels = sio.load_slp(str(DATA / "clip_train.slp"))
    names = list(gt_labels.skeletons[0].node_names)
    train_frames = {int(lf.frame_idx) for lf in train_labels}
    gt = user_points(gt_labels, set(range(FIRST, STOP)))
    val = sorted(f for f in gt if f not in train_frames)
    later = [f for f in val if f >= LATER_FROM]
    train_pts = np.concatenate(
        list(user_points(train_labels, set(range(TRAIN_BEFORE))).values())
    )
    pairs_lr = propose_symmetries(names)
    conv = fit_sides(train_pts, pairs_lr, names.index("head"), names.index("abdomen"))

    video = open_video(DATA / "clip.mp4")
    images = np.stack([np.asarray(video[i]) for i in range(FIRST, STOP)])
    if images.ndim == 3:
        images = images[..., None]
    load0 = os.getloadavg()
    result: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "peak_threshold": args.peak_threshold,
        "command": " ".join(["bench/bench_fly_contact.py"] + sys.argv[1:]),
        "models": models_trained(args.models),
        "validation": {"val": val, "later": later},
        "sides_rule": {
            "pairs": [[names[a], names[b]] for a, b in pairs_lr],
            "agreement_on_training_labels": conv.agreement.round(3).tolist(),
        },
        "runs": {},
    }
    for mode in args.modes.split(","):
        print(f"predicting {FIRST}..{STOP - 1} with tta={mode}", flush=True)
        run = predict_frames(args.models, images, mode, args.peak_threshold)
        assert run["node_names"] == names, "model and labels have other nodes"
        for post in args.posts.split(","):
            poses, changed = post_process(run["poses"], post, conv)
            key = f"tta={mode} post={post}"
            entry = {
                "predict_wall_s": round(run["wall_s"], 1),
                "predict_cpu_s": round(run["cpu_s"], 1),
                "post_changed_nodes": changed,
            }
            for split, frames in (("val", val), ("later", later)):
                rep = breakdown(frame_pairs(gt, poses, frames), names)
                entry[split] = rep
                if post == "none" or split == "val":
                    print(format_breakdown(rep, title=f"{key} on {split}"), flush=True)
            result["runs"][key] = entry
            np.savez_compressed(
                args.out / f"poses_{mode}_{post.replace('+', '-')}.npz",
                frames=np.array(sorted(poses)),
                points=np.array([poses[f][0] for f in sorted(poses)], dtype=object),
            )
    result["load_before"] = load0
    result["load_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"fly_contact{args.tag}.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    print(summary_table(result))
    print(f"wrote {path}")
    return 0


def summary_table(result: dict) -> str:
    """One line per candidate: contact and apart figures of both splits."""

    def f(v, spec=".3f"):
        return "-" if v is None else format(v, spec)

    base = next(iter(result["runs"].values()))["predict_cpu_s"]
    lines = [
        "candidate | val mAP | contact mAP / p90 / PCK@5 | apart mAP / p90 | "
        "later mAP / p90 | L/R swaps val | missing val | CPU x"
    ]
    for key, e in result["runs"].items():
        v, lt = e["val"], e["later"]
        c = v["contact"]
        lines.append(
            f"{key} | {f(v['all']['oks_map'])} | {f(v['contact']['oks_map'])} / "
            f"{f(c['error_p90'], '.1f')} / {f(c['pck'], '.2f')} | "
            f"{f(v['apart']['oks_map'])} / {f(v['apart']['error_p90'], '.1f')} | "
            f"{f(lt['all']['oks_map'])} / {f(lt['all']['error_p90'], '.1f')} | "
            f"{v['all']['lr_swaps'][0]}/{v['all']['lr_swaps'][1]} | "
            f"{v['all']['missing_nodes'][0]}/{v['all']['missing_nodes'][1]} | "
            f"{e['predict_cpu_s'] / base:.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
