"""Pure array operations of inference: peaks, refinement, crops, PAF grouping, ids.

Everything here is numpy/scipy on host arrays so it runs while the next batch is
in the network, and so it is tested without TensorFlow.
"""
