"""Training-only losses: online hard keypoint mining on confidence maps.

Registered as Keras serializable so a resumable checkpoint (compiled, with
optimizer state) reloads; the ``best.keras`` handed to inference is saved
uncompiled and never needs this module.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="napari_sleap")
class HardKeypointMiningLoss(keras.losses.Loss):
    """Mean squared error plus extra weight on the batch's hardest nodes.

    Per-node losses are compared with the easiest node's; nodes at least
    ``hard_to_easy_ratio`` times worse (between ``min_hard_keypoints`` and
    ``max_hard_keypoints`` of them, hardest first) add
    ``loss_scale * mean(their losses)``. Hard, rarely seen nodes (a wing tip
    in a rare pose) then pull the model more than easy ones.
    """

    def __init__(
        self,
        hard_to_easy_ratio: float = 2.0,
        min_hard_keypoints: int = 2,
        max_hard_keypoints: int | None = None,
        loss_scale: float = 5.0,
        name: str = "ohkm_mse",
        **kwargs,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.hard_to_easy_ratio = float(hard_to_easy_ratio)
        self.min_hard_keypoints = int(min_hard_keypoints)
        self.max_hard_keypoints = max_hard_keypoints
        self.loss_scale = float(loss_scale)

    def call(self, y_true, y_pred):
        """Per-example MSE plus the (batch-wide) mined term."""
        sq = ops.square(ops.cast(y_true, y_pred.dtype) - y_pred)
        mse = ops.mean(sq, axis=(1, 2, 3))
        per_node = ops.mean(sq, axis=(0, 1, 2))  # (channels,)
        n = per_node.shape[-1]
        hi = n if self.max_hard_keypoints is None else min(self.max_hard_keypoints, n)
        lo = min(self.min_hard_keypoints, hi)
        ranked = ops.flip(ops.sort(per_node), axis=0)  # hardest first
        easiest = ops.min(per_node)
        hard = ops.cast(ranked >= self.hard_to_easy_ratio * easiest, per_node.dtype)
        rank = ops.arange(n, dtype="int32")
        keep = ops.where(rank < lo, 1.0, ops.where(rank < hi, hard, 0.0))
        keep = ops.cast(keep, per_node.dtype)
        mined = ops.sum(ranked * keep) / ops.maximum(ops.sum(keep), 1.0)
        return mse + self.loss_scale * mined

    def get_config(self) -> dict:
        """Constructor arguments, for saving."""
        return {
            **super().get_config(),
            "hard_to_easy_ratio": self.hard_to_easy_ratio,
            "min_hard_keypoints": self.min_hard_keypoints,
            "max_hard_keypoints": self.max_hard_keypoints,
            "loss_scale": self.loss_scale,
        }


@keras.saving.register_keras_serializable(package="napari_sleap")
class NegativeWeightedMSE(keras.losses.Loss):
    """MSE weighted per pixel by the target's last channel (other animals' nodes).

    ``y_true`` is ``(..., n_nodes + 1)``: the confidence maps and a weight map
    (:func:`napari_sleap.nn.data.negatives.pack`); ``y_pred`` is the model's
    ``(..., n_nodes)`` maps. Returns the weighted mean over nodes per pixel,
    like ``MeanSquaredError``, so Keras reduces it the same way.
    """

    def __init__(self, name: str = "confmaps_negatives_mse", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        """Per-pixel weighted squared error, averaged over the nodes."""
        y_true = ops.cast(y_true, y_pred.dtype)
        target, weight = y_true[..., :-1], y_true[..., -1:]
        return ops.mean(weight * ops.square(target - y_pred), axis=-1)
