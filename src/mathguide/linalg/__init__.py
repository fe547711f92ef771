"""Numerical linear algebra: the matrix computations course and low-rank approximation (book part "Matrix computations")."""

__all__: list[str] = []
