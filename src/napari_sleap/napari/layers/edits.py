"""Layer data back to SLEAP Labels: apply the edits made in napari, exactly.

The reverse of :mod:`napari_sleap.napari.layers.convert`: rows that moved change
only their point; rows deleted hide their node (or remove the whole instance); rows that
match no instance become new user instances. Edits go to a new Labels that
shares unchanged instances with the original (copy on write), so the Labels kept
in the layer metadata never changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import attrs
import numpy as np
import sleap_io as sio

from napari_sleap.napari.layers.convert import (
    META_KEY,
    InstanceTable,
    LayerDataTuple,
    RowKeys,
    decode_rows,
    display_xy,
    flatten,
    lookup_names,
)


def _track_name(value: Any) -> str:
    """A track feature value as a name; missing values (None, NaN) are ""."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def _new_track(labels: sio.Labels, name: str) -> sio.Track | None:
    if not name:
        return None
    for t in labels.tracks:
        if t.name == name:
            return t
    track = sio.Track(name)
    labels.tracks.append(track)
    return track


@dataclass
class _Edits:
    """Edits of one layer, resolved against a copy, applied after all layers."""

    remove: list[tuple[sio.LabeledFrame, sio.Instance]]
    #: id(original instance) -> its edited copy
    replaced: dict[int, sio.Instance]


def _apply_points(
    copy: sio.Labels,
    data: np.ndarray,
    features: Mapping[str, Any],
    meta: Mapping[str, Any],
) -> _Edits:
    """Apply one instances layer's rows to ``copy`` (removals deferred)."""
    original: sio.Labels = meta["labels"]
    tab: InstanceTable = meta["table"]
    flat = flatten(original, meta["video_index"])
    init_xy = display_xy(flat)
    if meta.get("windowed") and meta.get("store") is not None:  # rows beyond it
        data, keys, features = _store_rows(data, meta)
    else:
        keys = decode_rows(data, features, meta)
    n_pts = len(flat.xy)

    rows = np.nonzero(keys.known)[0]
    k = tab.start[keys.instance[rows]] + keys.node[rows]
    present = np.zeros(n_pts, dtype=bool)
    present[k] = True
    row_xy = np.full((n_pts, 2), np.nan)
    row_xy[k] = data[rows][:, [2, 1]]  # last duplicate wins
    vis_prop = np.zeros(n_pts, dtype=bool)
    vis_prop[k] = keys.visible[rows]

    moved = present & ~np.all(row_xy == init_xy, axis=1)
    shown_now = vis_prop & ~flat.visible
    take = moved | shown_now
    xy = np.where(take[:, None], row_xy, flat.xy)
    xy[~present] = np.nan
    visible = present & vis_prop
    # a node still without a position keeps its stored flag (the layer shows
    # any such node as not visible: it is only parked beside its instance)
    unplaced = present & ~take & ~np.isfinite(flat.xy).all(axis=1)
    visible[unplaced] = flat.visible[unplaced]

    same_xy = np.all((xy == flat.xy) | (np.isnan(xy) & np.isnan(flat.xy)), axis=1)
    changed = ~same_xy | (visible != flat.visible)
    changed_inst = np.unique(flat.instance[changed])
    alive = np.bincount(flat.instance[present], minlength=len(tab)) > 0

    # Track reassignments: the track named by the first row of each instance.
    row_track_name = np.asarray(features["track"], dtype=object).reshape(len(data))
    first_rows = np.full(len(tab), -1, dtype=np.int64)
    first_rows[keys.instance[rows][::-1]] = rows[::-1]
    track_names = np.asarray([t.name for t in original.tracks] + [""], dtype=object)
    old_names = track_names[np.where(tab.track < 0, len(original.tracks), tab.track)]
    has_row = first_rows >= 0
    new_names = np.where(has_row, row_track_name[np.maximum(first_rows, 0)], old_names)
    new_names = np.array([_track_name(n) for n in new_names], dtype=object)
    retracked = np.nonzero(has_row & (new_names != old_names))[0]

    frames = copy.labeled_frames
    edits = _Edits(remove=[], replaced={})
    for i in np.union1d(changed_inst, retracked):
        lf = frames[tab.lf[i]]
        inst = lf.instances[tab.pos[i]]
        if not alive[i]:
            edits.remove.append((lf, inst))
            continue
        # copy on write: the original Labels shares every unchanged instance
        new = attrs.evolve(inst, points=inst.points.copy())
        edits.replaced[id(inst)] = new
        lf.instances[tab.pos[i]] = inst = new
        s, e = tab.start[i], tab.start[i] + tab.n_nodes[i]
        inst.points["xy"][:] = xy[s:e]
        inst.points["visible"][:] = visible[s:e]
        if i in retracked:
            inst.track = _new_track(copy, new_names[i])
    _add_new_instances(copy, data, features, keys, meta)
    return edits


def _store_rows(
    window: np.ndarray, meta: Mapping[str, Any]
) -> tuple[np.ndarray, RowKeys, dict[str, np.ndarray]]:
    """Every row of a windowed layer, from its row store plus the window's moves."""
    from napari_sleap.napari.layers.store import full_rows

    store = meta["store"]
    data, keys, track_names = full_rows(store, window, meta.get("window_rows"))
    names = np.asarray(store.labels.skeletons[0].node_names or [""], dtype=object)
    node = names[np.clip(store.node, 0, len(names) - 1)]
    return data, keys, {"track": track_names, "node": node}


