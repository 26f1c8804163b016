"""The built-in bottom-up profile keeps the recipe that learned on the fly clip.

Issue 15 (docs/benchmarks.md, bench/bench_fly_bottomup.py): with learning rate
1e-4 and confmap sigma 2.5 input px (0.6 of a cell at output stride 4) no node's
map reached the peak threshold after 250 steps and no fly was found; with
1e-3 and sigma 5 both flies were located in 78 of 80 validation frames.
"""

from __future__ import annotations

from napari_sleap.config.training import pipeline_configs


def test_bottom_up_profile_loads_with_a_recipe_that_learns_in_cpu_minutes():
    cfg = pipeline_configs("bottom-up")["bottom_up"]
    unet = cfg.model.backbone.unet
    heads = cfg.model.heads
    # Confidence maps at least one output cell wide: narrower ones stayed flat.
    assert heads.confmaps.sigma / unet.output_stride >= 1.0
    assert cfg.optim.learning_rate >= 5e-4
    # The fields are coarser than the maps and wider than their cells.
    assert heads.pafs.output_stride >= unet.output_stride
    assert heads.pafs.sigma >= 0.5 * heads.pafs.output_stride
    assert cfg.data.max_input_size == 512  # 1024-px fly frames at half size


def test_bottom_up_profile_trains_on_full_resolution_patches():
    """Issue 15: 320-px patches at scale 1.0 beat the half-size whole frame.

    At 1,000 steps (less CPU than the whole-frame profile's 10 minutes) they
    found both flies in 80/80 validation frames at OKS mAP 0.30 (whole frame:
    0.001); the patch must hold a fly and be cut at full resolution.
    """
    cfg = pipeline_configs("bottom-up")["bottom_up"]
    assert cfg.data.train_patch_size is not None
    assert 256 <= cfg.data.train_patch_size <= cfg.data.max_input_size
    assert cfg.data.input_scale in (None, 1.0)  # null: 1.0 for patches <= 512
