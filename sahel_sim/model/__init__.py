"""The conflict model: SahelModel (a mesa.Model), its agents and its array kernels."""

from sahel_sim.model.model import SahelModel, total_population

__all__ = ["SahelModel", "total_population"]
