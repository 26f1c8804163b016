"""Constant-velocity Kalman filter per node, the motion model of the kalman tracker.

Each node's x and y follow the same linear model, so they share one 2x2 covariance
(position, velocity); all nodes are filtered at once with array arithmetic.
"""

from __future__ import annotations

import numpy as np


class PoseKalman:
    """Filter one track's pose over frames.

    Args:
        pose: The first observed pose ``(nodes, 2)``; NaN nodes start unknown.
        frame_idx: Frame of that observation.
        measurement_px: Standard deviation of detection noise, in pixels.
        accel_px: Standard deviation of the unmodelled acceleration, px/frame^2.
    """

    def __init__(
        self,
        pose: np.ndarray,
        frame_idx: int,
        measurement_px: float = 10.0,
        accel_px: float = 1.0,
    ) -> None:
        n = pose.shape[0]
        self.r = measurement_px**2
        self.q = accel_px**2
        self.pos = np.full((n, 2), np.nan)
        self.vel = np.zeros((n, 2))
        self.cov = np.zeros((n, 2, 2))
        self.frame_idx = frame_idx
        self._init_nodes(pose, ~np.isnan(pose[:, 0]))

    def _init_nodes(self, pose: np.ndarray, nodes: np.ndarray) -> None:
        self.pos[nodes] = pose[nodes]
        self.vel[nodes] = 0.0
        self.cov[nodes] = np.diag([self.r, 100.0 * self.r])

    def predict(self, frame_idx: int) -> np.ndarray:
        """Pose expected at ``frame_idx`` (does not change the filter)."""
        dt = frame_idx - self.frame_idx
        return self.pos + self.vel * dt

    def step(self, frame_idx: int, pose: np.ndarray | None) -> np.ndarray:
        """Advance to ``frame_idx`` and fold in ``pose`` (None: no detection).

        Returns:
            The filtered pose at ``frame_idx``.
        """
        dt = float(frame_idx - self.frame_idx)
        if dt > 0:
            f = np.array([[1.0, dt], [0.0, 1.0]])
            q = self.q * np.array([[dt**4 / 4, dt**3 / 2], [dt**3 / 2, dt**2]])
            self.pos = self.pos + self.vel * dt
            self.cov = f @ self.cov @ f.T + q
        self.frame_idx = frame_idx
        if pose is None:
            return self.pos.copy()
        seen = ~np.isnan(pose[:, 0])
        new = seen & np.isnan(self.pos[:, 0])
        self._init_nodes(pose, new)
        upd = seen & ~new
        if upd.any():
            cov = self.cov[upd]
            s = cov[:, 0, 0] + self.r
            gain = cov[:, :, 0] / s[:, None]
            innov = pose[upd] - self.pos[upd]
            self.pos[upd] += gain[:, 0:1] * innov
            self.vel[upd] += gain[:, 1:2] * innov
            self.cov[upd] = cov - gain[:, :, None] * cov[:, 0:1, :]
        return self.pos.copy()
