"""Shared test set-up: fixtures live in tests/fixtures and load as plugins."""

pytest_plugins = [
    "tests.fixtures.shared_data",
    "tests.fixtures.training",
    "tests.fixtures.degrade",
    "tests.fixtures.video",
    "tests.fixtures.sample",
]
