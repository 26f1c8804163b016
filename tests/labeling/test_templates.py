"""Built-in skeleton templates: shape, symmetries, files that SLEAP reads back."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.labeling.placement import place_instance
from napari_sleap.labeling.skeleton_io import load_skeleton, save_skeleton
from napari_sleap.labeling.templates import (
    TEMPLATES,
    make_template,
    template_names,
    template_pose,
)


def test_fly_template_matches_the_clip_skeleton(clip_train_slp) -> None:
    clip = sio.load_slp(str(clip_train_slp), open_videos=False).skeletons[0]
    fly = make_template("fly")
    assert fly.node_names == clip.node_names
    assert sorted(fly.edge_inds) == sorted(clip.edge_inds)
    pairs = {tuple(sorted(fly.node_names[i] for i in p)) for p in fly.symmetry_inds}
    assert pairs == {
        ("wingL", "wingR"),
        ("forelegL4", "forelegR4"),
        ("midlegL4", "midlegR4"),
        ("hindlegL4", "hindlegR4"),
        ("eyeL", "eyeR"),
    }


@pytest.mark.parametrize("name", template_names())
def test_template_round_trips_and_is_fresh(name, tmp_path) -> None:
    t = TEMPLATES[name]
    skel = make_template(name)
    assert len(skel.nodes) == len(t.nodes) >= 10
    assert len(skel.edges) == len(t.edges) and len(skel.symmetries) >= 3
    # every node is connected, every symmetric pair is a left/right name pair
    used = {n for e in skel.edge_names for n in e}
    assert used == set(skel.node_names)
    for a, b in t.symmetries:
        assert a.replace("L", "R").replace("left", "right") == b
    # a fresh object each call: editing one leaves the next untouched
    skel.add_node("extra")
    assert "extra" not in make_template(name).node_names
    skel = make_template(name)
    back = load_skeleton(save_skeleton(skel, tmp_path / f"{name}.json"))
    assert back.node_names == skel.node_names
    assert sorted(back.edge_inds) == sorted(skel.edge_inds)
    assert sorted(map(sorted, back.symmetry_inds)) == sorted(
        map(sorted, skel.symmetry_inds)
    )
    # labels with it save and load in sleap-io
    video = sio.Video(filename="v.mp4", open_backend=False)
    inst = sio.Instance.from_numpy(
        np.arange(2 * len(skel.nodes), dtype=float).reshape(-1, 2), skeleton=skel
    )
    labels = sio.Labels(
        [sio.LabeledFrame(video=video, frame_idx=0, instances=[inst])],
        videos=[video],
        skeletons=[skel],
    )
    sio.save_slp(labels, str(tmp_path / f"{name}.slp"))
    loaded = sio.load_slp(str(tmp_path / f"{name}.slp"), open_videos=False)
    assert loaded.skeletons[0].node_names == skel.node_names
    assert len(loaded.skeletons[0].symmetries) == len(skel.symmetries)


def test_unknown_template_names_the_choices() -> None:
    with pytest.raises(ValueError, match="fly, mouse, bee"):
        make_template("horse")


@pytest.mark.parametrize("name", template_names())
def test_first_instance_is_placed_in_the_template_pose(name) -> None:
    skel = make_template(name)
    labels = sio.Labels(skeletons=[skel])
    xy = place_instance(labels, (200.0, 150.0), size=60.0)
    assert xy.shape == (len(skel.nodes), 2) and np.isfinite(xy).all()
    assert np.allclose(xy.mean(axis=0), (200.0, 150.0))
    by = dict(zip(skel.node_names, xy, strict=True))
    head = by.get("head", by.get("snout"))
    centre = by.get("thorax", by.get("body_center"))
    assert head[1] < centre[1] - 10  # head up
    for a, b in TEMPLATES[name].symmetries:
        assert by[a][0] < by[b][0]  # left on the left
    # edges join neighbours: no edge longer than the body
    span = np.ptp(xy, axis=0).max()
    for i, j in skel.edge_inds:
        assert np.linalg.norm(xy[i] - xy[j]) < span
    # an edited skeleton (renamed node) falls back to the generic layout
    skel.nodes[0].name = "renamed"
    assert template_pose(skel) is None
