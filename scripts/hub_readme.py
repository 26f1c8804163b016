"""The README as PyPI and the napari hub show it: relative links made absolute.

In the repository the README links its pictures and pages relatively
(``docs/images/labeling.png``), which works on any clone and forge. PyPI and
the napari hub show the wheel's long description away from the repository, so
there every link must be absolute. ``PROJECT_URL`` below is the one place the
public address goes: until it is set, ``--build`` refuses (no address is made
up), and once set, a release wheel built with ``--build`` carries a README whose
every relative link points into the repository and the project URLs PyPI lists.

    python scripts/hub_readme.py            # print the hub README
    python scripts/hub_readme.py --build    # dist/: wheel with the hub README
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: The public repository, e.g. "https://github.com/OWNER/napari-sleap" (GitHub's
#: /raw/ and /blob/ paths are used). Empty: no public repository exists yet.
PROJECT_URL = ""
#: The branch the absolute links point at.
BRANCH = "main"

ROOT = Path(__file__).resolve().parents[1]
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
#: Markdown links and images: ``[text](target)`` / ``![alt](target)``.
LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")


def is_relative(target: str) -> bool:
    """A link into the repository (not a web address, a mail or an anchor)."""
    return not re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", target, re.IGNORECASE)


def relative_links(text: str) -> list[str]:
    """Every relative link target of a Markdown text, in order."""
    return [m.group(2) for m in LINK.finditer(text) if is_relative(m.group(2))]


def absolute_links(text: str, base: str, branch: str = BRANCH) -> str:
    """``text`` with relative links absolute: pictures as raw files, pages as pages."""
    base = base.rstrip("/")

    def repl(m: re.Match[str]) -> str:
        target = m.group(2)
        if not is_relative(target):
            return m.group(0)
        path = target.split("#")[0].split("?")[0]
        kind = "raw" if path.lower().endswith(IMAGE_EXTS) else "blob"
        return f"{m.group(1)}{base}/{kind}/{branch}/{target}{m.group(3)}"

    return LINK.sub(repl, text)


def hub_readme(base: str) -> str:
    """The repository's README with absolute links under ``base``."""
    return absolute_links((ROOT / "README.md").read_text(), base)


def project_urls(base: str) -> str:
    """The ``[project.urls]`` table a release's pyproject gets (PyPI's sidebar)."""
    base = base.rstrip("/")
    return (
        f'\n[project.urls]\nSource = "{base}"\n'
        f'"Bug Tracker" = "{base}/issues"\n'
        f'Documentation = "{base}/blob/{BRANCH}/docs/guide.md"\n'
    )


def build(base: str, out: Path) -> Path:
    """Build the wheel into ``out`` from a copy of the tree: hub README, URLs."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp)
        shutil.copy(ROOT / "LICENSE", tree / "LICENSE")
        (tree / "pyproject.toml").write_text(
            (ROOT / "pyproject.toml").read_text() + project_urls(base)
        )
        (tree / "README.md").write_text(hub_readme(base))
        skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
        shutil.copytree(ROOT / "src", tree / "src", ignore=skip)
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), "."],
            cwd=tree,
            check=True,
            capture_output=True,
        )
    (wheel,) = sorted(out.glob("napari_sleap-*.whl"))[-1:]
    return wheel


def main(argv: list[str] | None = None) -> int:
    """Print the hub README, or build the release wheel with it (``--build``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="build dist/*.whl")
    args = parser.parse_args(argv)
    if not PROJECT_URL:
        print(
            f"{Path(__file__).name}: PROJECT_URL is empty (no public repository "
            "yet), so the README's relative links cannot be made absolute. Fix: set "
            f"PROJECT_URL in {Path(__file__).relative_to(ROOT)} to the repository's "
            "address once it is public.",
            file=sys.stderr,
        )
        return 2
    if args.build:
        print(build(PROJECT_URL, ROOT / "dist"))
    else:
        print(hub_readme(PROJECT_URL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
