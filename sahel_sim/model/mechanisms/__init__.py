"""The model's mechanisms, one module each (docs/ODD.md maps each to its source).

Each module holds one mechanism's pure kernels (arrays, parameters and a Generator in, arrays
out); its constants are the matching block of the scenario schema
(``sahel_sim/config/schema.py``), each with a unit and a source or "calibrated".
``SahelModel.step`` calls them in the order of the ODD schedule:

=============  ==================================================  ====================
module         mechanism                                           schema block
=============  ==================================================  ====================
posture        garrisons, dated bases, reinforcement by threat     ``posture``
movement       armed-group units reposition inside their area      ``expansion``
territory      security, influence and control                     ``vacuum``
strikes        attacks and operations within reach, by target      ``combat``
civilians      selective violence where control is contested       ``civilians``
combat         stochastic attrition and fatalities                 ``combat``
peacekeeping   protection, deterrence, peacekeepers as targets     ``peacekeeping``
accord         hostility: the accord, its guarantor, the rivalry   ``accord``, ``rivalry``
grievance      grievance and support                               ``grievance``
recruitment    social-base pools, ceilings, funding                ``recruitment``, ``funding``
expansion      diffusion of a saturated group along routes         ``expansion``
displacement   flight and return                                   ``displacement``
=============  ==================================================  ====================
"""
