"""Identity tracking and track proofreading (numpy/scipy; no TensorFlow)."""
