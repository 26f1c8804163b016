"""The resume fingerprint: options added later leave older model folders resumable."""

from __future__ import annotations

import copy

from napari_sleap.config import base
from napari_sleap.config.training import pipeline_configs
from napari_sleap.train import fit


def test_unset_patch_size_hashes_as_in_folders_from_before_it(monkeypatch):
    """A centroid folder trained before ``train_patch_size`` existed still resumes."""
    cfg = pipeline_configs("top-down")["centroid"]
    assert cfg.data.train_patch_size is None
    now = fit.config_hash(cfg)

    def without_the_field(config):  # how configs serialized before the field
        data = base.to_dict(config)
        data["data"].pop("train_patch_size")
        return data

    monkeypatch.setattr(fit, "to_dict", without_the_field)
    assert fit.config_hash(cfg) == now
    monkeypatch.undo()
    patched = copy.deepcopy(cfg)
    patched.data.train_patch_size = 320
    assert fit.config_hash(patched) != now


def test_train_on_val_off_hashes_as_in_folders_from_before_it(monkeypatch):
    """Folders trained before ``train_on_val`` existed resume; turning it on is new."""
    cfg = pipeline_configs("top-down")["centered_instance"]
    cfg.data.split.train_on_val = False
    off = fit.config_hash(cfg)

    def without_the_field(config):
        data = base.to_dict(config)
        data["data"]["split"].pop("train_on_val")
        return data

    monkeypatch.setattr(fit, "to_dict", without_the_field)
    assert fit.config_hash(cfg) == off
    monkeypatch.undo()
    on = copy.deepcopy(cfg)
    on.data.split.train_on_val = True
    assert fit.config_hash(on) != off
