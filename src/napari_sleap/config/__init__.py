"""Typed training and inference configs with YAML load/save."""
