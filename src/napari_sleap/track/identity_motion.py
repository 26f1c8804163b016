"""Identity-model tracks made steady by motion: one identity per motion track.

Identity models slip now and then (a frame where both animals look like the same
one); motion trackers swap now and then (two animals crossing). Combined, each
corrects the other: a capped motion tracker links instances into ``K`` motion
tracks, and a Viterbi pass picks, frame by frame, which identity each motion track
carries (an injective map), maximizing the identity scores it collects minus
``switch_cost`` each time the map changes. A one-frame identity slip then costs
less than switching, while a real motion swap is corrected once the identity
evidence against it outweighs ``switch_cost``.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

#: Above this many track-to-identity maps the pass would be slow: refuse instead.
MAX_MAPS = 5040


def identity_maps(n_tracks: int, n_ids: int) -> np.ndarray:
    """Every injective map of motion tracks to identities, ``(maps, n_tracks)``."""
    maps = np.array(list(permutations(range(n_ids), n_tracks)), dtype=int)
    return maps.reshape(-1, n_tracks)


def count_maps(n_tracks: int, n_ids: int) -> int:
    """How many injective maps of ``n_tracks`` tracks to ``n_ids`` identities exist."""
    count = 1
    for k in range(n_tracks):
        count *= n_ids - k
    return count


def best_identity_maps(evidence: np.ndarray, switch_cost: float) -> np.ndarray:
    """Identity of each motion track in each frame, by Viterbi over the maps.

    Args:
        evidence: ``(frames, tracks, identities)`` identity scores collected by each
            motion track in each frame (0 where it is absent or says nothing).
        switch_cost: Score given up each time the map changes between frames.

    Returns:
        ``(frames, tracks)`` identity index per motion track and frame.

    Raises:
        ValueError: With more tracks than identities or too many maps to search.
    """
    frames, n_tracks, n_ids = evidence.shape
    if n_tracks > n_ids:
        raise ValueError(
            f"{n_tracks} motion tracks but only {n_ids} identities: set max_tracks "
            "to the number of identities"
        )
    if count_maps(n_tracks, n_ids) > MAX_MAPS:
        raise ValueError(
            f"{n_tracks} tracks over {n_ids} identities make too many maps to search; "
            "use identity_switch_cost=0 (per-frame identities)"
        )
    maps = identity_maps(n_tracks, n_ids)
    rows = np.arange(n_tracks)
    # emission[t, m]: identity score collected in frame t under map m.
    emission = evidence[:, rows, maps].sum(axis=-1) if frames else np.zeros((0, 1))
    back = np.zeros((frames, len(maps)), dtype=int)
    score = emission[0].copy() if frames else np.zeros(len(maps))
    for t in range(1, frames):
        best = int(np.argmax(score))
        switch = score[best] - switch_cost
        stay = score >= switch
        back[t] = np.where(stay, np.arange(len(maps)), best)
        score = np.maximum(score, switch) + emission[t]
    path = np.zeros(frames, dtype=int)
    if frames:
        path[-1] = int(np.argmax(score))
        for t in range(frames - 1, 0, -1):
            path[t - 1] = back[t, path[t]]
    return maps[path]
