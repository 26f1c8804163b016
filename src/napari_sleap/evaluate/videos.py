"""The one rule for pairing the videos of two label files (ground truth, predictions).

Pose and tracking evaluation both pair videos this way: by full path, then by a
file name that only one prediction video has; when each file holds exactly one
video, they pair regardless (predictions are often made on a moved copy). Order
alone never pairs two videos: two cameras listed in a different order stay apart.
"""

from __future__ import annotations

import os

import sleap_io as sio


def video_path(video: sio.Video) -> str:
    """The video's file (an image sequence's first image)."""
    name = video.filename
    return str(name[0] if isinstance(name, list) and name else name)


def _same_file(a: str, b: str) -> bool:
    return os.path.normpath(os.path.abspath(a)) == os.path.normpath(os.path.abspath(b))


def pair_videos(labels_gt: sio.Labels, labels_pr: sio.Labels) -> dict[int, int]:
    """Map each ground-truth video index to its prediction video index.

    Videos without a partner are left out of the map.

    Raises:
        ValueError: If no video pairs, naming both files' videos.
    """
    paths_pr = [video_path(v) for v in labels_pr.videos]
    names_pr = [os.path.basename(p) for p in paths_pr]
    mapping: dict[int, int] = {}
    for i, video in enumerate(labels_gt.videos):
        path = video_path(video)
        same = [j for j, other in enumerate(paths_pr) if _same_file(path, other)]
        if same:
            mapping[i] = same[0]
        elif names_pr.count(os.path.basename(path)) == 1:
            mapping[i] = names_pr.index(os.path.basename(path))
    if not mapping and len(labels_gt.videos) == len(labels_pr.videos) == 1:
        mapping[0] = 0
    if not mapping:
        raise ValueError(
            "no video of the ground truth appears in the predictions: ground truth "
            f"has {[video_path(v) for v in labels_gt.videos]}, predictions have "
            f"{paths_pr}; predict on the same video files (matched by path or "
            "file name)"
        )
    return mapping
