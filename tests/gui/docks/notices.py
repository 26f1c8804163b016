"""A fixture that fails a viewer test on any napari error notification.

napari shows exceptions and ``show_error`` calls as red notifications; a person
sees them even when the code carries on. Import ``napari_errors`` into a test
module to record them; the test fails at teardown if any arrived.
"""

from __future__ import annotations

import pytest


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
