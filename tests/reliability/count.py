"""Count the bad-input outcomes of this checkout and of an earlier revision.

``python -m tests.reliability.count --before REV [--json OUT.json]`` extracts
``src/`` of REV (``git archive``, no worktree), runs every case of
:mod:`tests.reliability.cases` against it and against this checkout, and prints
the table for docs/reliability.md plus one line per case that differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.reliability.cases import CASES, GOOD, run_case
from tests.reliability.world import build_world, ensure_model

REPO = Path(__file__).resolve().parents[2]
COLUMNS = ("clear", "ok", "wrong result", "data lost", "unclear", "partial left")


def extract_src(rev: str, dest: Path) -> Path:
    """``src/`` of ``rev`` under ``dest`` (read through ``git archive``)."""
    dest.mkdir(parents=True, exist_ok=True)
    tar = dest / "src.tar"
    with open(tar, "wb") as fh:
        subprocess.run(["git", "archive", rev, "src"], cwd=REPO, stdout=fh, check=True)
    with tarfile.open(tar) as t:
        t.extractall(dest, filter="data")
    return dest / "src"


def run_all(world, root: Path, src: Path | None) -> dict[str, tuple[str, str]]:
    """Outcome of every case (``src``: another checkout's ``src/``)."""
    out = {}
    for k, case in enumerate(CASES):
        out[case.name] = run_case(case, world, root / f"{k:02d}", src=src)
    return out


def table(results: dict[str, dict[str, tuple[str, str]]]) -> str:
    """Markdown: one row per run, one column per outcome."""
    head = "| run | cases | " + " | ".join(COLUMNS) + " | skipped |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 3)]
    for label, res in results.items():
        counts = Counter(o for o, _ in res.values())
        tried = sum(v for k, v in counts.items() if k != "skipped")
        cells = " | ".join(str(counts.get(c, 0)) for c in COLUMNS)
        lines.append(f"| {label} | {tried} | {cells} | {counts.get('skipped', 0)} |")
    return "\n".join(lines)


def main() -> None:
    """Run both checkouts and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--before", required=True, help="git revision to compare with")
    ap.add_argument("--json", type=Path, help="write every outcome here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        root = Path(tmp)
        world = build_world(root / "world")
        ensure_model(world)
        before_src = extract_src(args.before, root / "before")
        start = time.monotonic()
        results = {
            f"before ({args.before[:7]})": run_all(world, root / "b", before_src),
            "after (this checkout)": run_all(world, root / "a", None),
        }
        seconds = time.monotonic() - start
    print(table(results))
    print(f"\n{len(CASES)} cases x 2 runs in {seconds:.0f} s\n")
    (before, after) = results.values()
    for name in before:
        b, a = before[name], after[name]
        mark = "fixed" if b[0] not in GOOD and a[0] in GOOD else ""
        print(f"| {name} | {b[0]} | {a[0]} | {a[1][:110]} | {mark}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
