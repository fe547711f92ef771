"""Maps from scores to the probability simplex: softmax and its alternatives (book part "Maps onto the simplex")."""

__all__: list[str] = []
