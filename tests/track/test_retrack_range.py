"""Re-tracking part of a file continues the identities around the range.

The proofread clip has two named flies; re-tracking frames 1000..1249 used to
leave ``male``/``female`` before 1000 and make ``track_0``/``track_1`` after
it (four half-empty animals in movement).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.cli import main
from napari_sleap.io.labels import load_labels
from napari_sleap.track.trackers import track_labels

pytestmark = pytest.mark.shared_data


@pytest.fixture
def proofread(clip_all_slp):
    return load_labels(clip_all_slp, missing_videos="ignore")


def _names(labels, first: int, stop: int) -> dict[tuple[int, int], str | None]:
    return {
        (int(lf.frame_idx), k): (i.track.name if i.track else None)
        for lf in labels
        if first <= lf.frame_idx < stop
        for k, i in enumerate(lf.instances)
    }


@pytest.mark.parametrize("first, stop", [(1000, 1250), (0, 200), (500, 700)])
def test_range_keeps_the_named_animals(proofread, first, stop):
    """End, start (only frames after it) and middle of the file."""
    want = _names(proofread, 0, 1250)
    out = track_labels(
        proofread, tracker="simple", max_tracks=2, frame_range=(first, stop)
    )
    assert sorted(t.name for t in out.tracks) == ["female", "male"]
    got = _names(out, 0, 1250)
    assert got == want  # inside the range too: the same fly, the same name


def test_cli_frames_option_continues_identities(clip_all_slp, tmp_path: Path):
    out = tmp_path / "retracked.slp"
    args = ["track", str(clip_all_slp), "-o", str(out), "--tracker", "simple"]
    assert main([*args, "--max-tracks", "2", "--frames", "1000-1249"]) == 0
    tracked = sio.load_slp(str(out), open_videos=False)
    assert sorted(t.name for t in tracked.tracks) == ["female", "male"]
    per_track = {
        t.name: sum(1 for lf in tracked for i in lf.instances if i.track is t)
        for t in tracked.tracks
    }
    assert per_track == {"female": 1250, "male": 1250}


def test_a_new_animal_in_the_range_keeps_a_new_track(proofread):
    """A third fly far from both known ones is not merged into either."""
    want = _names(proofread, 0, 1250)
    skeleton = proofread.skeletons[0]
    for lf in proofread:
        if 1100 <= lf.frame_idx < 1150:
            pts = lf.instances[0].numpy() + np.array([0.0, 600.0])
            lf.instances.append(sio.Instance.from_numpy(pts, skeleton=skeleton))
    out = track_labels(proofread, tracker="simple", frame_range=(1100, 1150))
    added = [lf.instances[2] for lf in out if 1100 <= lf.frame_idx < 1150]
    tracked = [i for i in added if i.track is not None]
    assert len(tracked) > len(added) // 2
    assert not {i.track.name for i in tracked} & {"female", "male"}
    got = _names(out, 0, 1250)
    assert {k: got[k] for k in want} == want
