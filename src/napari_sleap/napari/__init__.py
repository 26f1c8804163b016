"""The napari face: npe2 hooks, layer model, layer/label syncing and docks.

The only part of napari-sleap that imports napari, Qt or magicgui; the core
never imports it.
"""
