"""``python -m node`` is the ``idnode`` command."""

import sys

from .cli import main

# Guarded: the sealing pool's processes import the main module when they start.
if __name__ == "__main__":
    sys.exit(main())
