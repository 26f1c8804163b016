"""Labeling without a viewer: undoable edits, placement, navigation, suggestions.

The napari widgets call these; everything here works on sleap-io ``Labels`` and
numpy only (no napari, Qt or TensorFlow), so it is tested and scripted headless.
"""

from __future__ import annotations

from napari_sleap.labeling.autosave import Autosaver, autosave_path, find_recovery
from napari_sleap.labeling.commands import (
    AcceptPrediction,
    AddInstance,
    Changes,
    CopyPrevious,
    DeleteInstances,
    LabelCommand,
    SetPoints,
    SetSuggestions,
    command_changes,
    find_frame,
    frame_of,
    set_node_visible,
)
from napari_sleap.labeling.history import UndoStack
from napari_sleap.labeling.navigation import FrameSets
from napari_sleap.labeling.placement import default_layout, mean_pose, place_instance
from napari_sleap.labeling.track_edits import AssignTrack

__all__ = [
    "AcceptPrediction",
    "AddInstance",
    "AssignTrack",
    "Autosaver",
    "Changes",
    "CopyPrevious",
    "DeleteInstances",
    "FrameSets",
    "LabelCommand",
    "SetPoints",
    "SetSuggestions",
    "UndoStack",
    "autosave_path",
    "command_changes",
    "default_layout",
    "find_frame",
    "find_recovery",
    "frame_of",
    "mean_pose",
    "place_instance",
    "set_node_visible",
]
