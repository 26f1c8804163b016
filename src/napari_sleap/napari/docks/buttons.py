"""The push button every plugin dock builds: text, tooltip, and what it does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtWidgets import QPushButton


def button(text: str, tip: str, slot: Callable[[], Any]) -> QPushButton:
    """A push button labelled ``text`` that calls ``slot()`` when clicked."""
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(lambda *_: slot())
    return b
