"""``python -m baselines``: see :mod:`baselines.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
