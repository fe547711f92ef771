"""Monte-Carlo estimation: KL-divergence estimators and importance sampling (book part "Monte Carlo")."""

from mathguide._exports import reexport

_MODULES = (
    "kl",  # kl-estimators.md
    "importance",  # importance-sampling.md
)

__all__ = reexport(__name__, _MODULES, globals())
