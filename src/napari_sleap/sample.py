"""The project's own sample: synthetic video of two articulated animals, exact poses.

Everything is made by code from a seed (numpy/scipy only), so the sample needs no
download, the ground truth is exact to the sub-pixel, and tests, the demo and
napari's sample-data menu all use the same data. Coordinates follow SLEAP and napari:
pixel ``(row, col)`` has its centre at ``(x=col, y=row)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sleap_io as sio
from scipy.ndimage import gaussian_filter, gaussian_filter1d

from napari_sleap.io.atomic import atomic_path, write_text
from napari_sleap.io.labels import save_labels
from napari_sleap.progress import ProgressFn, StopFlag, check_stop, no_progress

#: Node names, in skeleton order.
NODES: tuple[str, ...] = (
    "nose",
    "ear_left",
    "ear_right",
    "neck",
    "forepaw_left",
    "forepaw_right",
    "hindpaw_left",
    "hindpaw_right",
    "tail_base",
    "tail_tip",
)
#: Skeleton edges as (source, destination) names: a tree rooted at the neck.
EDGES: tuple[tuple[str, str], ...] = (
    ("neck", "nose"),
    ("neck", "ear_left"),
    ("neck", "ear_right"),
    ("neck", "forepaw_left"),
    ("neck", "forepaw_right"),
    ("neck", "tail_base"),
    ("tail_base", "hindpaw_left"),
    ("tail_base", "hindpaw_right"),
    ("tail_base", "tail_tip"),
)
#: Left/right symmetric node pairs.
SYMMETRIES: tuple[tuple[str, str], ...] = (
    ("ear_left", "ear_right"),
    ("forepaw_left", "forepaw_right"),
    ("hindpaw_left", "hindpaw_right"),
)
#: Bumped whenever the generator's output changes, so cached samples are remade.
SAMPLE_VERSION = 3
#: Track names; ``animal_a`` is larger and brighter than ``animal_b``.
TRACKS: tuple[str, ...] = ("animal_a", "animal_b")

# Body scale L as a fraction of the frame (nose to tail base is 0.8 L), and body grey.
_LENGTH = (0.17, 0.14)
_BRIGHTNESS = (190.0, 140.0)
_NODE = {name: i for i, name in enumerate(NODES)}


@dataclass(frozen=True)
class SamplePaths:
    """Where :func:`make_sample` wrote its files."""

    video: Path
    gt: Path
    train: Path

    @property
    def folder(self) -> Path:
        """The folder holding the sample."""
        return self.video.parent


def make_skeleton() -> sio.Skeleton:
    """The sample's 10-node skeleton with its edges and left/right symmetries."""
    return sio.Skeleton(
        nodes=list(NODES),
        edges=[list(e) for e in EDGES],
        symmetries=[list(s) for s in SYMMETRIES],
        name="two_animals",
    )


def _frame_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    """(height, width) from an int or a pair; H.264 in yuv420p needs even sides."""
    h, w = (size, size) if isinstance(size, int | np.integer) else size
    h, w = int(h), int(w)
    if h < 64 or w < 64 or h % 2 or w % 2:
        raise ValueError(
            f"sample size {size!r}: height and width must be even and >= 64 "
            "(H.264 in yuv420p needs even sides); pass e.g. size=384"
        )
    return h, w


def _smooth_noise(seed: list[int], n: int, sigma: float) -> np.ndarray:
    """Unit-variance noise smoothed over ``sigma`` frames, for natural wobble.

    Frame ``t`` depends only on draws near ``t``, so a shorter run is exactly the
    start of a longer one.
    """
    pad = int(4 * sigma) + 1
    x = np.random.default_rng(seed).standard_normal(n + 2 * pad)
    x = gaussian_filter1d(x, sigma, mode="nearest")[pad : pad + n]
    # Gaussian-smoothed white noise has variance 1 / (2 sqrt(pi) sigma).
    return x * np.sqrt(2.0 * np.sqrt(np.pi) * sigma)


