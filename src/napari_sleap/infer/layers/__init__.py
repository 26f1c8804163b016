"""One inference layer per pipeline: preprocess -> model -> postprocess.

Each layer has ``forward(frames) -> raw`` (the network part) and
``postprocess(raw) -> list[FramePoses]`` (numpy), so a predictor can run the
post-processing of one batch while the next is in the network.
"""

from napari_sleap.infer.layers.base import InferenceLayer, PeakParams
from napari_sleap.infer.layers.bottomup import BottomUpLayer
from napari_sleap.infer.layers.single import SingleInstanceLayer
from napari_sleap.infer.layers.topdown import TopDownLayer

__all__ = [
    "BottomUpLayer",
    "InferenceLayer",
    "PeakParams",
    "SingleInstanceLayer",
    "TopDownLayer",
]
