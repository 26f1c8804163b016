"""Labels <-> napari layer data (Points, edges, Tracks) and looks; no napari import."""
