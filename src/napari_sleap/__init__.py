"""napari-sleap: multi-animal pose estimation and tracking inside napari.

The core (``config``, ``io``, ``nn``, ``train``, ``infer``, ``track``,
``evaluate``, ``convert``, ``cli``) never imports napari or Qt; ``widgets`` and
the npe2 hooks are the napari face. TensorFlow is imported lazily, only where a
model is built or run.
"""

__version__ = "0.1.0"
