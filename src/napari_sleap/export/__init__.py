"""Exports of labels and predictions for analysis outside SLEAP (numpy/h5py; no TF).

``analysis_h5`` writes SLEAP's analysis HDF5 layout, ``csv`` a tidy table and
``nwb`` writes one ndx-pose file per animal (or sleap-io's training
annotations) and ``dlc`` a DeepLabCut project folder. Every export is atomic.
"""

from __future__ import annotations

#: ``--format`` names and the default file ending each writes.
FORMATS: dict[str, str] = {
    "analysis-h5": ".analysis.h5",
    "csv": ".csv",
    "nwb": ".nwb",
    "dlc": "-dlc",  # a DeepLabCut project folder
}
