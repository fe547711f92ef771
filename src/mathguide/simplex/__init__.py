"""Maps from scores to the probability simplex: softmax and its alternatives (book part "Maps onto the simplex")."""

from mathguide.simplex.entmax import (
    entmax15,
    entmax15_threshold,
    entmax_bisect,
    entmax_bisect_threshold,
    entmax_vjp,
)
from mathguide.simplex.softmax import (
    gumbel_max_sample,
    log_softmax,
    margin_logits,
    margin_softmax,
    perturb_max_sample,
    softmax,
    softmax_vjp,
    taylor_softmax,
    topk_softmax,
)
from mathguide.simplex.sparsemax import (
    sparsemax,
    sparsemax_loss,
    sparsemax_threshold,
    sparsemax_vjp,
)

__all__: list[str] = []
__all__ += [
    "gumbel_max_sample",
    "log_softmax",
    "margin_logits",
    "margin_softmax",
    "perturb_max_sample",
    "softmax",
    "softmax_vjp",
    "taylor_softmax",
    "topk_softmax",
]
__all__ += [
    "entmax15",
    "entmax15_threshold",
    "entmax_bisect",
    "entmax_bisect_threshold",
    "entmax_vjp",
    "sparsemax",
    "sparsemax_loss",
    "sparsemax_threshold",
    "sparsemax_vjp",
]
