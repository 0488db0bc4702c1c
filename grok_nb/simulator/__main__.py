"""``python -m grok_nb.simulator``: run the simulator in the foreground."""

from __future__ import annotations

import sys

from grok_nb.simulator.command import main

sys.exit(main())
