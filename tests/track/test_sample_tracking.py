"""Tracking on the synthetic sample, where the animals pass over each other."""

from __future__ import annotations

from pathlib import Path

import pytest
import sleap_io as sio

from napari_sleap.evaluate.tracking import evaluate_tracking
from napari_sleap.sample import ensure_sample
from napari_sleap.track import track_labels
from tests.fixtures.degrade import degrade_labels


@pytest.fixture(scope="module")
def sample_gt(tmp_path_factory: pytest.TempPathFactory) -> sio.Labels:
    paths = ensure_sample(tmp_path_factory.mktemp("sample"), n_frames=200)
    return sio.load_slp(str(Path(paths.gt)))


@pytest.mark.parametrize("tracker", ["simple", "kalman", "flow"])
def test_degraded_sample_keeps_identities(sample_gt: sio.Labels, tracker: str) -> None:
    det = degrade_labels(sample_gt, seed=1, strength=1.0)
    m = evaluate_tracking(sample_gt, track_labels(det, tracker, max_tracks=2))
    assert m.id_switches == 0
    assert m.idf1 >= 0.95
    assert m.pred_tracks == 2
