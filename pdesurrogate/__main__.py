"""``python -m pdesurrogate`` runs the ``pdesurrogate`` command."""

import sys

from .cli import main

sys.exit(main())
