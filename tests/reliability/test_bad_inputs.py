"""Every CLI command against careless and hostile input (tests/reliability/cases.py).

Each case runs the real command in a fresh process on real files and must end
``clear`` (a non-zero exit naming the file, the field and the fix) or ``ok``
(the right result), with no input or unrelated file changed, no partial file
left and no code from a hostile file run.
"""

from __future__ import annotations

import pytest

from tests.reliability.cases import CASES, GOOD, run_case
from tests.reliability.world import build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """The shared sample, decoy and (on demand) tiny model."""
    return build_world(tmp_path_factory.mktemp("reliability_world"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case, world, tmp_path):
    outcome, why = run_case(case, world, tmp_path / "case")
    if outcome == "skipped":
        pytest.skip(why)
    assert outcome in GOOD, f"{case.name}: {outcome}: {why}"
