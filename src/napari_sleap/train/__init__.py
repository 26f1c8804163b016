"""Training: labels in, a model folder out."""
