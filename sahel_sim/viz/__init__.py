"""Browser app, static figures and animations (matplotlib; solara only in ``viz.app``).

Import submodules directly; this package imports nothing heavy on purpose.
"""
