"""Inference: predictors per pipeline, from model folders to sleap-io Labels."""
