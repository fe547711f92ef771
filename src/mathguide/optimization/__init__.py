"""Constrained optimisation with the KKT conditions (book part "Optimization")."""

__all__: list[str] = []
