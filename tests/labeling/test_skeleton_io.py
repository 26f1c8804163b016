"""Skeleton files (SLEAP JSON, .slp) and skeleton edits that keep the labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_sleap.labeling.skeleton_io import (
    ConfirmationNeeded,
    SkeletonEditor,
    load_skeleton,
    load_skeletons,
    save_skeleton,
)
from tests.labeling.helpers import sample_labels


def _record(skel):
    syms = sorted(tuple(sorted(s)) for s in skel.symmetry_inds)
    return skel.node_names, skel.edge_inds, syms


def test_json_round_trip_as_sleap_writes(tmp_path) -> None:
    skel = sample_labels().skeletons[0]
    path = save_skeleton(skel, tmp_path / "mouse.json")
    text = json.loads(path.read_text())
    assert "nodes" in text and "links" in text  # SLEAP's jsonpickle graph layout
    back = load_skeleton(path)
    assert _record(back) == _record(skel)
    assert not list(tmp_path.glob(".*"))  # no temporary left behind


def test_from_slp(clip_train_slp) -> None:
    (skel,) = load_skeletons(clip_train_slp)
    assert len(skel.nodes) == 13 and skel.node_names[0] == "head"


def test_bad_files(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="skeleton file not found"):
        load_skeleton(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json: not a SLEAP skeleton file"):
        load_skeleton(bad)


def test_rename_keeps_points_and_add_node() -> None:
    labels = sample_labels()
    inst = labels.labeled_frames[0].instances[0]
    nose = inst.numpy()[0].copy()
    ed = SkeletonEditor(labels)
    ed.rename_node("nose", "snout")
    assert ed.skeleton.node_names[0] == "snout"
    assert np.allclose(inst.numpy()[0], nose) and inst.points["name"][0] == "snout"
    ed.add_node("tail_mid")
    assert len(inst.points) == 11 and not inst.points["visible"][-1]
    assert np.allclose(inst.numpy()[0], nose)
    with pytest.raises(ValueError, match="already has it"):
        ed.add_node("snout")


def test_remove_needs_confirmation() -> None:
    labels = sample_labels()
    ed = SkeletonEditor(labels)
    inst = labels.labeled_frames[0].instances[0]
    tail = inst.numpy()[9].copy()
    n_user = sum(len(lf.instances) for lf in labels.labeled_frames)
    with pytest.raises(ConfirmationNeeded) as err:
        ed.remove_nodes(["nose"])
    assert err.value.n_points == n_user and len(inst.points) == 10
    assert ed.remove_nodes(["nose"], confirm=True) == n_user
    assert len(inst.points) == 9 and "nose" not in ed.skeleton.node_names
    assert np.allclose(inst.numpy()[8], tail)
    # an unlabeled node goes without asking
    ed.add_node("extra")
    assert ed.remove_nodes(["extra"]) == 0


def test_edges_and_symmetries() -> None:
    labels = sample_labels()
    ed = SkeletonEditor(labels)
    n_edges = len(ed.skeleton.edges)
    ed.add_edge("nose", "ear_left")
    ed.add_edge("ear_left", "nose")  # already there (either way)
    assert len(ed.skeleton.edges) == n_edges + 1
    ed.remove_edge("ear_left", "nose")
    assert len(ed.skeleton.edges) == n_edges
    with pytest.raises(ValueError, match="not in the skeleton"):
        ed.remove_edge("nose", "tail_tip")
    with pytest.raises(ValueError, match="one symmetric partner"):
        ed.add_symmetry("ear_left", "nose")
    ed.remove_symmetry("ear_left", "ear_right")
    ed.add_symmetry("ear_left", "ear_right")
    assert len(ed.skeleton.symmetries) == 3
    with pytest.raises(ValueError, match="node 'paw' is not in skeleton"):
        ed.add_edge("paw", "nose")


def test_node_order_kept_with_isolated_node_and_sleap_ids(tmp_path) -> None:
    from napari_sleap.labeling.skeleton_io import encode_skeleton

    skel = sample_labels().skeletons[0]
    SkeletonEditor(sample_labels(), skel).add_node("lonely")  # no edges
    back = load_skeleton(save_skeleton(skel, tmp_path / "s.json"))
    assert _record(back) == _record(skel)
    links = encode_skeleton(skel)["links"]
    # one id space: the first link holds ids 1 (neck), 2 (nose), 3 (edge type)
    assert links[1]["source"] == {"py/id": 1} and links[1]["type"] == {"py/id": 3}


def test_replace_skeleton_matches_names() -> None:
    import sleap_io as sio

    labels = sample_labels()
    inst = labels.labeled_frames[0].instances[0]
    neck = inst.numpy()[3].copy()
    new = sio.Skeleton(["neck", "nose", "wing"], edges=[("neck", "nose")])
    ed = SkeletonEditor(labels)
    with pytest.raises(ConfirmationNeeded, match="lacks ear_left"):
        ed.replace(new)
    ed.replace(new, confirm=True)
    assert labels.skeletons == [new] and inst.skeleton is new
    assert np.allclose(inst.numpy()[0], neck) and not inst.points["visible"][2]
