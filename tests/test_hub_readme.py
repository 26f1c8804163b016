"""The README works in the repository (relative links resolve, the two commands
come first) and as the PyPI/hub page (scripts/hub_readme.py makes links absolute
from its one PROJECT_URL, and refuses while there is none).
"""

from __future__ import annotations

import email
import importlib.util
import re
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
#: Stands in for the public address in these tests only (example.org is reserved).
EXAMPLE = "https://example.org/owner/napari-sleap"


def _script():
    spec = importlib.util.spec_from_file_location(
        "hub_readme", ROOT / "scripts" / "hub_readme.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_relative_links_resolve_in_the_repository():
    links = _script().relative_links(README)
    assert any(link.endswith(".png") for link in links)
    missing = [link for link in links if not (ROOT / link.split("#")[0]).exists()]
    assert missing == []


def test_short_description_then_the_two_commands():
    head = README.split("\n## ", 1)[0]
    first_block = re.search(r"```\n(.*?)```", head, re.DOTALL)
    assert first_block is not None and first_block.group(1) == "make demo\nmake test\n"
    before = head[: first_block.start()].split("\n", 1)[1].strip()
    assert 0 < len(before.split()) < 80  # a short description, no other commands
    assert "```" not in before and "`make" not in before


def test_hub_copy_has_only_absolute_links():
    hub = _script()
    text = hub.absolute_links(README, EXAMPLE)
    assert hub.relative_links(text) == []
    assert f"]({EXAMPLE}/raw/main/docs/images/viewer_clip.png)" in text
    assert f"]({EXAMPLE}/blob/main/docs/guide.md)" in text
    assert "](https://napari.org)" in text  # web links stay as they are
    assert len(hub.LINK.findall(text)) == len(hub.LINK.findall(README))


def test_no_address_is_made_up(capsys):
    hub = _script()
    assert hub.PROJECT_URL == ""  # no public repository yet: set it there
    assert hub.main(["--build"]) == 2
    assert "PROJECT_URL is empty" in capsys.readouterr().err


@pytest.mark.slow
def test_release_wheel_carries_the_hub_readme(tmp_path):
    wheel = _script().build(EXAMPLE, tmp_path)
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        meta = email.message_from_bytes(z.read(name))
    description = meta.get_payload()
    assert f"{EXAMPLE}/raw/main/docs/images/viewer_clip.png" in description
    assert "](docs/" not in description
    assert f"Source, {EXAMPLE}" in meta.get_all("Project-URL")
