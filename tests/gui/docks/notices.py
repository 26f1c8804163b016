"""A fixture that fails a viewer test on any napari error notification; screenshots.

napari shows exceptions and ``show_error`` calls as red notifications; a person
sees them even when the code carries on. Import ``napari_errors`` into a test
module to record them; the test fails at teardown if any arrived.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "images"


def shoot(widget, name: str) -> None:
    """Save ``widget`` as docs/images/<name> when NAPARI_SLEAP_SCREENSHOTS=1."""
    if os.environ.get("NAPARI_SLEAP_SCREENSHOTS") == "1":
        from qtpy.QtWidgets import QApplication

        for _ in range(3):  # let layouts settle (a folded box, wrapped labels)
            QApplication.processEvents()
        assert widget.grab().save(str(DOCS / name)), name


@pytest.fixture
def napari_errors():
    """Error-or-worse notifications seen during the test (must stay empty)."""
    from napari.utils.notifications import NotificationSeverity, notification_manager

    seen: list[str] = []

    def record(event) -> None:
        note = getattr(event, "notification", event)
        severity = getattr(note, "severity", None)
        if severity is not None and severity >= NotificationSeverity.ERROR:
            seen.append(f"{severity}: {getattr(note, 'message', note)}")

    notification_manager.notification_ready.connect(record)
    notification_manager.install_hooks()
    try:
        yield seen
    finally:
        notification_manager.restore_hooks()
        notification_manager.notification_ready.disconnect(record)
    assert not seen, f"napari showed error notifications: {seen}"