def _unit(theta: np.ndarray) -> np.ndarray:
    """Unit vectors (..., 2) for angles (image frame: x right, y down)."""
    return np.stack([np.cos(theta), np.sin(theta)], axis=-1)


def simulate_poses(
    n_frames: int = 400, size: int | tuple[int, int] = 384, seed: int = 0
) -> np.ndarray:
    """Poses of both animals over time, shape (frames, 2 animals, 10 nodes, xy).

    The animals circle the arena in opposite directions with changing radii, so
    they turn through every heading and pass over each other; head turns, tail
    swings and a trotting gait move the limbs.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames={n_frames}: need at least one frame")
    h, w = _frame_hw(size)
    scale = float(min(h, w))
    # One frame past the end, so the last frame's velocity is a central difference
    # and a shorter run is exactly the start of a longer one.
    m = n_frames + 1
    t = np.arange(m, dtype=np.float64)
    centre = np.array([w / 2.0, h / 2.0])
    poses = np.zeros((n_frames, 2, len(NODES), 2))
    for a in range(2):
        rng = np.random.default_rng([seed, a, 0])
        length = _LENGTH[a] * scale
        direction = 1.0 if a == 0 else -1.0
        radius0 = 0.25 * scale
        speed = (0.0065 if a == 0 else 0.0055) * scale  # pixels per frame
        wobble = _smooth_noise([seed, a, 1], m, 25.0).clip(-2, 2)
        speed = speed * (1.0 + 0.35 * wobble)
        phi = rng.uniform(0, 2 * np.pi) + direction * np.cumsum(speed) / radius0
        period = rng.uniform(120, 200)
        phase = rng.uniform(0, 2 * np.pi)
        radius = radius0 * (1.0 + 0.15 * np.sin(2 * np.pi * t / period + phase))
        drift = np.stack([_smooth_noise([seed, a, k], m, 15.0) for k in (2, 3)], axis=1)
        path = centre + radius[:, None] * _unit(phi) + 0.015 * scale * drift
        vel = np.gradient(path, axis=0)
        heading = np.unwrap(np.arctan2(vel[:, 1], vel[:, 0]))
        head_turn = 0.35 * _smooth_noise([seed, a, 4], m, 10.0).clip(-2, 2)
        tail_swing = 0.45 * _smooth_noise([seed, a, 5], m, 8.0).clip(-2, 2)
        gait = np.cumsum(np.linalg.norm(vel, axis=1)) / (0.35 * length) * np.pi
        nodes = _body_nodes(path, heading, head_turn, tail_swing, gait, length)
        poses[:, a] = nodes[:n_frames]
    return poses


def _body_nodes(
    centre: np.ndarray,
    heading: np.ndarray,
    head_turn: np.ndarray,
    tail_swing: np.ndarray,
    gait: np.ndarray,
    length: float,
) -> np.ndarray:
    """Node positions (frames, nodes, xy) of one animal from its body state."""
    fwd, left = _unit(heading), _unit(heading - np.pi / 2)
    head_fwd, head_left = (
        _unit(heading + head_turn),
        _unit(heading + head_turn - np.pi / 2),
    )
    L = length
    nodes = np.zeros((len(heading), len(NODES), 2))
    neck = centre + 0.20 * L * fwd
    nodes[:, _NODE["neck"]] = neck
    nodes[:, _NODE["nose"]] = neck + 0.30 * L * head_fwd
    for side, sign in (("left", 1.0), ("right", -1.0)):
        nodes[:, _NODE[f"ear_{side}"]] = (
            neck + 0.07 * L * head_fwd + sign * 0.12 * L * head_left
        )
        step = np.sin(gait + (0.0 if sign > 0 else np.pi))[:, None]
        nodes[:, _NODE[f"forepaw_{side}"]] = (
            centre + (0.10 * L + 0.07 * L * step) * fwd + sign * 0.21 * L * left
        )
        nodes[:, _NODE[f"hindpaw_{side}"]] = (
            centre + (-0.30 * L - 0.07 * L * step) * fwd + sign * 0.20 * L * left
        )
    tail_base = centre - 0.30 * L * fwd
    nodes[:, _NODE["tail_base"]] = tail_base
    mid = tail_base - 0.25 * L * _unit(heading + 0.5 * tail_swing)
    nodes[:, _NODE["tail_tip"]] = mid - 0.25 * L * _unit(heading + tail_swing)
    return nodes


def _tail_mid(pose: np.ndarray) -> np.ndarray:
    """A point on the tail's bend (from the two tail nodes), to draw it curved."""
    base, tip = pose[_NODE["tail_base"]], pose[_NODE["tail_tip"]]
    neck = pose[_NODE["neck"]]
    axis = (base - neck) / (np.linalg.norm(base - neck) + 1e-9)
    half = np.linalg.norm(tip - base) / 2
    # The tail leaves the body along the body axis, then bends towards the tip.
    return 0.5 * (base + half * axis) + 0.5 * (base + tip) / 2


