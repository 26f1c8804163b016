"""The napari reader and writer on careless input: a clear error, nothing changed.

The same rules the CLI's bad-input suite (tests/reliability) checks: the message
names the file, no input or unrelated file is modified, and no partial file is left.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

PLUGIN = "napari-sleap"


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _open_error(viewer, path: Path) -> str:
    with pytest.raises(Exception) as info:  # napari wraps the reader's error
        viewer.open(str(path), plugin=PLUGIN)
    chain, err = [], info.value
    while err is not None:
        chain.append(str(err))
        err = err.__cause__ or err.__context__
    return " | ".join(chain)


@pytest.fixture
def project(sample_small, tmp_path) -> Path:
    """A copy of the small sample: its video and labels, side by side."""
    folder = tmp_path / "project"
    folder.mkdir()
    for f in (sample_small.video, sample_small.train):
        shutil.copy2(f, folder / Path(f).name)
    return folder


@pytest.mark.parametrize(
    "content",
    [b"these are not labels\n", b"\x89HDF\r\n\x1a\n" + b"\0" * 64],
    ids=["text", "truncated-hdf5"],
)
def test_reader_names_a_broken_labels_file(make_napari_viewer, project, content):
    bad = project / "broken labels.slp"
    bad.write_bytes(content)
    before = _snapshot(project)
    viewer = make_napari_viewer()
    message = _open_error(viewer, bad)
    assert "broken labels.slp" in message, message
    assert len(viewer.layers) == 0
    assert _snapshot(project) == before


def test_reader_refuses_a_video_too_small_for_the_labels(
    make_napari_viewer, project, tmp_path
):
    """A same-named decoy video beside a copied .slp is not silently used."""
    labels_path = project / Path(_train(project)).name
    decoy_dir = tmp_path / "elsewhere"
    decoy_dir.mkdir()
    shutil.move(labels_path, decoy_dir / labels_path.name)
    video_name = Path(sio.load_slp(str(decoy_dir / labels_path.name)).video.filename)
    from napari_sleap.progress import no_progress
    from napari_sleap.sample import write_gray_video

    frames = iter([np.zeros((32, 32), np.uint8)] * 3)
    write_gray_video(
        frames, decoy_dir / video_name.name, (32, 32), 3, 30.0, no_progress, None
    )
    before = _snapshot(tmp_path)
    viewer = make_napari_viewer()
    with pytest.warns(UserWarning) as caught:
        viewer.open(str(decoy_dir / labels_path.name), plugin=PLUGIN)
    said = " ".join(str(w.message) for w in caught)
    assert video_name.name in said, said
    images = [layer for layer in viewer.layers if type(layer).__name__ == "Image"]
    assert all(layer.data.shape[-2:] != (32, 32) for layer in images)
    assert _snapshot(tmp_path) == before


def test_writer_to_a_missing_folder_names_it_and_leaves_nothing(
    make_napari_viewer, project
):
    viewer = make_napari_viewer()
    viewer.open(str(project / Path(_train(project)).name), plugin=PLUGIN)
    before = _snapshot(project)
    target = project / "no such folder" / "out.slp"
    with pytest.raises(Exception) as info:
        viewer.layers.save(str(target), plugin=PLUGIN)
    assert "no such folder" in str(info.value), str(info.value)
    assert _snapshot(project) == before
    assert not any(".napari-sleap-partial" in p.name for p in project.rglob("*"))


def test_writer_replaces_a_labels_file_atomically(make_napari_viewer, project):
    path = project / Path(_train(project)).name
    original = sio.load_slp(str(path))
    viewer = make_napari_viewer()
    viewer.open(str(path), plugin=PLUGIN)
    video = next(p for p in project.iterdir() if p.suffix == ".mp4")
    video_bytes = video.read_bytes()
    viewer.layers.save(str(path), plugin=PLUGIN)
    again = sio.load_slp(str(path))
    assert len(again.labeled_frames) == len(original.labeled_frames)
    assert np.allclose(again[0].numpy(), original[0].numpy(), equal_nan=True)
    assert video.read_bytes() == video_bytes
    assert sorted(p.name for p in project.iterdir()) == sorted([path.name, video.name])


def _train(folder: Path) -> str:
    return str(next(p for p in folder.iterdir() if p.suffix == ".slp"))
