"""Synthetic-sample top-down with pose-balanced sampling off and on, short trainings.

``nice -n 10 .venv/bin/python bench/posebal_sample_steps.py 300 800`` trains the
top-down recipe of tests/fixtures/trained_sample.py (as
``bench/bench_pipelines_sample.py --only top-down``) for each step count twice,
the second time with ``optim.pose_balanced_sampling`` on for the centered
model, and scores the held-out frames. Issue 15: whether the option, a win on
the fly clip at 2,000 steps, costs the briefly trained models the tests share.
Writes ``bench/results/posebal_sample_steps.json``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_pipelines_sample as bps  # noqa: E402
import tests.fixtures.trained_sample as ts  # noqa: E402

ON = {"centered_instance": {"optim": {"pose_balanced_sampling": {"enabled": True}}}}
KEYS = ("oks_map", "detection_recall", "error_p50", "error_p90", "instances")


def main() -> int:
    """Train and score each step count off and on; print a line each."""
    from napari_sleap.sample import ensure_sample

    base_recipe, switch = ts.recipe, {"on": False}

    def recipe(pipeline: str, steps: int = ts.TEST_STEPS) -> dict:
        out = base_recipe(pipeline, steps)
        return ts._merge(out, ON) if switch["on"] else out

    ts.recipe = recipe  # train() reads the recipe through the module
    work = Path(tempfile.mkdtemp(prefix="posebal_"))
    two = ensure_sample(work / "two", n_frames=ts.N_FRAMES, size=ts.SIZE)
    runs = []
    for steps in [int(a) for a in sys.argv[1:]] or [300, 800]:
        for on in (False, True):
            switch["on"] = on
            r = bps.run_one("top-down", {"two": two}, work / f"{steps}_{on}", steps)
            r["pose_balanced"] = on
            print(steps, "on" if on else "off", {k: r.get(k) for k in KEYS}, flush=True)
            runs.append(r)
    out = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": bps.MACHINE,
        "command": " ".join(["bench/posebal_sample_steps.py", *sys.argv[1:]]),
        "runs": runs,
    }
    path = ROOT / "bench" / "results" / "posebal_sample_steps.json"
    path.write_text(json.dumps(out, indent=1, default=str))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
