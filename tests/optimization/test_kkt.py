"""Tests of mathguide.optimization.kkt: residuals, constraint qualifications, multipliers, active sets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize

from mathguide.optimization.kkt import (
    MAX_ENUMERATED_CONSTRAINTS,
    ConstrainedProblem,
    estimate_multipliers,
    kkt_residuals,
    licq_holds,
    mfcq_holds,
    project_to_simplex,
    quadratic_program,
    scipy_constraints,
    solve_by_active_sets,
)
from mathguide.seeding import seeded_rng

EPS = np.finfo(np.float64).eps



# ---------------------------------------------------------------------------------------------------
# Problems with known answers (the chapter's examples)


def nocedal_wright_qp():
    """min (x1-1)^2 + (x2-2.5)^2 over a pentagon (Nocedal & Wright, example 16.3), up to a constant.

    Written as 1/2 x^T (2I) x + (-2, -5)^T x, so the objective is the distance squared minus 7.25.
    Solution (1.4, 1.7), only the first constraint active, multiplier 0.8.
    """
    a = np.array([[-1.0, 2.0], [1.0, 2.0], [1.0, -2.0], [-1.0, 0.0], [0.0, -1.0]])
    b = np.array([2.0, 6.0, 2.0, 0.0, 0.0])
    return quadratic_program(2 * np.eye(2), np.array([-2.0, -5.0]), a, b), a, b


def square_le_zero():
    """min x s.t. x^2 <= 0: minimiser 0, no multiplier, every CQ fails."""
    return ConstrainedProblem(
        objective=lambda x: x[0],
        gradient=lambda x: np.array([1.0]),
        n_vars=1,
        ineq=lambda x: np.array([x[0] ** 2]),
        ineq_jacobian=lambda x: np.array([[2.0 * x[0]]]),
    )


def kuhn_tucker_cusp():
    """min -x1 s.t. x2 - (1 - x1)^3 <= 0, -x2 <= 0: minimiser (1, 0), not a KKT point."""
    return ConstrainedProblem(
        objective=lambda x: -x[0],
        gradient=lambda x: np.array([-1.0, 0.0]),
        n_vars=2,
        ineq=lambda x: np.array([x[1] - (1.0 - x[0]) ** 3, -x[1]]),
        ineq_jacobian=lambda x: np.array([[3.0 * (1.0 - x[0]) ** 2, 1.0], [0.0, -1.0]]),
    )


def saddle_in_disc():
    """min x1^2 - x2^2 s.t. |x|^2 <= 1: KKT points (0, 0) (a saddle), (0, +-1) (the minima)."""
    return ConstrainedProblem(
        objective=lambda x: x[0] ** 2 - x[1] ** 2,
        gradient=lambda x: np.array([2.0 * x[0], -2.0 * x[1]]),
        n_vars=2,
        ineq=lambda x: np.array([x @ x - 1.0]),
        ineq_jacobian=lambda x: 2.0 * x[None, :],
    )


def concave_on_interval():
    """min -x^2 s.t. -1 <= x <= 2: KKT points 2 (global min), -1 (local min), 0 (local max)."""
    return quadratic_program([[-2.0]], [0.0], [[-1.0], [1.0]], [1.0, 2.0])


def three_lines_corner():
    """min x1 + x2 s.t. x1 >= 0, x2 >= 0, x1 + x2 >= 0: LICQ fails at 0, MFCQ holds."""
    return quadratic_program(np.zeros((2, 2)), [1.0, 1.0], [[-1.0, 0.0], [0.0, -1.0], [-1.0, -1.0]], [0.0, 0.0, 0.0])


def random_convex_qp(rng, n, m):
    """A strictly convex QP with m inequalities, 0 strictly feasible (Slater holds)."""
    b_mat = rng.normal(size=(n, n))
    q = b_mat @ b_mat.T + np.eye(n)
    c = rng.normal(size=n) * 3
    a = rng.normal(size=(m, n))
    b = rng.uniform(0.1, 1.0, size=m)
    return quadratic_program(q, c, a, b), q, c, a, b


def slsqp(problem, x0):
    result = minimize(
        problem.objective,
        x0,
        jac=problem.gradient,
        constraints=scipy_constraints(problem),
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    # At ftol 1e-14 SLSQP sometimes ends with exit mode 8, "Positive directional derivative for
    # linesearch": it cannot improve f within rounding (in 37 of 900 random QPs, 1 in 10 seeds of
    # the sweep). Its x is then at the optimum to ~1e-8 or better (measured on those 37), and the
    # callers compare it with an independent answer anyway; any other failure is one.
    assert result.success or result.status == 8, result.message
    if not result.success:
        assert np.all([np.all(con["fun"](result.x) >= -1e-9) for con in scipy_constraints(problem)])
    return result.x


# ---------------------------------------------------------------------------------------------------
# ConstrainedProblem and quadratic_program


def test_problem_validation():
    f, grad = (lambda x: 0.0), (lambda x: np.zeros(2))
    with pytest.raises(ValueError, match="n_vars"):
        ConstrainedProblem(f, grad, 0)
    with pytest.raises(TypeError, match="n_vars"):
        ConstrainedProblem(f, grad, 2.0)
    with pytest.raises(TypeError, match="objective"):
        ConstrainedProblem(3.0, grad, 2)
    with pytest.raises(ValueError, match="ineq and ineq_jacobian"):
        ConstrainedProblem(f, grad, 2, ineq=lambda x: x)
    with pytest.raises(ValueError, match="eq and eq_jacobian"):
        ConstrainedProblem(f, grad, 2, eq_jacobian=lambda x: np.eye(2))
    with pytest.raises(TypeError, match="eq_jacobian"):
        ConstrainedProblem(f, grad, 2, eq=lambda x: x, eq_jacobian="jac")


def test_evaluate_checks_shapes():
    bad_jac = ConstrainedProblem(
        lambda x: 0.0, lambda x: np.zeros(2), 2, ineq=lambda x: x, ineq_jacobian=lambda x: np.eye(3)
    )
    with pytest.raises(ValueError, match="ineq_jacobian returned shape"):
        bad_jac.evaluate([0.0, 0.0])
    bad_grad = ConstrainedProblem(lambda x: 0.0, lambda x: np.zeros(3), 2)
    with pytest.raises(ValueError, match="gradient returned shape"):
        bad_grad.evaluate([0.0, 0.0])
    nan_eq = ConstrainedProblem(
        lambda x: 0.0, lambda x: np.zeros(2), 2, eq=lambda x: np.array([np.nan]), eq_jacobian=lambda x: np.ones((1, 2))
    )
    with pytest.raises(ValueError, match="eq returned a non-finite"):
        nan_eq.evaluate([0.0, 0.0])
    # m = 3 constraints in R^2: a transposed (2, 3) Jacobian has the right size but must not pass.
    transposed = ConstrainedProblem(
        lambda x: 0.0,
        lambda x: np.zeros(2),
        2,
        ineq=lambda x: np.array([x[0], x[1], x[0] + x[1]]),
        ineq_jacobian=lambda x: np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]),
    )
    with pytest.raises(ValueError, match=r"ineq_jacobian returned shape \(2, 3\), expected \(3, 2\)"):
        transposed.evaluate([0.0, 0.0])
    # Singleton axes are harmless: a (1, n) gradient and an (n,) single-row Jacobian are accepted.
    row = ConstrainedProblem(
        lambda x: 0.0, lambda x: np.zeros((1, 2)), 2, ineq=lambda x: x[:1], ineq_jacobian=lambda x: np.array([1.0, 0.0])
    )
    ev = row.evaluate([0.0, 0.0])
    assert ev.grad.shape == (2,) and ev.g_jac.shape == (1, 2)
    nan_objective = ConstrainedProblem(lambda x: np.nan, lambda x: np.zeros(2), 2)
    with pytest.raises(ValueError, match="objective returned a non-finite"):
        nan_objective.evaluate([0.0, 0.0])
    problem, _, _ = nocedal_wright_qp()
    with pytest.raises(ValueError, match=r"x must have shape \(2,\)"):
        problem.evaluate([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="x must not contain NaN"):
        problem.evaluate([np.nan, 0.0])


def test_quadratic_program_matches_its_formula(rng):
    problem, q, c, a, b = random_convex_qp(rng, 3, 4)
    x = rng.normal(size=3)
    ev = problem.evaluate(x)
    np.testing.assert_allclose(ev.f, 0.5 * x @ q @ x + c @ x, rtol=16 * EPS, atol=16 * EPS)
    np.testing.assert_allclose(ev.grad, q @ x + c, rtol=0, atol=16 * EPS * np.abs(q).sum())
    np.testing.assert_array_equal(ev.g, a @ x - b)
    np.testing.assert_array_equal(ev.g_jac, a)
    assert ev.h.shape == (0,) and ev.h_jac.shape == (0, 3)


def test_quadratic_program_validation():
    with pytest.raises(ValueError, match="q must be symmetric"):
        quadratic_program([[1.0, 2.0], [0.0, 1.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match="q must be a non-empty square"):
        quadratic_program([[1.0, 2.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"c must have shape \(2,\)"):
        quadratic_program(np.eye(2), [0.0])
    with pytest.raises(ValueError, match="a_ineq and b_ineq"):
        quadratic_program(np.eye(2), [0.0, 0.0], a_ineq=[[1.0, 1.0]])
    with pytest.raises(ValueError, match=r"b_eq must have shape \(1,\)"):
        quadratic_program(np.eye(2), [0.0, 0.0], a_eq=[[1.0, 1.0]], b_eq=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"a_ineq must have shape \(k, 2\)"):
        quadratic_program(np.eye(2), [0.0, 0.0], a_ineq=[[1.0, 1.0, 1.0]], b_ineq=[1.0])


def test_quadratic_program_does_not_alias_inputs():
    q, c = np.eye(2), np.array([1.0, -1.0])
    a, b = np.array([[1.0, 1.0]]), np.array([1.0])
    problem = quadratic_program(q, c, a, b)
    before = problem.evaluate([0.5, 0.5])
    q[0, 0], c[0], a[0, 0], b[0] = 9.0, 9.0, 9.0, 9.0
    after = problem.evaluate([0.5, 0.5])
    assert before.f == after.f
    np.testing.assert_array_equal(before.g, after.g)


def test_scipy_constraints_rejects_what_is_not_a_problem():
    for bad in (None, {"ineq": None}, (np.eye(2), [0.0, 0.0])):
        with pytest.raises(TypeError, match="problem must be a ConstrainedProblem"):
            scipy_constraints(bad)


def test_scipy_constraints_signs():
    problem, a, b = nocedal_wright_qp()
    inside, outside = np.array([1.0, 1.0]), np.array([1.0, 2.5])
    (ineq,) = scipy_constraints(problem)
    assert ineq["type"] == "ineq"
    assert np.all(ineq["fun"](inside) >= 0)  # SciPy's convention: fun >= 0 means feasible
    assert ineq["fun"](outside)[0] < 0
    np.testing.assert_array_equal(ineq["jac"](inside), -a)
    eq_problem = quadratic_program(np.eye(2), [0.0, 0.0], a_eq=[[1.0, 1.0]], b_eq=[1.0])
    (eq,) = scipy_constraints(eq_problem)
    assert eq["type"] == "eq" and eq["fun"](np.array([0.25, 0.75]))[0] == 0.0
    assert scipy_constraints(quadratic_program(np.eye(1), [0.0])) == []


# ---------------------------------------------------------------------------------------------------
# kkt_residuals


def test_residuals_vanish_at_the_known_optimum():
    problem, _, _ = nocedal_wright_qp()
    res = kkt_residuals(problem, [1.4, 1.7], [0.8, 0.0, 0.0, 0.0, 0.0])
    assert res.max() <= 16 * EPS * 10  # entries of size <= 10, a few roundings


def test_each_residual_measures_its_condition():
    problem, _, _ = nocedal_wright_qp()
    # Unconstrained minimiser: stationary with lambda = 0, but violates g_1 by 2.
    res = kkt_residuals(problem, [1.0, 2.5], np.zeros(5))
    assert res == (0.0, 2.0, 0.0, 0.0)
    # The optimum with a negative multiplier on an inactive constraint: g_2(1.4, 1.7) = -1.2.
    res = kkt_residuals(problem, [1.4, 1.7], [0.8, -0.5, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(res.dual_feasibility, 0.5, rtol=0, atol=0)
    np.testing.assert_allclose(res.complementary_slackness, 0.6, rtol=16 * EPS, atol=0)
    np.testing.assert_allclose(res.stationarity, 1.0, rtol=16 * EPS, atol=0)  # grad g_2 = (1, 2), times 0.5
    # A feasible interior point with zero multipliers: only stationarity fails (grad f = 2x - (2, 5)).
    res = kkt_residuals(problem, [1.0, 1.0], np.zeros(5))
    assert res == (3.0, 0.0, 0.0, 0.0)


def test_residuals_with_equalities(rng):
    # min 1/2 |x|^2 s.t. 1^T x = 1: x = 1/n, mu = -1/n.
    n = 4
    problem = quadratic_program(np.eye(n), np.zeros(n), a_eq=np.ones((1, n)), b_eq=[1.0])
    assert kkt_residuals(problem, np.full(n, 1 / n), eq_multipliers=[-1 / n]).max() <= 4 * EPS
    x = rng.dirichlet(np.ones(n))
    res = kkt_residuals(problem, x, eq_multipliers=[-1 / n])
    np.testing.assert_allclose(res.stationarity, np.abs(x - 1 / n).max(), rtol=0, atol=4 * EPS)


def test_residual_argument_shapes():
    problem, _, _ = nocedal_wright_qp()
    with pytest.raises(ValueError, match=r"ineq_multipliers must have shape \(5,\)"):
        kkt_residuals(problem, [1.4, 1.7], [0.8])
    with pytest.raises(ValueError, match=r"ineq_multipliers must have shape \(5,\)"):
        kkt_residuals(problem, [1.4, 1.7])
    with pytest.raises(ValueError, match=r"eq_multipliers must have shape \(0,\)"):
        kkt_residuals(problem, [1.4, 1.7], np.zeros(5), [1.0])
    with pytest.raises(TypeError, match="ineq_multipliers must be array-like"):
        kkt_residuals(problem, [1.4, 1.7], "abcde")


def test_residuals_do_not_mutate_inputs():
    problem, _, _ = nocedal_wright_qp()
    x, lam = np.array([1.4, 1.7]), np.array([0.8, -1.0, 0.0, 0.0, 0.0])
    x0, lam0 = x.copy(), lam.copy()
    kkt_residuals(problem, x, lam)
    estimate_multipliers(problem, x)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(lam, lam0)


# ---------------------------------------------------------------------------------------------------
# Constraint qualifications


def test_cq_fail_at_the_counterexamples():
    assert not licq_holds(square_le_zero(), [0.0])
    assert not mfcq_holds(square_le_zero(), [0.0])
    assert not licq_holds(kuhn_tucker_cusp(), [1.0, 0.0])
    assert not mfcq_holds(kuhn_tucker_cusp(), [1.0, 0.0])


def test_cq_hold_at_regular_points():
    problem, _, _ = nocedal_wright_qp()
    for x in ([1.4, 1.7], [0.0, 0.0], [1.0, 1.0]):  # one active, two active (a vertex), none active
        assert licq_holds(problem, x) and mfcq_holds(problem, x)
    assert licq_holds(kuhn_tucker_cusp(), [0.0, 0.0])  # gradients (3, 1) and (0, -1)
    assert licq_holds(square_le_zero(), [-1.0])  # inactive there (and infeasible): nothing to check


def test_licq_fails_but_mfcq_holds_at_a_degenerate_corner():
    problem = three_lines_corner()
    assert not licq_holds(problem, [0.0, 0.0])
    assert mfcq_holds(problem, [0.0, 0.0])


def test_mfcq_with_equalities():
    # x1 = 0 and x1 = 0 again: dependent equality gradients, MFCQ fails.
    dup = quadratic_program(np.eye(2), [0.0, 0.0], a_eq=[[1.0, 0.0], [2.0, 0.0]], b_eq=[0.0, 0.0])
    assert not mfcq_holds(dup, [0.0, 0.0]) and not licq_holds(dup, [0.0, 0.0])
    # x1 = 0 with x2 <= 0 active: d = (0, -1) works.
    ok = quadratic_program(np.eye(2), [0.0, 0.0], [[0.0, 1.0]], [0.0], [[1.0, 0.0]], [0.0])
    assert mfcq_holds(ok, [0.0, 0.0]) and licq_holds(ok, [0.0, 0.0])
    # x1 = 0 with x1 <= 0 active: the only d with d1 = 0 has grad g^T d = 0, not < 0.
    bad = quadratic_program(np.eye(2), [0.0, 0.0], [[1.0, 0.0]], [0.0], [[1.0, 0.0]], [0.0])
    assert not mfcq_holds(bad, [0.0, 0.0])


def test_licq_implies_mfcq_on_random_points(rng):
    for _ in range(20):
        n, k = 3, int(rng.integers(1, 4))
        a = rng.normal(size=(k, n))
        x = rng.normal(size=n)
        problem = quadratic_program(np.eye(n), np.zeros(n), a, a @ x)  # all k constraints active at x
        assert licq_holds(problem, x)  # k <= n random rows are independent with probability 1
        assert mfcq_holds(problem, x)


@pytest.mark.parametrize(
    "tol, error, message",
    [
        (-1.0, ValueError, "tol must be non-negative"),
        (np.nan, ValueError, "tol must not be NaN"),
        (np.inf, ValueError, "tol must be finite"),
        (True, TypeError, "tol must be a real number"),
        ("1e-8", TypeError, "tol must be a real number"),
    ],
)
@pytest.mark.parametrize("function", [licq_holds, mfcq_holds, estimate_multipliers])
def test_bad_tolerances(function, tol, error, message):
    problem, _, _ = nocedal_wright_qp()
    with pytest.raises(error, match=message):
        function(problem, [0.0, 0.0], tol=tol)
    with pytest.raises(error, match=message):
        solve_by_active_sets(problem, [[0.0, 0.0]], tol=tol)


# ---------------------------------------------------------------------------------------------------
# estimate_multipliers


def test_multiplier_estimate_at_the_optimum():
    problem, _, _ = nocedal_wright_qp()
    est = estimate_multipliers(problem, [1.4, 1.7])
    np.testing.assert_allclose(est.ineq, [0.8, 0, 0, 0, 0], rtol=0, atol=64 * EPS)
    assert est.eq.shape == (0,) and est.stationarity <= 64 * EPS


def test_multiplier_estimate_is_in_the_non_unique_set():
    # Stationarity (1, 1) = l1 (1, 0) + l2 (0, 1) + l3 (1, 1): the set {(1 - t, 1 - t, t): t in [0, 1]}.
    est = estimate_multipliers(three_lines_corner(), [0.0, 0.0])
    lam = est.ineq
    assert est.stationarity <= 16 * EPS and np.all(lam >= 0)
    np.testing.assert_allclose([lam[0] - lam[1], lam[0] + lam[2]], [0.0, 1.0], rtol=0, atol=16 * EPS)


def test_multiplier_estimate_fails_where_no_multiplier_exists():
    assert estimate_multipliers(square_le_zero(), [0.0]).stationarity == 1.0
    assert estimate_multipliers(kuhn_tucker_cusp(), [1.0, 0.0]).stationarity == 1.0


def test_convex_problem_without_slater_has_no_multipliers():
    """min e^{-x} s.t. x^2/y <= 0 (y > 0): the minimisers (0, y) are not KKT points, every CQ fails."""
    problem = ConstrainedProblem(
        objective=lambda z: np.exp(-z[0]),
        gradient=lambda z: np.array([-np.exp(-z[0]), 0.0]),
        n_vars=2,
        ineq=lambda z: np.array([z[0] ** 2 / z[1]]),
        ineq_jacobian=lambda z: np.array([[2 * z[0] / z[1], -z[0] ** 2 / z[1] ** 2]]),
    )
    for y in (0.1, 1.0, 10.0):
        assert estimate_multipliers(problem, [0.0, y]).stationarity == 1.0
        assert not mfcq_holds(problem, [0.0, y])


def test_multiplier_estimate_against_nnls(rng):
    """Oracle: SciPy's Lawson-Hanson NNLS on the active gradients (unique: independent columns)."""
    from scipy.optimize import nnls

    for k in (1, 2, 3):
        n = 4
        a = rng.normal(size=(k, n))
        x = rng.normal(size=n)
        b = np.r_[a @ x, a @ x + 1.0]  # the first k constraints active at x, k more inactive
        problem = quadratic_program(np.eye(n), rng.normal(size=n), np.r_[a, a], b)
        grad = problem.gradient(x)
        expected, residual = nnls(a.T, -grad)
        est = estimate_multipliers(problem, x)
        np.testing.assert_allclose(est.ineq[:k], expected, rtol=0, atol=1e3 * EPS * (1 + np.abs(grad).max()))
        np.testing.assert_array_equal(est.ineq[k:], 0.0)  # inactive: complementary slackness
        np.testing.assert_allclose(
            np.linalg.norm(grad + a.T @ est.ineq[:k]), residual, rtol=0, atol=1e3 * EPS * (1 + np.abs(grad).max())
        )


