"""Tests of mathguide.simplex.sparsemax (chapter chapters/simplex/sparsemax-entmax.md)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mathguide.simplex.sparsemax import (
    sparsemax,
    sparsemax_loss,
    sparsemax_threshold,
    sparsemax_vjp,
)

EPS64 = np.finfo(np.float64).eps



def brute_force_projection(x: np.ndarray) -> np.ndarray:
    """Euclidean projection of one vector onto the simplex by enumerating all faces.

    On the face with support S the minimiser of ||p - x||^2 subject to sum p = 1 is
    p_S = x_S - (sum x_S - 1)/|S|; among the faces where that point is non-negative, the
    projection is the one closest to x. Exponential in n: an oracle for small n only.
    """
    n = x.size
    best, best_dist = None, np.inf
    for size in range(1, n + 1):
        for support in itertools.combinations(range(n), size):
            idx = list(support)
            p = np.zeros(n)
            p[idx] = x[idx] - (x[idx].sum() - 1) / size
            if (p >= 0).all():
                dist = np.sum((p - x) ** 2)
                if dist < best_dist:
                    best, best_dist = p, dist
    return best


def tol(dtype, n: int, scale: float = 1.0) -> float:
    """Rounding allowance: a few ulps per term of an n-term sum of numbers of size `scale`."""
    return 4 * n * np.finfo(dtype).eps * scale


# --------------------------------------------------------------------------- the simplex, shapes
@pytest.mark.parametrize("shape", [(1,), (1, 1), (5,), (3, 7), (2, 3, 4), (0, 4), (64, 300)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_on_simplex(rng, shape, dtype):
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    p = sparsemax(x)
    assert p.dtype == dtype and p.shape == x.shape
    assert (p >= 0).all()
    n = shape[-1]
    np.testing.assert_allclose(p.sum(axis=-1), 1, rtol=0, atol=tol(dtype, n))


@pytest.mark.parametrize("axis", [0, 1, 2, -2])
def test_axis_argument(rng, axis):
    x = rng.standard_normal((3, 4, 5))
    expected = np.moveaxis(sparsemax(np.moveaxis(x, axis, -1)), -1, axis)
    np.testing.assert_array_equal(sparsemax(x, axis=axis), expected)
    tau = sparsemax_threshold(x, axis=axis)
    assert tau.shape == tuple(np.delete(np.array(x.shape), axis % 3))
    np.testing.assert_array_equal(tau, sparsemax_threshold(np.moveaxis(x, axis, -1)))


def test_integer_input_becomes_float64():
    p = sparsemax(np.array([[3, 1, 0]]))
    assert p.dtype == np.float64
    np.testing.assert_allclose(p, [[1, 0, 0]], atol=0, rtol=0)


def test_input_not_mutated(rng):
    x = rng.standard_normal((4, 6))
    x[0, 2] = -np.inf
    before = x.copy()
    sparsemax(x)
    sparsemax_threshold(x, method="michelot")
    np.testing.assert_array_equal(x, before)


# --------------------------------------------------------------------------- independent oracles
@pytest.mark.parametrize("n", [1, 2, 3, 5, 7])
def test_against_brute_force_over_supports(rng, n):
    x = rng.standard_normal((20, n)) * rng.choice([0.1, 1.0, 5.0], size=(20, 1))
    p = sparsemax(x)
    expected = np.array([brute_force_projection(row) for row in x])
    np.testing.assert_allclose(p, expected, rtol=0, atol=tol(np.float64, n, 1 + np.abs(x).max()))


def test_against_scipy_constrained_solver(rng):
    from scipy.optimize import minimize

    x = rng.standard_normal(6)
    result = minimize(
        lambda p: 0.5 * np.sum((p - x) ** 2),
        np.full(6, 1 / 6),
        jac=lambda p: p - x,
        bounds=[(0, None)] * 6,
        constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1, "jac": lambda p: np.ones(6)}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 200},
    )
    assert result.success
    # SLSQP stops at ftol on the objective, i.e. about sqrt(ftol) on the solution.
    np.testing.assert_allclose(sparsemax(x), result.x, rtol=0, atol=1e-6)


def test_two_class_closed_form():
    t = np.linspace(-3, 3, 601)
    x = np.stack([t, np.zeros_like(t)], axis=-1)
    p = sparsemax(x)
    np.testing.assert_allclose(p[:, 0], np.clip((t + 1) / 2, 0, 1), rtol=0, atol=4 * EPS64)


@pytest.mark.parametrize("shape", [(6,), (50, 9), (3, 4, 200)])
def test_michelot_agrees_with_sort(rng, shape):
    x = 2 * rng.standard_normal(shape)
    x[..., 0] = -np.inf if shape[-1] > 1 else x[..., 0]
    tau_sort = sparsemax_threshold(x)
    tau_michelot = sparsemax_threshold(x, method="michelot")
    n = shape[-1]
    scale = 1 + np.abs(x[np.isfinite(x)]).max()
    np.testing.assert_allclose(tau_michelot, tau_sort, rtol=0, atol=tol(np.float64, n, scale))


def test_threshold_solves_its_equation(rng):
    x = rng.standard_normal((40, 30)) * 2
    tau = sparsemax_threshold(x)
    total = np.maximum(x - tau[:, None], 0).sum(axis=-1)
    np.testing.assert_allclose(total, 1, rtol=0, atol=tol(np.float64, 30, 1 + np.abs(x).max()))
    np.testing.assert_allclose(sparsemax(x), np.maximum(x - tau[:, None], 0), rtol=0, atol=4 * EPS64 * 8)


def test_large_supports_need_several_rounds(rng):
    # Nearly uniform rows have (almost) full support: the top-K shortcut must hand them to larger K.
    x = 1e-4 * rng.standard_normal((8, 1000))
    p = sparsemax(x)
    assert ((p > 0).sum(axis=-1) > 900).all()
    expected = x - (x.sum(axis=-1, keepdims=True) - 1) / 1000  # full support: closed form
    np.testing.assert_allclose(p, expected, rtol=0, atol=tol(np.float64, 1000))


# --------------------------------------------------------------------------- edge cases
def test_ties():
    np.testing.assert_allclose(sparsemax([1.0, 1.0, 1.0, 0.0]), [1 / 3, 1 / 3, 1 / 3, 0], atol=4 * EPS64, rtol=0)
    np.testing.assert_array_equal(sparsemax([2.0, 2.0]), [0.5, 0.5])
    np.testing.assert_array_equal(sparsemax(np.zeros((2, 4))), np.full((2, 4), 0.25))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_minus_infinity(dtype):
    x = np.array([[-np.inf, 0.0, 0.5], [-np.inf, 3.0, -np.inf]], dtype=dtype)
    p = sparsemax(x)
    np.testing.assert_allclose(p, [[0, 0.25, 0.75], [0, 1, 0]], rtol=0, atol=4 * np.finfo(dtype).eps)
    assert p[0, 0] == 0 and p[1, 0] == 0 and p[1, 2] == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_scores(dtype):
    x = np.array([1e4, -1e4, 1e4 - 0.5], dtype=dtype)  # all three exactly representable in float32
    np.testing.assert_array_equal(sparsemax(x), np.array([0.75, 0, 0.25], dtype=dtype))
    np.testing.assert_array_equal(sparsemax(-x), np.array([0, 1, 0], dtype=dtype))


def test_exact_zeros_and_support_size(rng):
    x = rng.standard_normal((200, 50))
    p = sparsemax(x)
    tau = sparsemax_threshold(x)
    np.testing.assert_array_equal(p > 0, x > tau[:, None])
    assert (p == 0).any()


# --------------------------------------------------------------------------- errors
def test_bad_inputs():
    with pytest.raises(ValueError, match="empty axis"):
        sparsemax(np.zeros((3, 0)))
    with pytest.raises(ValueError, match=r"\+inf"):
        sparsemax([0.0, np.inf])
    with pytest.raises(ValueError, match="NaN"):
        sparsemax([0.0, np.nan])
    with pytest.raises(ValueError, match="finite entry"):
        sparsemax([[0.0, 1.0], [-np.inf, -np.inf]])
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        sparsemax(np.zeros((2, 2)), axis=2)
    with pytest.raises(TypeError, match="axis must be an integer"):
        sparsemax(np.zeros((2, 2)), axis=1.0)
    with pytest.raises(TypeError, match="x must be array-like"):
        sparsemax("abc")
    with pytest.raises(ValueError, match="method must be one of"):
        sparsemax_threshold([1.0, 2.0], method="pivot")
    with pytest.raises(ValueError, match="axis"):
        sparsemax(3.0)


def test_bad_vjp_inputs():
    with pytest.raises(ValueError, match="grad must have the shape of y"):
        sparsemax_vjp([0.5, 0.5], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="y must be non-negative"):
        sparsemax_vjp([-0.5, 1.5], [1.0, 2.0])
    with pytest.raises(ValueError, match="positive entry"):
        sparsemax_vjp([[0.0, 0.0]], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="empty axis"):
        sparsemax_vjp(np.zeros((2, 0)), np.zeros((2, 0)))


def test_bad_loss_inputs():
    with pytest.raises(ValueError, match="target must have the shape of x"):
        sparsemax_loss([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="target must be a probability vector"):
        sparsemax_loss([1.0, 2.0], [0.7, 0.7])
    with pytest.raises(ValueError, match="x must be finite"):
        sparsemax_loss([1.0, -np.inf], [1.0, 0.0])


# --------------------------------------------------------------------------- backward pass
def _scores_away_from_kinks(rng, rows, n, margin):
    """Rows of scores none of which lies within `margin` of the threshold (a smooth piece)."""
    x = rng.standard_normal((50 * rows, n))
    bases = x - sparsemax_threshold(x)[:, None]
    # a smooth piece, and at least two classes in the support (with one, the Jacobian is zero)
    usable = (np.abs(bases).min(axis=-1) > margin) & ((bases > 0).sum(axis=-1) >= 2)
    keep = x[usable][:rows]
    assert keep.shape[0] == rows
    return keep


def test_vjp_against_central_differences(rng):
    n, h = 6, 1e-4
    x = _scores_away_from_kinks(rng, 5, n, margin=10 * h)
    g = rng.standard_normal(x.shape)
    vjp = sparsemax_vjp(sparsemax(x), g)
    # d/dx_j <g, sparsemax(x)> by central differences; sparsemax is affine on the piece, so the
    # only error is rounding: about eps * |x| / h per evaluation.
    eye = np.eye(n)
    fd = np.stack(
        [
            ((sparsemax(x + h * eye[j]) - sparsemax(x - h * eye[j])) * g).sum(axis=-1) / (2 * h)
            for j in range(n)
        ],
        axis=-1,
    )
    atol = 8 * n * EPS64 * (1 + np.abs(x).max()) * np.abs(g).max() / h
    np.testing.assert_allclose(vjp, fd, rtol=0, atol=atol)


def test_vjp_is_the_projection_jacobian(rng):
    x = rng.standard_normal((7, 5))
    y = sparsemax(x)
    s = (y > 0).astype(float)
    jac = np.einsum("bi,ij->bij", s, np.eye(5))
    jac -= np.einsum("bi,bj->bij", s, s) / s.sum(-1)[:, None, None]
    g = rng.standard_normal((7, 5))
    expected = np.einsum("bij,bi->bj", jac, g)
    np.testing.assert_allclose(sparsemax_vjp(y, g), expected, rtol=0, atol=8 * EPS64 * 5)
    np.testing.assert_allclose(sparsemax_vjp(y, g).sum(-1), 0, atol=8 * EPS64 * 5 * np.abs(g).max(), rtol=0)


def test_vjp_axis_and_dtype(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    y = sparsemax(x, axis=0)
    g = rng.standard_normal((4, 3)).astype(np.float32)
    out = sparsemax_vjp(y, g, axis=0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, sparsemax_vjp(y.T, g.T).T)


# --------------------------------------------------------------------------- loss
def test_loss_gradient_and_zero(rng):
    n, h = 5, 1e-4
    x = _scores_away_from_kinks(rng, 4, n, margin=10 * h)
    q = np.eye(n)[rng.integers(0, n, size=4)]
    eye = np.eye(n)
    fd = np.stack(
        [
            (sparsemax_loss(x + h * eye[j], q) - sparsemax_loss(x - h * eye[j], q)) / (2 * h)
            for j in range(n)
        ],
        axis=-1,
    )
    # The loss is quadratic on the piece: central differences are exact up to rounding.
    atol = 16 * n * EPS64 * (1 + np.abs(x).max()) ** 2 / h
    np.testing.assert_allclose(fd, sparsemax(x) - q, rtol=0, atol=atol)
    loss = sparsemax_loss(x, q)
    assert (loss >= 0).all()
    at_optimum = sparsemax_loss(x, sparsemax(x))
    np.testing.assert_allclose(at_optimum, 0, atol=tol(np.float64, n, 1 + np.abs(x).max()), rtol=0)


def test_loss_matches_martins_astudillo_formula(rng):
    # L(z; k) = -z_k + 1/2 sum_{j in S} (z_j^2 - tau^2) + 1/2, the form of Martins & Astudillo (2016).
    x = rng.standard_normal((10, 8))
    labels = rng.integers(0, 8, size=10)
    tau = sparsemax_threshold(x)
    support = x > tau[:, None]
    expected = (
        -x[np.arange(10), labels]
        + 0.5 * np.sum(np.where(support, x**2 - tau[:, None] ** 2, 0), axis=-1)
        + 0.5
    )
    loss = sparsemax_loss(x, np.eye(8)[labels])
    atol = tol(np.float64, 8, (1 + np.abs(x).max()) ** 2)
    np.testing.assert_allclose(loss, expected, rtol=0, atol=atol)


# --------------------------------------------------------------------------- properties
finite_rows = arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(1, 12)),
    elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False),
)


@given(x=finite_rows, shift=st.floats(-100, 100))
def test_shift_invariance(x, shift):
    # Rounding of x + shift moves each score by up to eps * 150; the projection is 1-Lipschitz in
    # the max-norm up to a factor 2 (the threshold moves by at most the largest perturbation).
    atol = 8 * EPS64 * 150 * x.shape[-1]
    np.testing.assert_allclose(sparsemax(x + shift), sparsemax(x), rtol=0, atol=atol)


@given(x=finite_rows, data=st.data())
def test_permutation_equivariance(x, data):
    perm = np.array(data.draw(st.permutations(range(x.shape[-1]))), dtype=int)
    atol = 8 * EPS64 * 50 * x.shape[-1]
    np.testing.assert_allclose(sparsemax(x[:, perm]), sparsemax(x)[:, perm], rtol=0, atol=atol)


@given(x=finite_rows)
def test_property_on_simplex_and_michelot(x):
    p = sparsemax(x)
    assert (p >= 0).all()
    n = x.shape[-1]
    np.testing.assert_allclose(p.sum(axis=-1), 1, rtol=0, atol=tol(np.float64, n, 50))
    np.testing.assert_allclose(
        sparsemax_threshold(x, method="michelot"),
        sparsemax_threshold(x),
        rtol=0,
        atol=tol(np.float64, n, 50),
    )


def test_one_vector_gives_python_floats_for_threshold_and_loss():
    """House rule: one number comes back as a Python float; a batch as an array of the batch shape."""
    x = np.array([0.3, 1.2, -0.5])
    assert type(sparsemax_threshold(x)) is float
    assert type(sparsemax_loss(x, np.array([0.0, 1.0, 0.0]))) is float
    assert sparsemax_threshold(np.stack([x, x])).shape == (2,)
