"""``python -m napari_sleap`` runs the command line."""

import sys

from napari_sleap.cli import main

sys.exit(main())
