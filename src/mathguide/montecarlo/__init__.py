"""Monte-Carlo estimation: KL-divergence estimators and importance sampling (book part "Monte Carlo")."""

__all__: list[str] = []
