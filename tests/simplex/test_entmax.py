"""Tests of mathguide.simplex.entmax (chapter chapters/simplex/sparsemax-entmax.md)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import softmax

from mathguide.seeding import seeded_rng
from mathguide.simplex.entmax import (
    DEFAULT_N_ITER,
    entmax15,
    entmax15_threshold,
    entmax_bisect,
    entmax_bisect_threshold,
    entmax_vjp,
)
from mathguide.simplex.sparsemax import sparsemax, sparsemax_threshold, sparsemax_vjp

EPS64 = np.finfo(np.float64).eps
# After n_iter halvings of a bracket shorter than 1, the threshold is known to 2^-n_iter.
BISECT_TAU_ERR = 2.0**-DEFAULT_N_ITER





def tol(dtype, n: int, scale: float = 1.0) -> float:
    """Rounding allowance: a few ulps per term of an n-term sum of numbers of size `scale`."""
    return 4 * n * np.finfo(dtype).eps * scale


def bisect_p_tol(alpha: float, n: int) -> float:
    """Error of entmax_bisect's output from its threshold error and rounding.

    d p_i / d tau = -(1/(alpha-1)) [z_i - tau]^((2-alpha)/(alpha-1)) and the bases lie in [0, 1], so
    for alpha <= 2 each p_i moves by at most |d tau| / (alpha - 1); renormalising at most doubles it.
    """
    return 2 * (BISECT_TAU_ERR + tol(np.float64, n)) / (alpha - 1) + tol(np.float64, n)


# --------------------------------------------------------------------------- simplex and shapes
@pytest.mark.parametrize("shape", [(1,), (1, 1), (6,), (3, 7), (2, 3, 4), (0, 5), (64, 300)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [1.5, 1.2, 2.0, 3.0])
def test_on_simplex(rng, shape, dtype, alpha):
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    for p in (entmax15(x), entmax_bisect(x, alpha)):
        assert p.dtype == dtype and p.shape == x.shape
        assert (p >= 0).all()
        np.testing.assert_allclose(p.sum(axis=-1), 1, rtol=0, atol=tol(dtype, shape[-1], 2))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_axis(rng, axis):
    x = rng.standard_normal((3, 4, 5))
    for f in (entmax15, lambda v, axis: entmax_bisect(v, 1.7, axis=axis)):
        expected = np.moveaxis(f(np.moveaxis(x, axis, -1), axis=-1), -1, axis)
        np.testing.assert_array_equal(f(x, axis=axis), expected)


def test_input_not_mutated(rng):
    x = rng.standard_normal((3, 5))
    x[1, 1] = -np.inf
    before = x.copy()
    entmax15(x)
    entmax_bisect(x, 1.3)
    entmax_bisect_threshold(x, 2.5)
    entmax15_threshold(x)
    np.testing.assert_array_equal(x, before)


# --------------------------------------------------------------------------- cross-checks
@pytest.mark.parametrize("scale", [0.01, 1.0, 5.0])
def test_entmax15_equals_bisection(rng, scale):
    x = scale * rng.standard_normal((100, 40))
    np.testing.assert_allclose(entmax15(x), entmax_bisect(x, 1.5), rtol=0, atol=bisect_p_tol(1.5, 40))


def test_thresholds_sort_and_bisection_agree(rng):
    x = 3 * rng.standard_normal((50, 30))
    x[:5, 0] = -np.inf
    # Both thresholds include the shift max((alpha-1) x), added back in floating point.
    scale = 1 + np.abs(x[np.isfinite(x)]).max()
    atol = BISECT_TAU_ERR + tol(np.float64, 30, scale)
    np.testing.assert_allclose(entmax_bisect_threshold(x, 1.5), entmax15_threshold(x), rtol=0, atol=atol)
    np.testing.assert_allclose(entmax_bisect_threshold(x, 2.0), sparsemax_threshold(x), rtol=0, atol=atol)


def test_bisection_on_long_rows(rng):
    # Long rows with a small support: the bisection drops most entries along the way.
    x = rng.standard_normal((20, 1000))
    np.testing.assert_allclose(entmax_bisect(x, 1.5), entmax15(x), rtol=0, atol=bisect_p_tol(1.5, 1000))
    np.testing.assert_allclose(entmax_bisect(x, 2.0), sparsemax(x), rtol=0, atol=bisect_p_tol(2.0, 1000))


def test_alpha_two_is_sparsemax(rng):
    x = 2 * rng.standard_normal((60, 25))
    np.testing.assert_allclose(entmax_bisect(x, 2.0), sparsemax(x), rtol=0, atol=bisect_p_tol(2.0, 25))


def test_threshold_equation(rng):
    x = rng.standard_normal((30, 20))
    for alpha in (1.5, 1.25, 4.0):
        tau = entmax_bisect_threshold(x, alpha, n_iter=60)
        base = np.maximum((alpha - 1) * x - tau[:, None], 0)
        total = np.sum(base ** (1 / (alpha - 1)), axis=-1)
        # |d total / d tau| <= n / (alpha - 1) with bases in [0, 1] (alpha <= 2); for alpha > 2 the
        # power is below 1 and the derivative is unbounded near 0, so compare after renormalising
        # instead: here the check is on the 1.5 and 1.25 rows and the sparsity pattern for 4.0.
        if alpha <= 2:
            atol = 20 * (2.0**-60 + EPS64) / (alpha - 1) + tol(np.float64, 20)
            np.testing.assert_allclose(total, 1, rtol=0, atol=atol)
        else:
            np.testing.assert_allclose(total, 1, rtol=0, atol=1e-6)
    tau15 = entmax15_threshold(x)
    total = np.sum(np.maximum(x / 2 - tau15[:, None], 0) ** 2, axis=-1)
    np.testing.assert_allclose(total, 1, rtol=0, atol=tol(np.float64, 20, 2))


def test_two_class_closed_form_entmax15():
    # For x = (t, 0) with both entries in the support, (t/2 - tau)^2 + tau^2 = 1 gives
    # p_1 = (t/2 - tau)^2 with tau = (t/2 - sqrt(2 - t^2/4)) / 2; the support is full iff |t| < 2.
    t = np.linspace(-1.99, 1.99, 399)
    x = np.stack([t, np.zeros_like(t)], axis=-1)
    tau = (t / 2 - np.sqrt(2 - t**2 / 4)) / 2
    np.testing.assert_allclose(entmax15(x)[:, 0], (t / 2 - tau) ** 2, rtol=0, atol=8 * EPS64)
    outside = np.array([[2.5, 0.0], [-3.0, 0.0]])
    np.testing.assert_array_equal(entmax15(outside), [[1.0, 0.0], [0.0, 1.0]])


def test_variational_oracle_scipy(rng):
    """entmax_alpha(x) = argmax <p, x> + H_alpha(p) with H_alpha(p) = (1 - sum p^alpha) / (alpha (alpha - 1))."""
    from scipy.optimize import minimize

    n = 5
    for alpha in (1.5, 1.3, 2.5):
        x = rng.standard_normal(n)

        def objective(p, alpha=alpha, x=x):
            q = np.maximum(p, 0)
            return -(q @ x + (1 - np.sum(q**alpha)) / (alpha * (alpha - 1)))

        def gradient(p, alpha=alpha, x=x):
            q = np.maximum(p, 0)
            return -(x - q ** (alpha - 1) / (alpha - 1))

        result = minimize(
            objective,
            np.full(n, 1 / n),
            jac=gradient,
            bounds=[(0, 1)] * n,
            constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1, "jac": lambda p: np.ones(n)}],
            method="SLSQP",
            options={"ftol": 1e-14, "maxiter": 500},
        )
        assert result.success
        # SLSQP stops at ftol on the objective: about sqrt(ftol) = 1e-7 on the solution.
        np.testing.assert_allclose(entmax_bisect(x, alpha), result.x, rtol=0, atol=1e-5)


def test_alpha_to_one_is_softmax(rng):
    """At alpha = 1 + eps, entmax = softmax plus a first-order term we can write down.

    With p_i = (1 + eps u_i)^(1/eps) and u_i = log softmax(x)_i + O(eps), log p_i = u_i - eps u_i^2/2
    + O(eps^2), so p - s = eps * d + O(eps^2) with s = softmax(x) and d = -(1/2) s (u^2 - <s, u^2>).
    No tolerance is tuned: the remainder r(eps) = p - s - eps d must shrink like eps^2, i.e. by a
    factor 100 when eps shrinks tenfold (we accept 50 to 200), while p - s itself shrinks like eps.
    The bisection's own error (2^-50 on tau, times 1/eps on p) is 1e-3 of r at eps = 1e-4.
    """
    x = rng.uniform(-3, 3, size=(20, 8))
    s = softmax(x, axis=-1)
    u2 = np.log(s) ** 2
    d = -0.5 * s * (u2 - np.sum(s * u2, axis=-1, keepdims=True))
    gap, rest = {}, {}
    for eps in (1e-3, 1e-4):
        p = entmax_bisect(x, 1 + eps)
        gap[eps] = np.abs(p - s).max()
        rest[eps] = np.abs(p - s - eps * d).max()
    assert 50 < rest[1e-3] / rest[1e-4] < 200  # second-order remainder
    assert 5 < gap[1e-3] / gap[1e-4] < 20  # first-order distance to softmax
    assert rest[1e-3] < 0.01 * gap[1e-3]  # the first-order term explains p - s


# --------------------------------------------------------------------------- edge cases
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ties_inf_and_huge_scores(dtype):
    eps = np.finfo(dtype).eps
    for f in (entmax15, lambda v: entmax_bisect(v, 1.5), lambda v: entmax_bisect(v, 3.0)):
        np.testing.assert_allclose(f(np.zeros((2, 4), dtype=dtype)), 0.25, rtol=0, atol=8 * eps)
        p = f(np.array([-np.inf, 1.0, 1.0], dtype=dtype))
        assert p[0] == 0
        np.testing.assert_allclose(p, [0, 0.5, 0.5], rtol=0, atol=8 * eps)
        huge = f(np.array([1e4, -1e4, 1e4 - 0.5], dtype=dtype))
        small = f(np.array([0.5, -np.inf, 0.0], dtype=dtype))
        assert huge[1] == 0
        np.testing.assert_allclose(huge, small, rtol=0, atol=8 * eps)
    # entmax-1.5 on (0.5, 0) by the closed form of test_two_class_closed_form_entmax15
    tau = (0.25 - np.sqrt(2 - 0.25**2)) / 2
    first = entmax15(np.array([1e4, 1e4 - 0.5, -1e4], dtype=dtype))[0]
    np.testing.assert_allclose(first, (0.25 - tau) ** 2, rtol=0, atol=16 * eps)


def test_alpha_close_to_one_does_not_overflow():
    x = np.array([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]])
    p = entmax_bisect(x, 1 + 1e-6)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(-1), 1, rtol=0, atol=tol(np.float64, 3))
    np.testing.assert_array_equal(p[0], [1.0, 0.0, 0.0])


# --------------------------------------------------------------------------- errors
def test_entmax_bisect_threshold_bad_arguments():
    with pytest.raises(ValueError, match="alpha must be a finite number > 1"):
        entmax_bisect_threshold([1.0, 2.0], 1.0)
    with pytest.raises(TypeError, match="alpha must be a real number"):
        entmax_bisect_threshold([1.0, 2.0], "1.5")
    with pytest.raises(ValueError, match="n_iter must be a positive integer"):
        entmax_bisect_threshold([1.0, 2.0], 1.5, n_iter=0)
    with pytest.raises(TypeError, match="n_iter must be a positive integer"):
        entmax_bisect_threshold([1.0, 2.0], 1.5, n_iter=True)
    with pytest.raises(ValueError, match="axis 1 is out of range"):
        entmax_bisect_threshold([1.0, 2.0], 1.5, axis=1)
    with pytest.raises(ValueError, match="empty axis"):
        entmax_bisect_threshold(np.zeros((2, 0)), 1.5)
    with pytest.raises(ValueError, match=r"\+inf"):
        entmax_bisect_threshold([1.0, np.inf], 1.5)
    with pytest.raises(ValueError, match="NaN"):
        entmax_bisect_threshold([1.0, np.nan], 1.5)
    with pytest.raises(TypeError, match="x must be array-like of real numbers"):
        entmax_bisect_threshold(["a", "b"], 1.5)
    with pytest.raises(TypeError, match="positional"):
        entmax_bisect_threshold([1.0, 2.0], 1.5, 0)  # axis is keyword-only


def test_bad_arguments():
    for alpha in (1, 1.0, 0.5, -2.0):
        with pytest.raises(ValueError, match="alpha must be a finite number > 1"):
            entmax_bisect([1.0, 2.0], alpha)
    with pytest.raises(ValueError, match="alpha must be finite"):
        entmax_bisect([1.0, 2.0], np.inf)
    with pytest.raises(ValueError, match="alpha must not be NaN"):
        entmax_bisect([1.0, 2.0], np.nan)
    for alpha in ("2", None, True):
        with pytest.raises(TypeError, match="alpha must be a real number"):
            entmax_bisect([1.0, 2.0], alpha)
    with pytest.raises(ValueError, match="alpha must be a finite number > 1"):
        entmax_vjp([0.5, 0.5], [1.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="n_iter must be a positive integer"):
        entmax_bisect([1.0, 2.0], 1.5, n_iter=0)
    with pytest.raises(TypeError, match="n_iter must be a positive integer"):
        entmax_bisect([1.0, 2.0], 1.5, n_iter=2.5)
    for f in (entmax15, lambda v: entmax_bisect(v, 1.5), entmax15_threshold):
        with pytest.raises(ValueError, match="empty axis"):
            f(np.zeros((2, 0)))
        with pytest.raises(ValueError, match="finite entry"):
            f([-np.inf, -np.inf])
        with pytest.raises(ValueError, match=r"\+inf"):
            f([np.inf, 0.0])
    with pytest.raises(ValueError, match="grad must have the shape of y"):
        entmax_vjp([0.5, 0.5], [1.0], 1.5)


# --------------------------------------------------------------------------- backward pass
def _away_from_kinks(rng, alpha, rows, n, margin):
    """Rows whose bases (alpha-1) x_i - tau all stay `margin` away from 0 (a smooth piece)."""
    x = 0.5 * rng.standard_normal((60 * rows, n))
    tau = entmax_bisect_threshold(x, alpha, n_iter=60)
    bases = (alpha - 1) * x - tau[:, None]
    # a smooth piece, and at least two classes in the support (with one, the Jacobian is zero)
    usable = (np.abs(bases).min(axis=-1) > margin) & ((bases > 0).sum(axis=-1) >= 2)
    keep = x[usable][:rows]
    assert keep.shape[0] == rows
    return keep


@pytest.mark.parametrize("alpha", [1.5, 1.25, 1.8, 2.0, 3.0])
def test_vjp_against_central_differences(rng, alpha):
    n, h = 6, 1e-5
    x = _away_from_kinks(rng, alpha, 4, n, margin=1e-2)
    g = rng.standard_normal(x.shape)

    def forward(v):
        return entmax15(v) if alpha == 1.5 else entmax_bisect(v, alpha, n_iter=60)

    vjp = entmax_vjp(forward(x), g, alpha)
    eye = np.eye(n)
    fd = np.stack(
        [((forward(x + h * eye[j]) - forward(x - h * eye[j])) * g).sum(-1) / (2 * h) for j in range(n)],
        axis=-1,
    )
    # Central differences: truncation h^2 |f'''| / 6 plus rounding (forward error) / h. With bases at
    # least `margin` = 1e-2 and at most 1, the derivatives of t -> t^(1/(alpha-1)) up to third order are
    # at most margin^(1/(alpha-1) - 3) / (alpha-1)^3 <= 1e6 for these alphas; the forward error is
    # the bisection's 2^-60 (or rounding) times 1/(alpha - 1).
    trunc = h**2 / 6 * 1e6 * n
    rounding = 2 * (2.0**-60 + 8 * n * EPS64) / (alpha - 1) / h * n
    np.testing.assert_allclose(vjp, fd, rtol=0, atol=(trunc + rounding) * np.abs(g).max())


def test_vjp_special_cases(rng):
    x = rng.standard_normal((5, 7))
    g = rng.standard_normal((5, 7))
    # alpha = 2: s is the support indicator, the sparsemax rule.
    y2 = sparsemax(x)
    np.testing.assert_allclose(entmax_vjp(y2, g, 2.0), sparsemax_vjp(y2, g), rtol=0, atol=tol(np.float64, 7, 4))
    # alpha -> 1: s = y^(2 - alpha) -> y, the softmax rule y * (g - <y, g>); y^(1-alpha) = 1 + O((alpha-1) log y).
    ys = softmax(x, axis=-1)
    alpha = 1 + 1e-9
    softmax_rule = ys * (g - np.sum(ys * g, axis=-1, keepdims=True))
    bound = 4 * (alpha - 1) * np.abs(np.log(ys)).max() * np.abs(g).max() + tol(np.float64, 7, 4)
    np.testing.assert_allclose(entmax_vjp(ys, g, alpha), softmax_rule, rtol=0, atol=bound)
    # Off the support the result is exactly zero, and it sums to zero along the axis.
    y = entmax15(3 * x)
    out = entmax_vjp(y, g, 1.5)
    assert (out[y == 0] == 0).all()
    np.testing.assert_allclose(out.sum(-1), 0, atol=tol(np.float64, 7, np.abs(g).max()), rtol=0)
    # alpha > 2: zeros of y must not produce inf.
    assert np.isfinite(entmax_vjp(entmax_bisect(3 * x, 3.0), g, 3.0)).all()


# --------------------------------------------------------------------------- properties
finite_rows = arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(1, 12)),
    elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False),
)


@given(x=finite_rows, shift=st.floats(-100, 100))
def test_shift_invariance(x, shift):
    n = x.shape[-1]
    # x + shift is rounded by eps * 150 per entry; p is at most 2/(alpha-1)... here alpha = 1.5, so
    # the threshold and each p_i move by at most 4 times that, times n for the sums involved.
    atol = 8 * EPS64 * 150 * n * 4
    np.testing.assert_allclose(entmax15(x + shift), entmax15(x), rtol=0, atol=atol)


@given(x=finite_rows, data=st.data())
def test_permutation_equivariance(x, data):
    perm = np.array(data.draw(st.permutations(range(x.shape[-1]))), dtype=int)
    atol = 8 * EPS64 * 50 * x.shape[-1] * 4
    np.testing.assert_allclose(entmax15(x[:, perm]), entmax15(x)[:, perm], rtol=0, atol=atol)
    np.testing.assert_allclose(
        entmax_bisect(x[:, perm], 1.3),
        entmax_bisect(x, 1.3)[:, perm],
        rtol=0,
        atol=atol + bisect_p_tol(1.3, x.shape[-1]),
    )


@given(x=finite_rows, alpha=st.floats(1.05, 4.0))
def test_property_on_simplex(x, alpha):
    for p in (entmax15(x), entmax_bisect(x, alpha)):
        assert (p >= 0).all()
        np.testing.assert_allclose(p.sum(-1), 1, rtol=0, atol=tol(np.float64, x.shape[-1], 2))


def _entmax_decimal(x: np.ndarray, alpha: float, digits: int = 50) -> np.ndarray:
    """Independent reference: bisection in 50-digit decimal arithmetic on the float scores."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = digits
        a = Decimal(alpha)
        z = [(a - 1) * Decimal(float(v)) for v in x]
        top = max(z)
        z = [v - top for v in z]
        power = 1 / (a - 1)
        lo, hi = Decimal(-1), Decimal(0)
        for _ in range(170):
            mid = (lo + hi) / 2
            if sum((v - mid) ** power for v in z if v > mid) >= 1:
                lo = mid
            else:
                hi = mid
        return np.array([float((v - lo) ** power) if v > lo else 0.0 for v in z])


