"""Constrained optimisation with the KKT conditions (book part "Optimization")."""

from mathguide._exports import reexport

_MODULES = (
    "kkt",  # kkt.md
    "water_filling",  # kkt.md
)

__all__ = reexport(__name__, _MODULES, globals())