def test_multiplier_estimate_with_equalities(rng):
    n = 5
    problem = quadratic_program(np.eye(n), np.zeros(n), a_eq=np.ones((1, n)), b_eq=[1.0])
    est = estimate_multipliers(problem, np.full(n, 1 / n))
    np.testing.assert_allclose(est.eq, [-1 / n], rtol=16 * EPS, atol=0)
    assert est.ineq.shape == (0,)


def test_multiplier_estimate_on_solver_answers_of_random_qps(rng):
    """SLSQP's answer of a random convex QP: the estimated multipliers make it an approximate KKT point."""
    for _ in range(5):
        problem, q, c, a, b = random_convex_qp(rng, 3, 4)
        x = slsqp(problem, np.zeros(3))
        est = estimate_multipliers(problem, x, tol=1e-7)
        res = kkt_residuals(problem, x, est.ineq)
        # SLSQP stops at ftol 1e-14 on f; x is then accurate to about sqrt(ftol) times the scale.
        scale = 1.0 + np.abs(q).sum() + np.abs(c).sum()
        assert res.max() <= 1e-6 * scale


# ---------------------------------------------------------------------------------------------------
# solve_by_active_sets


def test_active_sets_find_the_textbook_qp_solution():
    problem, _, _ = nocedal_wright_qp()
    points = solve_by_active_sets(problem, [[0.0, 0.0]])
    assert len(points) == 1  # strictly convex: one KKT point
    (best,) = points
    np.testing.assert_allclose(best.x, [1.4, 1.7], rtol=0, atol=1e-12)
    np.testing.assert_allclose(best.ineq_multipliers, [0.8, 0, 0, 0, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(best.objective, 0.16 + 0.64 - 7.25, rtol=1e-13, atol=0)
    assert best.active == (0,)


def test_active_sets_agree_with_slsqp_on_random_convex_qps(rng):
    for n, m in [(1, 1), (2, 3), (3, 4), (4, 6)]:
        problem, q, c, a, b = random_convex_qp(rng, n, m)
        points = solve_by_active_sets(problem, np.zeros((1, n)))
        assert len(points) == 1  # strict convexity: exactly one KKT point
        x_ref = slsqp(problem, np.zeros(n))
        # SLSQP's x is accurate to about sqrt(ftol) = 1e-7 relative to the problem's scale.
        np.testing.assert_allclose(points[0].x, x_ref, rtol=0, atol=1e-6 * (1 + np.abs(x_ref).max()))
        assert kkt_residuals(problem, points[0].x, points[0].ineq_multipliers).max() <= 1e-9 * (
            1 + np.abs(q).sum() + np.abs(c).sum()
        )


def test_active_sets_list_saddles_and_maxima_too():
    points = solve_by_active_sets(concave_on_interval(), [[0.5]])
    np.testing.assert_allclose([p.x[0] for p in points], [2.0, -1.0, 0.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose([p.objective for p in points], [-4.0, -1.0, 0.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(points[0].ineq_multipliers, [0.0, 4.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(points[1].ineq_multipliers, [2.0, 0.0], rtol=0, atol=1e-12)

    points = solve_by_active_sets(saddle_in_disc(), [[0.1, 0.5], [0.1, -0.5]])
    xs = np.array([p.x for p in points])
    assert len(points) == 3
    # the two minima (0, +-1) with lambda = 1, then the saddle (0, 0) with lambda = 0
    np.testing.assert_allclose(np.abs(xs[:2]), [[0.0, 1.0], [0.0, 1.0]], rtol=0, atol=1e-6)
    assert xs[0, 1] * xs[1, 1] < 0
    np.testing.assert_allclose(xs[2], [0.0, 0.0], rtol=0, atol=1e-9)
    np.testing.assert_allclose([p.ineq_multipliers[0] for p in points], [1.0, 1.0, 0.0], rtol=0, atol=1e-6)


def test_active_sets_miss_minimisers_without_a_cq():
    """The minimiser is not a KKT point: enumeration finds nothing (step 5 of the procedure)."""
    assert solve_by_active_sets(square_le_zero(), [[0.0], [0.5], [-0.5]]) == []
    assert solve_by_active_sets(kuhn_tucker_cusp(), [[1.0, 0.0], [0.5, 0.1], [0.0, 0.0]]) == []


def test_active_sets_can_list_a_point_where_every_cq_fails():
    """min x^2 s.t. x^2 <= 0: LICQ and MFCQ fail at 0, yet (0, lambda = 0) is a KKT point."""
    problem = ConstrainedProblem(
        objective=lambda x: x[0] ** 2,
        gradient=lambda x: np.array([2.0 * x[0]]),
        n_vars=1,
        ineq=lambda x: np.array([x[0] ** 2]),
        ineq_jacobian=lambda x: np.array([[2.0 * x[0]]]),
    )
    assert not licq_holds(problem, [0.0]) and not mfcq_holds(problem, [0.0])
    points = solve_by_active_sets(problem, [[0.0], [0.5]])
    assert len(points) == 1 and points[0].x[0] == 0.0
    assert points[0].ineq_multipliers[0] == 0.0


def tilted_saddle_in_disc():
    """min x1^2 - x2^2 - x2 / 2 on the unit disc: global minimum (0, 1), f = -1.5."""
    return ConstrainedProblem(
        objective=lambda x: x[0] ** 2 - x[1] ** 2 - 0.5 * x[1],
        gradient=lambda x: np.array([2.0 * x[0], -2.0 * x[1] - 0.5]),
        n_vars=2,
        ineq=lambda x: np.array([x @ x - 1.0]),
        ineq_jacobian=lambda x: 2.0 * x[None, :],
    )


def test_active_sets_need_starts_in_every_basin():
    """One start misses the global minimum of a nonlinear problem; a grid of starts finds it."""
    problem = tilted_saddle_in_disc()
    single = solve_by_active_sets(problem, [[0.1, -0.5]])
    assert min(p.objective for p in single) > -1.4  # (0, 1) missed
    grid = np.array([[a, b] for a in np.linspace(-0.9, 0.9, 4) for b in np.linspace(-0.9, 0.9, 4)])
    best = solve_by_active_sets(problem, grid)[0]
    np.testing.assert_allclose(best.x, [0.0, 1.0], rtol=0, atol=1e-8)
    # Oracle: the objective on a fine polar grid of the disc.
    r, t = np.meshgrid(np.linspace(0, 1, 401), np.linspace(0, 2 * np.pi, 1601))
    values = (r * np.cos(t)) ** 2 - (r * np.sin(t)) ** 2 - 0.5 * r * np.sin(t)
    assert best.objective <= values.min() + 1e-12
    assert best.objective >= values.min() - 1e-4


@pytest.mark.parametrize("seed", range(6))
def test_active_sets_of_an_indefinite_qp_find_the_global_minimum(seed):
    """Closed-form enumeration (no starts) against brute force on a fine grid of the box."""
    gen = seeded_rng(seed)
    b = gen.normal(size=(2, 2))
    q = b + b.T  # indefinite in general
    c = gen.normal(size=2)
    a = np.vstack([np.eye(2), -np.eye(2), gen.normal(size=(1, 2))])
    bounds = np.r_[np.ones(4), 0.5]
    best = solve_by_active_sets(quadratic_program(q, c, a, bounds))[0]
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 801), np.linspace(-1, 1, 801)), axis=-1)
    grid = grid.reshape(-1, 2)
    grid = grid[grid @ a[4] <= 0.5]
    values = 0.5 * np.einsum("ki,ij,kj->k", grid, q, grid) + grid @ c
    lipschitz = np.abs(q).sum() * 2 + np.abs(c).sum()
    assert values.min() - lipschitz * 2.5e-3 <= best.objective <= values.min() + 1e-12


def test_active_sets_with_an_equality():
    # min 1/2|x|^2 - x1 s.t. x1 + x2 = 1, x2 >= 0.3: the line's closest point to (1, 0) is (1, 0),
    # which violates x2 >= 0.3, so x = (0.7, 0.3).
    problem = quadratic_program(np.eye(2), [-1.0, 0.0], [[0.0, -1.0]], [-0.3], [[1.0, 1.0]], [1.0])
    (point,) = solve_by_active_sets(problem, [[0.0, 0.0]])
    np.testing.assert_allclose(point.x, [0.7, 0.3], rtol=0, atol=1e-12)
    # stationarity: (0.7 - 1, 0.3) + l (0, -1) + mu (1, 1) = 0 -> mu = 0.3, l = 0.6
    np.testing.assert_allclose(point.eq_multipliers, [0.3], rtol=0, atol=1e-12)
    np.testing.assert_allclose(point.ineq_multipliers, [0.6], rtol=0, atol=1e-12)


def test_sensitivity_is_minus_the_multiplier(rng):
    """d p*(u) / d u_i = -lambda_i for the perturbed constraints g_i(x) <= u_i (central differences)."""
    # A non-trivial instance: some constraint binds with a clearly positive multiplier. Random QPs
    # often have an interior minimiser, so draw until one binds (a few draws suffice in practice).
    for _ in range(50):
        problem, q, c, a, b = random_convex_qp(rng, 3, 4)
        (point,) = solve_by_active_sets(problem, np.zeros((1, 3)))
        if point.ineq_multipliers.max() > 1.0:
            break
    assert point.ineq_multipliers.max() > 1.0
    h = 1e-4
    for i in range(4):
        values = []
        for sign in (1.0, -1.0):
            shifted = b.copy()
            shifted[i] += sign * h
            (perturbed,) = solve_by_active_sets(quadratic_program(q, c, a, shifted), np.zeros((1, 3)))
            values.append(perturbed.objective)
        # p* is piecewise quadratic: the central difference is exact unless the active set changes
        # within h; the error left is rounding, about eps * |p*| / h.
        np.testing.assert_allclose((values[0] - values[1]) / (2 * h), -point.ineq_multipliers[i], rtol=0, atol=1e-7)


def test_active_sets_survive_steps_outside_the_domain():
    """min x - log x s.t. x <= 2: the root finder may step to x <= 0, where the objective is NaN."""
    problem = ConstrainedProblem(
        objective=lambda x: x[0] - np.log(x[0]),
        gradient=lambda x: np.array([1.0 - 1.0 / x[0]]),
        n_vars=1,
        ineq=lambda x: np.array([x[0] - 2.0]),
        ineq_jacobian=lambda x: np.array([[1.0]]),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        (point,) = solve_by_active_sets(problem, [[0.05], [1.5], [3.0]])
    np.testing.assert_allclose(point.x, [1.0], rtol=0, atol=1e-9)
    assert point.ineq_multipliers[0] == 0.0


def test_active_set_arguments():
    problem, _, _ = nocedal_wright_qp()
    with pytest.raises(ValueError, match=r"starts must have shape \(k, 2\)"):
        solve_by_active_sets(problem, [[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="starts must have shape"):
        solve_by_active_sets(problem, np.zeros((0, 2)))
    m = MAX_ENUMERATED_CONSTRAINTS + 1
    big = quadratic_program(np.eye(1), [0.0], np.ones((m, 1)), np.ones(m))
    with pytest.raises(ValueError, match="at most"):
        solve_by_active_sets(big, [[0.0]])
    single = solve_by_active_sets(problem, [0.0, 0.0])  # one start as a vector
    assert len(single) == 1


# ---------------------------------------------------------------------------------------------------
# project_to_simplex: against a constrained solver and the KKT conditions


def simplex_projection_problem(v):
    n = v.size
    return quadratic_program(np.eye(n), -v, -np.eye(n), np.zeros(n), np.ones((1, n)), [1.0])


@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_projection_against_slsqp(rng, n):
    """Oracle: SLSQP on min 1/2 |x - v|^2 with bounds x >= 0 and the equality sum x = 1 (no library code)."""
    for _ in range(4):
        v = rng.normal(scale=2.0, size=n)
        x = project_to_simplex(v)
        result = minimize(
            lambda z, v=v: 0.5 * np.sum((z - v) ** 2),
            np.full(n, 1 / n),
            jac=lambda z, v=v: z - v,
            bounds=[(0.0, None)] * n,
            constraints=[{"type": "eq", "fun": lambda z: z.sum() - 1.0, "jac": lambda z: np.ones((1, n))}],
            method="SLSQP",
            options={"ftol": 1e-14, "maxiter": 500},
        )
        assert result.success, result.message
        # SLSQP's x is accurate to about sqrt(ftol) = 1e-7.
        np.testing.assert_allclose(x, result.x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("shape", [(1,), (7,), (4, 6), (2, 3, 5)])
def test_projection_satisfies_kkt(rng, shape):
    v = rng.normal(scale=3.0, size=shape)
    x = project_to_simplex(v)
    n = shape[-1]
    tol = 8 * n * EPS * (1 + np.abs(v).max())
    np.testing.assert_allclose(x.sum(axis=-1), 1.0, rtol=0, atol=tol)
    assert np.all(x >= 0)
    # KKT: x = max(v - tau, 0) with one tau per row; on the support tau = v_i - x_i.
    for row_v, row_x in zip(v.reshape(-1, n), x.reshape(-1, n), strict=False):
        support = row_x > 0
        taus = row_v[support] - row_x[support]
        np.testing.assert_allclose(taus, taus[0], rtol=0, atol=tol)
        assert np.all(row_v[~support] <= taus[0] + tol)  # lambda_i = tau - v_i >= 0 off the support
        problem = simplex_projection_problem(row_v)
        lam = np.where(support, 0.0, taus[0] - row_v)
        assert kkt_residuals(problem, row_x, lam, [taus[0]]).max() <= tol


def test_projection_axis_and_ties(rng):
    v = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(project_to_simplex(v, axis=0), project_to_simplex(v.T).T)
    np.testing.assert_allclose(project_to_simplex(np.full(4, 7.0)), np.full(4, 0.25), rtol=0, atol=4 * EPS)
    np.testing.assert_array_equal(project_to_simplex([1e6, 0.0, -1e6]), [1.0, 0.0, 0.0])


def test_projection_arguments():
    with pytest.raises(ValueError, match="v must not contain NaN"):
        project_to_simplex([np.nan, 1.0])
    with pytest.raises(ValueError, match="v must be finite"):
        project_to_simplex([-np.inf, 1.0])
    with pytest.raises(ValueError, match="v must have at least one entry"):
        project_to_simplex(np.zeros((3, 0)))
    with pytest.raises(ValueError, match="v must have at least one dimension"):
        project_to_simplex(1.0)
    with pytest.raises(TypeError, match="v must be array-like"):
        project_to_simplex("abc")
    with pytest.raises(ValueError, match="axis"):
        project_to_simplex(np.zeros((2, 3)), axis=2)


def test_projection_does_not_mutate(rng):
    v = rng.normal(size=(2, 5))
    v0 = v.copy()
    project_to_simplex(v)
    np.testing.assert_array_equal(v, v0)


vectors = arrays(
    np.float64,
    st.integers(1, 8),
    elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
)


@given(vectors)
def test_projection_lands_on_the_simplex_and_is_idempotent(v):
    x = project_to_simplex(v)
    tol = 8 * v.size * EPS * (1 + np.abs(v).max())
    assert np.all(x >= 0)
    np.testing.assert_allclose(x.sum(), 1.0, rtol=0, atol=tol)
    np.testing.assert_allclose(project_to_simplex(x), x, rtol=0, atol=tol)


@given(vectors, st.floats(-50, 50))
def test_projection_commutes_with_shifts(v, shift):
    tol = 16 * v.size * EPS * (1 + np.abs(v).max() + abs(shift))
    np.testing.assert_allclose(project_to_simplex(v + shift), project_to_simplex(v), rtol=0, atol=tol)
