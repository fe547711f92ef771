"""Maps from scores to the probability simplex: softmax and its alternatives (book part "Maps onto the simplex")."""

from mathguide._exports import reexport

_MODULES = (
    "softmax",  # softmax-alternatives.md
    "sparsemax",  # sparsemax-entmax.md
    "entmax",  # sparsemax-entmax.md
    "margins",  # softmax-alternatives.md
    "topk",  # soft-topk.md
)

__all__ = reexport(__name__, _MODULES, globals())