def _add_new_instances(
    copy: sio.Labels,
    data: np.ndarray,
    features: Mapping[str, Any],
    keys: RowKeys,
    meta: Mapping[str, Any],
) -> None:
    """Rows that match no instance become new user instances, one per frame+id."""
    new = np.nonzero(~keys.known & keys.visible)[0]  # hidden rows add nothing
    if not len(new):
        return
    video = copy.videos[meta["video_index"]]
    skeleton = copy.skeletons[0]
    names = np.asarray(features["node"]).reshape(len(data))
    tracks = np.asarray(features["track"], dtype=object).reshape(len(data))
    node = lookup_names(names[new], skeleton.node_names)
    frame = np.rint(data[new, 0]).astype(np.int64)
    groups: dict[tuple[int, int], list[int]] = {}
    for r, f, inst_id in zip(new, frame, keys.instance[new], strict=True):
        groups.setdefault((int(f), int(inst_id)), []).append(r)
    by_frame = {lf.frame_idx: lf for lf in copy.labeled_frames if lf.video is video}
    node_of = dict(zip(new, node, strict=True))
    for (f, _), group in sorted(groups.items()):
        pts = np.full((len(skeleton.nodes), 2), np.nan)
        for r in group:
            if node_of[r] >= 0 and keys.visible[r]:
                pts[node_of[r]] = data[r, [2, 1]]
        if np.isnan(pts).all():
            continue
        inst = sio.Instance.from_numpy(
            pts,
            skeleton=skeleton,
            track=_new_track(copy, _track_name(tracks[group[0]])),
        )
        lf = by_frame.get(f)
        if lf is None:
            lf = sio.LabeledFrame(video=video, frame_idx=f, instances=[])
            copy.append(lf)
            by_frame[f] = lf
        lf.instances.append(inst)


def _fork(labels: sio.Labels) -> sio.Labels:
    """New Labels and frames that share their instances with ``labels``.

    Edits replace instances instead of changing them, so ``labels`` stays as it
    was at a fraction of the cost of a deep copy (that was 90% of a save).
    """
    if labels.is_lazy:
        labels = labels.materialize()
    frames = [attrs.evolve(lf, instances=list(lf.instances)) for lf in labels]
    return attrs.evolve(
        labels,
        labeled_frames=frames,
        videos=list(labels.videos),
        skeletons=list(labels.skeletons),
        tracks=list(labels.tracks),
        suggestions=list(labels.suggestions),
        provenance=dict(labels.provenance),
    )


def _relink_from_predicted(
    labels: sio.Labels, replaced: dict[int, sio.Instance]
) -> None:
    """Point ``from_predicted`` at the edited copies of replaced predictions.

    Otherwise sleap-io would not find the old prediction when saving and would
    drop the link between a user instance and the prediction it came from.
    """
    if not replaced:
        return
    copies = {id(v) for v in replaced.values()}
    for lf in labels.labeled_frames:
        for j, inst in enumerate(lf.instances):
            source = inst.from_predicted
            if source is not None and id(source) in replaced:
                if id(inst) not in copies:
                    inst = attrs.evolve(inst)  # shared with the original: copy
                    lf.instances[j] = inst
                inst.from_predicted = replaced[id(source)]


def points_to_labels(
    data: np.ndarray, features: Mapping[str, Any], metadata: Mapping[str, Any]
) -> sio.Labels:
    """Labels with one instances layer's edits applied (the original is kept)."""
    return layers_to_labels(
        [(data, {"features": features, "metadata": metadata}, "points")]
    )


def layers_to_labels(layers: Iterable[LayerDataTuple]) -> sio.Labels:
    """Labels from instances layers (one per video), with their edits applied.

    Moving a point changes only that point; predicted instances stay predicted;
    invisible nodes stay invisible (with their stored coordinates); deleting a
    row hides that node, deleting all of an instance's rows removes it, and rows
    that match no instance become new user instances. The Labels in the layers'
    metadata are not modified: the result has its own frames and edited
    instances, and shares the unchanged instances (treat those as read-only).

    Raises:
        ValueError: no layer carries napari-sleap labels metadata.
    """
    groups: dict[int, list[tuple[np.ndarray, Mapping, Mapping]]] = {}
    originals: dict[int, sio.Labels] = {}
    for data, kwargs, layer_type in layers:
        meta = (kwargs.get("metadata") or {}).get(META_KEY)
        if layer_type != "points" or not meta or meta.get("role") != "instances":
            continue
        features = kwargs.get("features")
        if features is None or len(features) == 0:
            features = kwargs.get("properties") or {}
        labels = meta["labels"]
        originals[id(labels)] = labels
        groups.setdefault(id(labels), []).append((np.asarray(data), features, meta))
    if not groups:
        raise ValueError(
            "no napari-sleap instances layer to save: open a .slp file (its Points "
            "layer carries the labels in metadata['napari_sleap']) and save that layer"
        )
    if len(groups) > 1:
        raise ValueError(
            "the layers come from several .slp files; save each file's layers "
            "separately"
        )
    ((key, items),) = groups.items()
    copy = _fork(originals[key])
    removals: list[tuple[sio.LabeledFrame, sio.Instance]] = []
    replaced: dict[int, sio.Instance] = {}
    for data, features, meta in items:
        edits = _apply_points(copy, data, features, meta)
        removals.extend(edits.remove)
        replaced.update(edits.replaced)
    _relink_from_predicted(copy, replaced)
    emptied = set()
    for lf, inst in removals:
        lf.instances = [i for i in lf.instances if i is not inst]
        if not lf.instances:
            emptied.add(id(lf))
    if emptied:  # rebuild so that sleap-io's frame index forgets them
        kept = [lf for lf in copy.labeled_frames if id(lf) not in emptied]
        copy = attrs.evolve(copy, labeled_frames=kept)
    copy.update()
    return copy
