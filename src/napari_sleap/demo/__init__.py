"""The whole loop on the synthetic sample (``python -m napari_sleap.demo``)."""
