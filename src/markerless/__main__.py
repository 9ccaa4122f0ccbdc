"""``python -m markerless``: the same as the ``markerless`` command."""

import sys

from markerless.cli import main

sys.exit(main())
