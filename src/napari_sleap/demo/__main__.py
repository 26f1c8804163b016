"""Entry point for ``python -m napari_sleap.demo``."""

import sys

from napari_sleap.demo.run import main

sys.exit(main())
