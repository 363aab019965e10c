"""`python -m atelier` runs the same entry point as the `atelier` console script."""

import sys

from atelier.cli import main

sys.exit(main())
