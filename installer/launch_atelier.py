"""Entry script for the PyInstaller bundle: the same `atelier` command as the console script."""

import sys

from atelier.cli import main

if __name__ == "__main__":
    sys.exit(main())
