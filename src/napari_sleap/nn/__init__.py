"""Neural network parts: backbones, heads, models, pure ops and data pipelines.

Only ``model_info`` is importable without TensorFlow.
"""
