"""Training data: labels -> augmented images and targets -> tf.data.

Everything here except ``pipeline`` is numpy/OpenCV only, so targets and
augmentation are tested without TensorFlow.
"""
