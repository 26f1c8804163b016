"""A missing ../shared/data file skips with directions, and fails under CI."""

from __future__ import annotations

import pytest

from tests.fixtures.shared_data import shared_file


def test_missing_file_skips_with_directions(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        shared_file("no_such_recording.mp4")
    message = str(skipped.value)
    assert "no_such_recording.mp4 not found" in message
    assert "talmolab/sleap" in message and "README.md" in message


@pytest.mark.parametrize("value", ["true", "1", "True"])
def test_missing_file_fails_under_ci(monkeypatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI=true and .*not found"):
        shared_file("no_such_recording.mp4")


def test_ci_false_still_skips(monkeypatch) -> None:
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        shared_file("no_such_recording.mp4")
