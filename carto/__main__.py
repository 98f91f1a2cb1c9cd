"""``python -m carto``."""

import sys

from carto.cli import main

sys.exit(main())
