"""Left/right consistency on hand-made poses with known sides."""

from __future__ import annotations

import numpy as np

from napari_sleap.infer.sides import fit_sides, fix_sides, side_signs

# head, abdomen, legL, legR, wingL, wingR; the animal faces +x (head at x=10).
POSE = np.array(
    [[10, 0], [-10, 0], [0, -5], [0, 5], [-5, -3], [-5, 3]], dtype=np.float64
)
PAIRS = [(2, 3), (4, 5)]


def turned(pose: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return pose @ np.array([[c, s], [-s, c]])


def test_side_signs_follow_the_axis_under_rotation():
    poses = np.stack([turned(POSE, a) for a in np.linspace(0, 6, 7)])
    s = side_signs(poses, PAIRS, front=0, back=1)
    assert (s[..., 0] == -1).all() and (s[..., 1] == 1).all()
    poses[0, 2] = np.nan
    assert side_signs(poses, PAIRS, 0, 1)[0, 0, 0] == 0


def test_fit_then_fix_swaps_only_trusted_pairs_with_both_sides_wrong():
    labeled = np.stack([turned(POSE, a) for a in np.linspace(0, 6, 10)])
    labeled[:5, [4, 5]] = labeled[:5, [5, 4]]  # wings cross: half the time
    conv = fit_sides(labeled, PAIRS, front=0, back=1)
    assert conv.left_sign[0] == -1 and conv.agreement[0] == 1.0
    assert conv.agreement[1] == 0.5

    pred = np.stack([turned(POSE, 1.0)] * 3)
    pred[0, [2, 3]] = pred[0, [3, 2]]  # legs swapped: fixed
    pred[1, [4, 5]] = pred[1, [5, 4]]  # wings swapped: untrusted pair, kept
    pred[2, 2] = pred[2, 3] + [0.5, 0.5]  # both legs on the right: ambiguous
    fixed, n = fix_sides(pred, conv)
    assert n == 1
    np.testing.assert_allclose(fixed[0], turned(POSE, 1.0))
    np.testing.assert_array_equal(fixed[1:], pred[1:])
    assert fix_sides(labeled[5:], conv)[1] == 0
