"""``python -m affectmetrics``: the command line (see :mod:`affectmetrics.cli`).

With no arguments it prints the full report of the example predictions shipped with the
package (a simulated model; see :mod:`affectmetrics.examples`).
"""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
