"""Batch planning and local sizing: globs, output names, chunks (no cluster)."""

from __future__ import annotations

import pytest

from napari_sleap.distributed.cluster import local_sizing
from napari_sleap.distributed.plan import (
    check_unique_outputs,
    expand_inputs,
    output_for,
    split_chunks,
)


def test_expand_inputs_globs_in_order_without_duplicates(tmp_path):
    for name in ("b.mp4", "a.mp4", "c.avi"):
        (tmp_path / name).write_bytes(b"")
    got = expand_inputs(
        [str(tmp_path / "*.mp4"), tmp_path / "a.mp4", tmp_path / "c.avi"]
    )
    assert [p.name for p in got] == ["a.mp4", "b.mp4", "c.avi"]


def test_expand_inputs_errors_name_the_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="matches no file"):
        expand_inputs([str(tmp_path / "*.mp4")])
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        expand_inputs([tmp_path / "missing.mp4"])
    (tmp_path / "x.slp").write_bytes(b"")
    with pytest.raises(ValueError, match="x.slp: batch mode takes videos"):
        expand_inputs([tmp_path / "x.slp"])
    with pytest.raises(ValueError, match="is a folder"):
        expand_inputs([tmp_path])


def test_outputs_are_named_after_videos_and_must_not_clash(tmp_path):
    a, b = tmp_path / "one" / "fly.mp4", tmp_path / "two" / "fly.mp4"
    assert output_for(a, tmp_path).name == "fly.predictions.slp"
    with pytest.raises(ValueError, match="would both write"):
        check_unique_outputs([a, b], tmp_path)


def test_split_chunks():
    assert split_chunks(list(range(10)), 4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert split_chunks([], 4) == []
    with pytest.raises(ValueError, match="at least 1"):
        split_chunks([1], 0)


def test_local_sizing_splits_the_cores():
    assert local_sizing(cores=2, gpus=0) == local_sizing(2, 1, cores=2, gpus=0)
    s = local_sizing(cores=16, gpus=0)
    assert (s.workers, s.threads) == (8, 2)
    s = local_sizing(cores=16, gpus=2)
    assert (s.workers, s.threads, s.gpus) == (2, 8, 2)
    assert local_sizing(1, cores=2, gpus=0).threads == 2
    with pytest.raises(ValueError, match="--workers 0"):
        local_sizing(0, cores=2, gpus=0)
