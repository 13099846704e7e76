"""``python -m node`` is the ``idnode`` command."""

import sys

from .cli import main

sys.exit(main())
