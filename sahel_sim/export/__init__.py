"""Exports of a run's results for other models (``sahel-sim export``)."""
