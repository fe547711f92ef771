"""Gradients of expectations: score-function, pathwise, Gumbel-softmax (part "Gradients through randomness")."""

from mathguide._exports import reexport

_MODULES = (
    "score_pathwise",  # score-and-pathwise.md
    "gumbel_softmax",  # gumbel-softmax.md
)

__all__ = reexport(__name__, _MODULES, globals())
