"""``python -m sahel_sim`` is the ``sahel-sim`` command."""

import sys

from sahel_sim.cli import main

sys.exit(main())
