"""``napari-sleap export-model MODEL_DIR -o OUT --format savedmodel|onnx``."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``export-model`` subcommand."""
    p = subparsers.add_parser(
        "export-model",
        help="export a trained model as a TensorFlow SavedModel or ONNX",
        description=(
            "Export one model folder for use outside napari-sleap. The exported "
            "graph takes float32 frames in [0, 1] of shape (batch, H, W, C), "
            "resizes and pads them as napari-sleap does, and returns the head "
            "maps (confmaps, pafs, ...). Skeleton, strides and input scale travel "
            "with it as JSON (napari_sleap_export.json in the SavedModel folder, "
            "the napari_sleap_export metadata entry of the ONNX file). ONNX needs "
            "the tf2onnx and onnx packages (pip install 'napari-sleap[onnx]')."
        ),
    )
    p.add_argument("model_dir", type=Path, help="model folder (ours or SLEAP 1.x)")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="SavedModel folder, or a .onnx file",
    )
    p.add_argument(
        "--format", required=True, choices=("savedmodel", "onnx"), help="format"
    )
    p.add_argument(
        "--frame-size",
        type=int,
        nargs=2,
        metavar=("HEIGHT", "WIDTH"),
        help="input frame size (required for full-frame models; centered-instance "
        "models default to their crop size)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier export at -o (never anything else)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Export and print what was written."""
    from napari_sleap.infer.model_export import export_model

    if args.format == "onnx":
        missing = _missing_onnx_packages()
        if missing:
            raise ValueError(
                f"--format onnx needs the package(s) {', '.join(missing)}. Fix: pip "
                "install 'napari-sleap[onnx]', or use --format savedmodel"
            )
    spec = export_model(
        args.model_dir,
        args.output,
        args.format,
        frame_size=tuple(args.frame_size) if args.frame_size else None,
        overwrite=args.overwrite,
    )
    h, w = spec.frame_size
    heads = ", ".join(
        f"{k} ({v.channels} ch, stride {v.output_stride})"
        for k, v in spec.info.heads.items()
    )
    print(
        f"wrote {args.output}: {spec.info.role} model, input image float32 "
        f"[0, 1] (batch, {h}, {w}, {spec.info.input_channels}); outputs {heads}"
    )
    return 0


def _missing_onnx_packages() -> list[str]:
    import importlib.util

    return [m for m in ("tf2onnx", "onnx") if importlib.util.find_spec(m) is None]