def make_background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A static textured arena floor with a few dark specks that are not animals."""
    bg = (
        70.0
        + 10.0 * np.linspace(-1, 1, w)[None, :]
        + 6.0 * np.linspace(-1, 1, h)[:, None]
    )
    for sigma, amp in ((10.0, 16.0), (2.5, 9.0), (0.8, 4.0)):
        n = gaussian_filter(rng.standard_normal((h, w)), sigma)
        bg += amp * n / (n.std() + 1e-9)
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(max(4, h * w // 9000)):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1.5, 4.0)
        d = np.hypot(xx - cx, yy - cy) - r
        bg -= 30.0 * np.clip(0.5 - d, 0, 1)
    return bg.astype(np.float32)


class _Canvas:
    """A float image that soft-edged shapes are painted on, touching only their box."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image
        self.h, self.w = image.shape

    def _box(self, lo: np.ndarray, hi: np.ndarray):
        x0, y0 = (max(int(np.floor(v)) - 2, 0) for v in lo)
        x1 = min(int(np.ceil(hi[0])) + 3, self.w)
        y1 = min(int(np.ceil(hi[1])) + 3, self.h)
        if x0 >= x1 or y0 >= y1:
            return None
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        return (slice(y0, y1), slice(x0, x1)), xx, yy

    def _paint(self, region, dist: np.ndarray, value: float) -> None:
        # Anti-aliased edge: coverage falls from 1 to 0 across one pixel.
        alpha = np.clip(0.5 - dist, 0.0, 1.0)
        patch = self.image[region]
        patch += alpha * (value - patch)

    def ellipse(self, c: np.ndarray, a: float, b: float, angle: float, value: float):
        """Paint an ellipse with semi-axes ``a`` (along ``angle``) and ``b``."""
        r = max(a, b)
        box = self._box(c - r, c + r)
        if box is None:
            return
        region, xx, yy = box
        ca, sa = np.cos(angle), np.sin(angle)
        u = (xx - c[0]) * ca + (yy - c[1]) * sa
        v = -(xx - c[0]) * sa + (yy - c[1]) * ca
        f = (u / a) ** 2 + (v / b) ** 2 - 1.0
        grad = 2.0 * np.hypot(u / a**2, v / b**2)
        self._paint(region, f / np.maximum(grad, 1e-6), value)

    def capsule(self, p: np.ndarray, q: np.ndarray, radius: float, value: float):
        """Paint a segment from ``p`` to ``q`` with round ends."""
        box = self._box(np.minimum(p, q) - radius, np.maximum(p, q) + radius)
        if box is None:
            return
        region, xx, yy = box
        d = q - p
        s = np.clip(((xx - p[0]) * d[0] + (yy - p[1]) * d[1]) / (d @ d + 1e-9), 0, 1)
        dist = np.hypot(xx - p[0] - s * d[0], yy - p[1] - s * d[1]) - radius
        self._paint(region, dist, value)

    def disc(self, c: np.ndarray, radius: float, value: float):
        """Paint a filled circle."""
        self.capsule(c, c, radius, value)


