"""Constrained optimisation with the KKT conditions (book part "Optimization")."""

__all__: list[str] = []

# Chapter "The KKT cookbook" (chapters/optimization/kkt.md).
from mathguide.optimization.kkt import (
    ConstrainedProblem,
    KKTPoint,
    KKTResiduals,
    Multipliers,
    estimate_multipliers,
    kkt_residuals,
    licq_holds,
    mfcq_holds,
    project_to_simplex,
    quadratic_program,
    scipy_constraints,
    solve_by_active_sets,
)
from mathguide.optimization.water_filling import WaterFilling, water_filling

__all__ += [
    "ConstrainedProblem",
    "KKTPoint",
    "KKTResiduals",
    "Multipliers",
    "WaterFilling",
    "estimate_multipliers",
    "kkt_residuals",
    "licq_holds",
    "mfcq_holds",
    "project_to_simplex",
    "quadratic_program",
    "scipy_constraints",
    "solve_by_active_sets",
    "water_filling",
]
