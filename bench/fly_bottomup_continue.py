"""Continue a finished fixed-step bottom-up fly model for more steps (issue 15).

``.venv/bin/python bench/fly_bottomup_continue.py bench/fly_bottomup_lr_sigma.yaml
out/bu15/lr_sigma_250 out/bu15/lr_sigma_500`` trains the recipe of the YAML
(``optim.epochs`` x 50 more steps) starting from ``<from>/bottom_up/best.keras``
into ``<out>/bottom_up``. A finished run cannot be resumed, so this starts the
optimizer afresh (Adam moments and the plateau schedule reset): close to, not
the same as, one uninterrupted run.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_sleap.config.training import pipeline_configs, read_overrides  # noqa: E402
from napari_sleap.train.fit import fit_prepared  # noqa: E402
from napari_sleap.train.prepare import load_training_labels, prepare  # noqa: E402

LABELS = ROOT.parent / "shared" / "data" / "clip_train.slp"


def main() -> int:
    config, start, out = (Path(a) for a in sys.argv[1:4])
    cfg = pipeline_configs("bottom-up", read_overrides(config), seed=0)["bottom_up"]
    tset = prepare(cfg, load_training_labels(LABELS), LABELS)
    fit_prepared(
        tset,
        out / "bottom_up",
        restart=True,
        verbose=True,
        init_from=start / "bottom_up" / "best.keras",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
