"""Which inference engine and precision ``auto`` runs, and loading it.

Measured on the 2-core CPU with AMX (docs/benchmarks.md, bench/bench_portable.py):
the portable engine computing in bfloat16 runs the trained top-down 2.5-3x
faster than the float32 predictor at the same accuracy; in float32 the two
engines are equally fast. So ``auto`` picks the portable engine in bfloat16
where the CPU computes bfloat16 natively (AMX-BF16 or AVX512-BF16) and the
pipeline is top-down, and the float32 predictor everywhere else: other
pipelines, CPUs without native bfloat16 (emulated bfloat16 is slow) and GPUs
(nothing measured there with TensorFlow yet). Under ``KERAS_BACKEND=jax`` or
``torch`` only the portable engine runs, in float32 (bfloat16 measured no
faster on JAX). An engine asked for by name runs in float32 unless a precision
is asked for too. Test-time augmentation (``--tta``) runs on either engine
and does not change the choice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: CPU flags (``/proc/cpuinfo``) of native bfloat16 arithmetic oneDNN uses.
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
#: Pipelines whose bfloat16 speed and accuracy were measured (docs/benchmarks.md).
BF16_PIPELINES = ("top-down",)
ENGINES = ("auto", "predictor", "portable")
PRECISIONS = ("auto", "float32", "bfloat16")


@dataclass(frozen=True)
class EngineChoice:
    """The engine and precision a run uses, and why.

    Attributes:
        engine: ``predictor`` (TensorFlow layers) or ``portable`` (keras.ops).
        precision: ``float32``, ``bfloat16`` or ``float16``.
        reason: one line saying why, for the log and the predict output.
    """

    engine: str
    precision: str
    reason: str

    @property
    def mixed_precision(self) -> bool | str:
        """The value the engines' ``mixed_precision`` option takes."""
        return {"float32": False, "float16": True}.get(self.precision, self.precision)

    def describe(self) -> str:
        """``engine portable (bfloat16): ...`` for the user."""
        return f"engine {self.engine} ({self.precision}): {self.reason}"


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` text (empty where unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return frozenset()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def native_bf16(flags: Iterable[str]) -> bool:
    """Whether the CPU computes bfloat16 natively (AMX-BF16 or AVX512-BF16)."""
    return bool(BF16_FLAGS & {f.lower() for f in flags})


def pipeline_of_dirs(model_dirs: Sequence[str | Path]) -> str | None:
    """The pipeline the model folders form, from their descriptions (no TF)."""
    from napari_sleap.config.roles import pipeline_of
    from napari_sleap.infer.model_io import load_model_info

    return pipeline_of(sorted(load_model_info(d).role for d in model_dirs))


def has_gpu(backend: str) -> bool:
    """Whether the Keras backend computes on a GPU (imports that backend)."""
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() != "cpu"
    if backend == "torch":
        import torch

        return bool(torch.cuda.is_available())
    return False


def choose_engine(
    engine: str = "auto",
    precision: str = "auto",
    *,
    pipeline: str | None,
    backend: str,
    gpu: bool,
    flags: Iterable[str],
    tta: str = "none",
    float16: bool = False,
) -> EngineChoice:
    """Resolve ``auto`` engine / precision for this machine and pipeline.

    Args:
        engine: ``auto``, ``predictor`` or ``portable``.
        precision: ``auto``, ``float32`` or ``bfloat16`` (``bfloat16`` needs the
            portable engine).
        pipeline: ``top-down``, ``bottom-up``, ... (None: not known).
        backend: the Keras backend (``tensorflow``, ``jax``, ``torch``).
        gpu: whether that backend sees a GPU.
        flags: the CPU's flags (:func:`cpu_flags`).
        tta: test-time augmentation asked for; both engines offer it (top-down
            only), so it does not change the choice.
        float16: ``--mixed-precision`` asked for (float16).

    Raises:
        ValueError: a combination no engine offers, naming the fix.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision {precision!r}; choose one of {', '.join(PRECISIONS)}"
        )
    if float16 and precision == "bfloat16":
        raise ValueError("float16 and bfloat16 both asked for. Fix: choose one")
    if backend != "tensorflow" and engine == "predictor":
        raise ValueError(
            f"the predictor engine needs TensorFlow, KERAS_BACKEND is {backend}."
            " Fix: use the portable engine or KERAS_BACKEND=tensorflow"
        )
    if engine == "predictor" and precision == "bfloat16":
        raise ValueError(
            "bfloat16 is offered by the portable engine only. Fix: use the "
            "portable (or auto) engine"
        )
    fixed = "float16" if float16 else None
    if fixed is None and precision != "auto":
        fixed = precision
    if engine != "auto":  # asked for by name: float32 unless told otherwise
        return EngineChoice(engine, fixed or "float32", "as asked")
    if backend != "tensorflow":
        return EngineChoice(
            "portable",
            fixed or "float32",
            f"the predictor needs TensorFlow, not {backend}",
        )
    if fixed == "bfloat16":
        return EngineChoice("portable", "bfloat16", "bfloat16 asked for")
    if fixed:
        return EngineChoice("predictor", fixed, f"{fixed} asked for")
    if gpu:
        return EngineChoice(
            "predictor", "float32", "on a GPU (portable/bfloat16 not measured there)"
        )
    if not native_bf16(flags):
        return EngineChoice(
            "predictor", "float32", "no native bfloat16 on this CPU (AMX/AVX512-BF16)"
        )
    if pipeline not in BF16_PIPELINES:
        return EngineChoice(
            "predictor",
            "float32",
            f"bfloat16 measured for {', '.join(BF16_PIPELINES)} only, not {pipeline}",
        )
    return EngineChoice(
        "portable",
        "bfloat16",
        "the CPU computes bfloat16 natively (AMX/AVX512-BF16): 2.5-3x faster "
        "at the same accuracy",
    )


def resolve(
    model_dirs: Sequence[str | Path],
    engine: str = "auto",
    precision: str = "auto",
    *,
    tta: str = "none",
    float16: bool = False,
) -> EngineChoice:
    """:func:`choose_engine` for these model folders on this machine."""
    from napari_sleap.infer.portable.compiled import backend_name

    backend = backend_name()
    pipeline = None
    if engine == "auto":
        try:
            pipeline = pipeline_of_dirs(model_dirs)
        except Exception:  # unreadable description: the loader will say why
            pipeline = None
    return choose_engine(
        engine,
        precision,
        pipeline=pipeline,
        backend=backend,
        gpu=has_gpu(backend),
        flags=cpu_flags(),
        tta=tta,
        float16=float16,
    )


def load_chosen(
    model_dirs: Sequence[str | Path],
    options: Any = None,
    engine: str = "auto",
    precision: str = "auto",
) -> tuple[Any, EngineChoice]:
    """Load a :class:`~napari_sleap.infer.predictor.Predictor` on the chosen engine.

    Args:
        model_dirs: the pipeline's model folders.
        options: :class:`~napari_sleap.infer.predictor.PredictorOptions`
            (``mixed_precision`` True asks for float16).
        engine: ``auto``, ``predictor`` or ``portable``.
        precision: ``auto``, ``float32`` or ``bfloat16``.

    Returns:
        ``(predictor, choice)``; the predictor's ``options.mixed_precision``
        says the precision it computes in.
    """
    from napari_sleap.infer.predictor import Predictor, PredictorOptions

    options = options or PredictorOptions()
    dirs = [str(d) for d in model_dirs]
    choice = resolve(
        dirs,
        engine,
        precision,
        tta=options.tta,
        float16=options.mixed_precision is True,
    )
    log.info("inference %s", choice.describe())
    options = replace(options, mixed_precision=choice.mixed_precision)
    if choice.engine == "predictor":
        return Predictor.from_model_dirs(dirs, options), choice
    from napari_sleap.infer.portable import load_portable

    kw = {f.name: getattr(options, f.name) for f in fields(options)}
    return load_portable(dirs, **kw).predictor, choice
