"""Keeping napari layers, sleap-io labels and the docks in step as the user edits."""
