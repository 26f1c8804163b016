"""The labeling workbench's keyboard shortcuts: one table for bindings, help and docs.

Keys are napari key strings; they avoid napari's own viewer and Points-layer
shortcuts (P, S, Z, A, digits, arrows without modifiers, V) so both keep working.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    """One key binding.

    Attributes:
        key: napari key string (``"Control-Shift-z"``).
        action: Name of the :class:`~napari_sleap.napari.docks.labeling.LabelingWidget`
            method it calls.
        label: Human-readable key.
        help: What it does.
    """

    key: str
    action: str
    label: str
    help: str


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut(
        "Control-z",
        "undo",
        "Ctrl+Z",
        "Undo the last edit of any dock (labeling, proofreading, skeleton)",
    ),
    Shortcut("Control-Shift-z", "redo", "Ctrl+Shift+Z", "Redo"),
    Shortcut("Control-i", "add_at_cursor", "Ctrl+I", "Add an instance at the cursor"),
    Shortcut(
        "Shift-c", "copy_previous", "Shift+C", "Copy the previous labeled frame here"
    ),
    Shortcut(
        "Control-Backspace",
        "delete_selected",
        "Ctrl+Backspace",
        "Delete the selected instance(s)",
    ),
    Shortcut(
        "Control-Enter",
        "accept_selected",
        "Ctrl+Enter",
        "Accept the selected (or all) predictions on this frame",
    ),
    Shortcut("h", "toggle_visibility", "H", "Mark the selected node(s) visible/hidden"),
    Shortcut("Delete", "hide_selected", "Delete", "Hide the selected node(s)"),
    Shortcut("Backspace", "hide_selected", "Backspace", "Hide the selected node(s)"),
    Shortcut("Alt-Right", "next_labeled", "Alt+Right", "Next labeled frame"),
    Shortcut("Alt-Left", "prev_labeled", "Alt+Left", "Previous labeled frame"),
    Shortcut("Shift-Right", "next_unlabeled", "Shift+Right", "Next unlabeled frame"),
    Shortcut("Shift-Left", "prev_unlabeled", "Shift+Left", "Previous unlabeled frame"),
    Shortcut("Control-Right", "next_suggested", "Ctrl+Right", "Next suggested frame"),
    Shortcut("Control-Left", "prev_suggested", "Ctrl+Left", "Previous suggested frame"),
    Shortcut(
        "Control-Shift-Right",
        "next_low_score",
        "Ctrl+Shift+Right",
        "Next frame with a low-score prediction",
    ),
    Shortcut(
        "Control-Shift-Left",
        "prev_low_score",
        "Ctrl+Shift+Left",
        "Previous frame with a low-score prediction",
    ),
    *(
        Shortcut(
            f"Control-{k}",
            f"assign_track_{k}",
            f"Ctrl+{k}",
            f"Put the selected instance on track {k}",
        )
        for k in range(1, 10)
    ),
)


def help_text() -> str:
    """The shortcut table as HTML for the help panel."""
    rows = "".join(
        f"<tr><td><b>{s.label}</b></td><td>{s.help}</td></tr>"
        for s in SHORTCUTS
        if not s.action.startswith("assign_track_")
    )
    extra = (
        "<tr><td><b>Ctrl+1..9</b></td><td>Put the selected instance on track 1..9"
        "</td></tr><tr><td><b>drag</b></td><td>Move a node (select mode); edges "
        "follow</td></tr>"
    )
    return f"<table>{rows}{extra}</table>"


def markdown_table() -> str:
    """The shortcut table as Markdown (docs/shortcuts.md is checked against it)."""
    lines = ["| Key | Action |", "| --- | --- |"]
    lines += [f"| {s.label} | {s.help} |" for s in SHORTCUTS]
    return "\n".join(lines)
