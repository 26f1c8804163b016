"""What the demo's steps share: the :class:`DemoContext` and :class:`Step`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from napari_sleap.sample import SamplePaths


@dataclass
class DemoContext:
    """What the steps share: where things go and what earlier steps made.

    Attributes:
        out: Folder for the demo's results (models, predictions, pictures).
        sample_dir: Folder the sample is made in.
        n_frames: Frames in the sample.
        size: Frame side in pixels.
        quick: Tiny model and few steps (tests): checks the loop, not accuracy.
        fresh: Redo every step even where its outputs exist.
        max_train_minutes: Wall-clock cap on training (None: no cap).
        sample: The sample's files, once the ``sample`` step ran.
        labels_to_show: The ``.slp`` the ``view`` step opens (the ``track``
            step points it at the tracked predictions).
        dirty: Set once a step really ran, so that later steps redo too.
        results: Anything a step wants in ``summary.json``, by step name.
    """

    out: Path
    sample_dir: Path
    n_frames: int = 400
    size: int = 384
    quick: bool = False
    fresh: bool = False
    max_train_minutes: float | None = None
    sample: SamplePaths | None = None
    labels_to_show: Path | None = None
    dirty: bool = False
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def models_dir(self) -> Path:
        """Folder of the trained model folders (one per role)."""
        return self.out / "models"

    @property
    def predictions(self) -> Path:
        """Untracked predictions on the held-out frames."""
        return self.out / "predictions.slp"

    @property
    def tracked(self) -> Path:
        """The predictions with tracks."""
        return self.out / "tracked.slp"


@dataclass(frozen=True)
class Step:
    """One demo step: a name, its function and the files it makes.

    The function returns the step's one-line summary; a rerun skips the step
    while its files all exist.
    """

    name: str
    run: Callable[[DemoContext], str]
    outputs: Callable[[DemoContext], list[Path]] | None = None
