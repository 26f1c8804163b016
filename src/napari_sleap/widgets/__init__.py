"""The napari face: dock widgets. The only package that imports napari and Qt."""