def _draw_animal(canvas: _Canvas, pose: np.ndarray, length: float, grey: float):
    """Draw one animal's body from its pose so every node sits on a visible part."""
    n = {name: pose[i] for i, name in enumerate(NODES)}
    L = length
    body_axis = n["neck"] - n["tail_base"]
    body_angle = float(np.arctan2(body_axis[1], body_axis[0]))
    centre = n["tail_base"] + 0.6 * body_axis
    for side in ("left", "right"):
        canvas.capsule(
            centre + 0.1 * body_axis, n[f"forepaw_{side}"], 0.025 * L, grey - 25
        )
        canvas.capsule(
            centre - 0.55 * body_axis, n[f"hindpaw_{side}"], 0.03 * L, grey - 25
        )
        canvas.disc(n[f"forepaw_{side}"], 0.04 * L, grey + 20)
        canvas.disc(n[f"hindpaw_{side}"], 0.045 * L, grey + 20)
    mid = _tail_mid(pose)
    canvas.capsule(n["tail_base"], mid, 0.04 * L, grey - 35)
    canvas.capsule(mid, n["tail_tip"], 0.028 * L, grey - 35)
    torso_c = (n["neck"] + n["tail_base"]) / 2
    half = float(np.linalg.norm(body_axis)) / 2
    canvas.ellipse(torso_c, half + 0.03 * L, 0.15 * L, body_angle, grey)
    head_axis = n["nose"] - n["neck"]
    head_angle = float(np.arctan2(head_axis[1], head_axis[0]))
    canvas.ellipse(
        n["neck"] + 0.5 * head_axis, 0.2 * L, 0.12 * L, head_angle, grey + 20
    )
    for side in ("left", "right"):
        canvas.disc(n[f"ear_{side}"], 0.055 * L, min(grey + 45, 250.0))
    canvas.disc(n["nose"], 0.035 * L, grey - 70)


def render_frame(
    poses: np.ndarray,
    background: np.ndarray,
    rng: np.random.Generator,
    noise: float = 4.0,
) -> np.ndarray:
    """One uint8 frame from both animals' poses (nodes, xy) over the background."""
    canvas = _Canvas(background.copy())
    scale = float(min(background.shape))
    # A fixed order: the larger animal passes over the smaller one at crossings.
    for a in (1, 0):
        _draw_animal(canvas, poses[a], _LENGTH[a] * scale, _BRIGHTNESS[a])
    image = canvas.image + rng.normal(0.0, noise, canvas.image.shape).astype(np.float32)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def render_video(
    poses: np.ndarray, size: int | tuple[int, int] = 384, seed: int = 0
) -> Iterator[np.ndarray]:
    """Frames (uint8, height x width) for the poses, one at a time."""
    h, w = _frame_hw(size)
    rng = np.random.default_rng([seed, 1])
    background = make_background(h, w, rng)
    for pose in poses:
        yield render_frame(pose, background, rng)


def poses_to_labels(
    poses: np.ndarray, video: sio.Video, frames: np.ndarray | None = None
) -> sio.Labels:
    """User instances with named tracks for the chosen frames (all by default)."""
    skeleton = make_skeleton()
    tracks = [sio.Track(name=name) for name in TRACKS]
    frames = np.arange(len(poses)) if frames is None else np.asarray(frames)
    labeled = []
    for f in frames:
        instances = [
            sio.Instance.from_numpy(poses[f, a], skeleton=skeleton, track=tracks[a])
            for a in range(poses.shape[1])
        ]
        labeled.append(
            sio.LabeledFrame(video=video, frame_idx=int(f), instances=instances)
        )
    return sio.Labels(
        labeled_frames=labeled, videos=[video], skeletons=[skeleton], tracks=tracks
    )


def train_frames(n_frames: int, every: int = 10, fraction: float = 0.75) -> np.ndarray:
    """Frames of the training subset: every ``every``-th of the first ``fraction``."""
    return np.arange(0, max(1, int(round(n_frames * fraction))), every)


