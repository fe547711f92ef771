"""Numerical linear algebra: the matrix computations course and low-rank approximation (book part "Matrix computations")."""

__all__: list[str] = []

# Floating point and conditioning (chapters/linalg/floating-point.md).
from mathguide.linalg.floating_point import (
    Float64Fields,
    condition_number,
    float64_fields,
    matrix_norm,
    norm_equivalence_constant,
    normwise_backward_error,
    one_minus_cos_ratio_naive,
    one_minus_cos_ratio_stable,
    perturbation_bound,
    relative_condition_number,
    relative_forward_error,
    solve_exact_rational,
    unit_roundoff,
    vector_norm,
)

__all__ += [
    "Float64Fields",
    "condition_number",
    "float64_fields",
    "matrix_norm",
    "norm_equivalence_constant",
    "normwise_backward_error",
    "one_minus_cos_ratio_naive",
    "one_minus_cos_ratio_stable",
    "perturbation_bound",
    "relative_condition_number",
    "relative_forward_error",
    "solve_exact_rational",
    "unit_roundoff",
    "vector_norm",
]

# Triangular systems and LU (chapters/linalg/lu.md); SPD systems (chapters/linalg/cholesky.md).
from mathguide.linalg.cholesky import (
    LDL,
    NotPositiveDefiniteError,
    cholesky,
    cholesky_solve,
    ldl,
    solve_tridiagonal,
)
from mathguide.linalg.lu import (
    LU,
    LUComplete,
    Refinement,
    SingularMatrixError,
    back_substitution,
    determinant,
    forward_substitution,
    growth_factor,
    iterative_refinement,
    lu,
    lu_blocked,
    lu_solve,
    solve,
)

__all__ += [
    "LDL",
    "LU",
    "LUComplete",
    "NotPositiveDefiniteError",
    "Refinement",
    "SingularMatrixError",
    "back_substitution",
    "cholesky",
    "cholesky_solve",
    "determinant",
    "forward_substitution",
    "growth_factor",
    "iterative_refinement",
    "ldl",
    "lu",
    "lu_blocked",
    "lu_solve",
    "solve",
    "solve_tridiagonal",
]

# The pseudo-inverse and low-rank approximation (chapters/linalg/pseudo-inverse.md).
from mathguide.linalg.lowrank import TruncatedSVD, randomized_range_finder, randomized_svd, truncated_svd
from mathguide.linalg.pinv import (
    PenroseResiduals,
    lstsq_min_norm,
    penrose_residuals,
    pinv_normal_equations,
    pinv_svd,
    pinv_tikhonov,
)

__all__ += [
    "PenroseResiduals",
    "TruncatedSVD",
    "lstsq_min_norm",
    "penrose_residuals",
    "pinv_normal_equations",
    "pinv_svd",
    "pinv_tikhonov",
    "randomized_range_finder",
    "randomized_svd",
    "truncated_svd",
]
