"""``python -m pulsecl``: the same as the ``pulsecl`` command."""

import sys

from pulsecl.cli import main

sys.exit(main())