def write_gray_video(
    frames: Iterator[np.ndarray],
    path: Path,
    hw: tuple[int, int],
    n_frames: int,
    fps: float,
    progress: ProgressFn,
    stop: StopFlag | None,
) -> None:
    """Encode gray frames as H.264 (exact size, no rescale), atomically."""
    import imageio_ffmpeg

    with atomic_path(path, suffix=path.suffix) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp),
            (hw[1], hw[0]),
            pix_fmt_in="gray",
            pix_fmt_out="yuv420p",
            fps=fps,
            codec="libx264",
            quality=None,
            macro_block_size=1,
            output_params=["-crf", "20", "-g", "50", "-preset", "fast"],
            ffmpeg_log_level="error",
        )
        writer.send(None)
        try:
            for i, frame in enumerate(frames):
                check_stop(stop)
                writer.send(np.ascontiguousarray(frame))
                progress(i + 1, n_frames + 2)
            writer.close()
        except BaseException:
            writer.close()
            raise


def make_sample(
    out_dir: str | os.PathLike,
    *,
    n_frames: int = 400,
    size: int | tuple[int, int] = 384,
    seed: int = 0,
    fps: float = 30.0,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
) -> SamplePaths:
    """Write ``sample.mp4``, ``sample_gt.slp`` (every frame) and ``sample_train.slp``.

    The same arguments always give the same poses and pixels. The labels refer to
    the video by its bare file name, so the folder can be moved as a whole.
    """
    progress = progress or no_progress
    out = Path(out_dir)
    hw = _frame_hw(size)
    poses = simulate_poses(n_frames, hw, seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = SamplePaths(
        video=out / "sample.mp4",
        gt=out / "sample_gt.slp",
        train=out / "sample_train.slp",
    )
    total = n_frames + 2
    write_gray_video(
        render_video(poses, hw, seed), paths.video, hw, n_frames, fps, progress, stop
    )
    check_stop(stop)
    video = sio.Video(filename=paths.video.name, open_backend=False)
    video.backend_metadata.update(
        {"shape": (n_frames, hw[0], hw[1], 1), "grayscale": True, "fps": fps}
    )
    save_labels(poses_to_labels(poses, video), paths.gt)
    progress(n_frames + 1, total)
    check_stop(stop)
    save_labels(poses_to_labels(poses, video, train_frames(n_frames)), paths.train)
    progress(total, total)
    return paths


def _stamp(n_frames: int, size: int | tuple[int, int], seed: int) -> dict:
    """What a finished sample folder records about how it was made."""
    return {
        "version": SAMPLE_VERSION,
        "n_frames": int(n_frames),
        "size": list(_frame_hw(size)),
        "seed": int(seed),
    }


def ensure_sample(
    out_dir: str | os.PathLike,
    *,
    n_frames: int = 400,
    size: int | tuple[int, int] = 384,
    seed: int = 0,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
) -> SamplePaths:
    """Make the sample in ``out_dir`` unless an identical one is already there.

    A ``sample.json`` stamp, written last, records the generator version and the
    arguments; a folder without a matching stamp (or with a file missing) is remade.
    """
    out = Path(out_dir)
    stamp_path = out / "sample.json"
    want = _stamp(n_frames, size, seed)
    paths = SamplePaths(
        video=out / "sample.mp4",
        gt=out / "sample_gt.slp",
        train=out / "sample_train.slp",
    )
    try:
        have = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        have = None
    if have == want and all(p.exists() for p in (paths.video, paths.gt, paths.train)):
        return paths
    paths = make_sample(
        out, n_frames=n_frames, size=size, seed=seed, progress=progress, stop=stop
    )
    write_text(stamp_path, json.dumps(want, indent=1))
    return paths


def user_cache_dir() -> Path:
    """Where napari's sample menu keeps the sample.

    ``$NAPARI_SLEAP_CACHE`` if set, else ``$XDG_CACHE_HOME/napari-sleap``
    (``~/.cache/napari-sleap`` by default).
    """
    if os.environ.get("NAPARI_SLEAP_CACHE"):
        return Path(os.environ["NAPARI_SLEAP_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "napari-sleap"
