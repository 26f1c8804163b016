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
