"""Numerical linear algebra: matrix computations and low-rank approximation (book part "Matrix computations")."""

from mathguide._exports import reexport

# One module per chapter (chapters/linalg/<topic>.md); add a new module here and its __all__ is
# re-exported. `matrices` holds the test matrices the chapters share.
_MODULES = (
    "floating_point",  # floating-point.md
    "matrices",  # test matrices (floating-point.md and later chapters)
    "lu",  # lu.md
    "cholesky",  # cholesky.md
    "qr",  # qr.md (Householder reflectors and Givens rotations, also used by later chapters)
    "eigen_basics",  # eigen-basics.md
    "power_iteration",  # power-iteration.md
    "qr_algorithm",  # qr-algorithm.md
    "symmetric_eigen",  # symmetric-eigen.md
    "jacobi_eigen",  # jacobi.md
    "svd",  # svd.md
    "stationary",  # stationary-iterations.md
    "conjugate_gradient",  # conjugate-gradient.md
    "krylov",  # krylov.md
    "condition_estimation",  # condition-estimation.md
    "gram_schmidt",  # gram-schmidt.md
    "least_squares",  # least-squares.md
    "pinv",  # pseudo-inverse.md
    "lowrank",  # pseudo-inverse.md
)

__all__ = reexport(__name__, _MODULES, globals())
