"""``python -m sahel_sim`` is the ``sahel-sim`` command."""

from sahel_sim.cli import entry

entry()