def _entmax_tolerance(p: np.ndarray, ref: np.ndarray, x: np.ndarray, alpha: float) -> np.ndarray:
    """Entrywise error bound of entmax_bisect from rounding its scores, p = (z - tau)^q, q = 1 / (alpha - 1).

    z = (alpha - 1)(x - max x) and tau carry errors of a few ulps of max |z|: delta. Then
    |dp| <= q max(p, ref)^(2 - alpha) delta (the derivative), and for q < 1 also |dp| <= delta^q
    (Hoelder), which is what bounds an entry right at the threshold (about 5e-3 at alpha = 8); the
    renormalisation p / sum(p) spreads each entry's error over the others in proportion to p.
    """
    q = 1 / (alpha - 1)
    delta = 16 * EPS64 * (alpha - 1) * max(1.0, float(np.ptp(x)))
    top = np.maximum(p, ref)
    with np.errstate(divide="ignore"):
        deriv = np.where(top > 0, q * top ** (2 - alpha) * delta, 0.0)
    own = (np.minimum(deriv, 2 * delta**q) if q < 1 else deriv) + 4 * EPS64
    # the output is renormalised: an error in one entry moves every entry by its share of it
    return own + top * own.sum()


@pytest.mark.parametrize("alpha", [1.25, 3.0, 5.0, 8.0])
def test_entmax_bisect_large_alpha_against_decimal_reference(alpha, rng):
    for scale in (0.1, 1.0):
        x = scale * rng.standard_normal(50)
        p, ref = entmax_bisect(x, alpha), _entmax_decimal(x, alpha)
        tol = _entmax_tolerance(p, ref, x, alpha)
        assert (np.abs(p - ref) <= tol).all(), np.max(np.abs(p - ref) / tol)
        # not vacuous: the bound is tight (below 1e-6) on the entries away from the threshold
        assert np.median(tol[ref > 1e-2]) < 1e-6


def test_entmax_bisect_iterates_to_full_precision():
    """The default iterates until the bracket is at float resolution: 50 halvings were not enough."""
    x = 0.1 * seeded_rng(8).standard_normal(50)
    reference = _entmax_decimal(x, 8.0)
    full = np.abs(entmax_bisect(x, 8.0) - reference).max()
    fifty = np.abs(entmax_bisect(x, 8.0, n_iter=50) - reference).max()
    assert full < fifty / 3


@pytest.mark.parametrize(
    "f",
    [entmax15, lambda v: entmax_bisect(v, 3.0), lambda v: entmax_bisect(v, 1e308), sparsemax],
)
def test_scores_spanning_more_than_the_float_range(f):
    """No NaN and no overflow warning: the far entries get exactly 0."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(f(np.array([1e308, -1e308, 0.0])), [1.0, 0.0, 0.0])
        np.testing.assert_array_equal(f(np.array([1e308, 0.0])), [1.0, 0.0])
