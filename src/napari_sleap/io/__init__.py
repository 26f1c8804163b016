"""Video and label files: lazy video readers, zarr caches, sleap-io helpers."""
