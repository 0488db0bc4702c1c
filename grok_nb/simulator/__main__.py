"""``python -m grok_nb.simulator``: run the simulator in the foreground."""

from __future__ import annotations

import sys

from .command import main

sys.exit(main())
