"""The Karush–Kuhn–Tucker conditions as a procedure: residuals, constraint qualifications, multipliers.

A smooth constrained problem in standard form,

    minimise f(x)  subject to  g_i(x) <= 0 (i = 1..m),  h_j(x) = 0 (j = 1..p),

is held by :class:`ConstrainedProblem` (callables for f, its gradient, g, h and their Jacobians).
The functions below check the four KKT conditions at a point, test the constraint qualifications
LICQ and MFCQ, estimate multipliers by non-negative least squares, and enumerate active sets to list
the KKT points of a small problem (all of them for a quadratic program, whose active-set systems are
linear; those reachable from the given starts otherwise). :func:`project_to_simplex` is the closed-form KKT solution of
the Euclidean projection onto the probability simplex (the book's ``sparsemax``); water-filling
lives in :mod:`mathguide.optimization.water_filling`.

See the chapter ``chapters/optimization/kkt.md``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy.optimize import linprog, lsq_linear, root

from mathguide._validation import as_float_array, check_axis, check_positive_int, check_real_scalar
from mathguide.simplex.sparsemax import sparsemax

__all__ = [
    "ConstrainedProblem",
    "KKTPoint",
    "KKTResiduals",
    "Multipliers",
    "estimate_multipliers",
    "kkt_residuals",
    "licq_holds",
    "mfcq_holds",
    "project_to_simplex",
    "quadratic_program",
    "scipy_constraints",
    "solve_by_active_sets",
]

# At most this many inequality constraints in `solve_by_active_sets` (2**m active sets).
MAX_ENUMERATED_CONSTRAINTS = 12
# mfcq_holds: the least margin max_d min_i -a_i^T d / ||a_i|| (unitless) that counts as strict.
MFCQ_MARGIN = 1e-8


class Evaluation(NamedTuple):
    """Values of a :class:`ConstrainedProblem` at one point (shapes checked)."""

    f: float
    grad: np.ndarray  # (n,)
    g: np.ndarray  # (m,)
    g_jac: np.ndarray  # (m, n)
    h: np.ndarray  # (p,)
    h_jac: np.ndarray  # (p, n)


@dataclass(frozen=True)
class ConstrainedProblem:
    """A smooth problem ``min f(x)`` s.t. ``g(x) <= 0``, ``h(x) = 0`` in ``R^n_vars``.

    Parameters
    ----------
    objective : callable ``x -> float``
        The objective f.
    gradient : callable ``x -> ndarray of shape (n_vars,)``
        Its gradient.
    n_vars : int
        The dimension n of x.
    ineq, ineq_jacobian : callables ``x -> (m,)`` and ``x -> (m, n_vars)``, optional
        Inequality constraints g(x) <= 0 and their Jacobian (row i is the gradient of g_i).
        Both or neither.
    eq, eq_jacobian : callables ``x -> (p,)`` and ``x -> (p, n_vars)``, optional
        Equality constraints h(x) = 0 and their Jacobian. Both or neither.

    Notes
    -----
    The signs are those of the standard form: a constraint ``a(x) >= b`` is passed as
    ``b - a(x) <= 0``. :meth:`evaluate` raises ``ValueError`` when a callable returns a wrong
    shape (singleton axes aside; a transposed Jacobian is rejected unless it is square) or a
    non-finite value. See the chapter ``chapters/optimization/kkt.md``.
    """

    objective: Callable[[np.ndarray], float]
    gradient: Callable[[np.ndarray], np.ndarray]
    n_vars: int
    ineq: Callable[[np.ndarray], np.ndarray] | None = None
    ineq_jacobian: Callable[[np.ndarray], np.ndarray] | None = None
    eq: Callable[[np.ndarray], np.ndarray] | None = None
    eq_jacobian: Callable[[np.ndarray], np.ndarray] | None = None
    # Set by :func:`quadratic_program`: (Q, c, A_ineq, b_ineq, A_eq, b_eq) as arrays, so that
    # :func:`solve_by_active_sets` can solve each (linear) active-set system in closed form.
    quadratic: tuple | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_positive_int(self.n_vars, "n_vars")
        for name in ("objective", "gradient"):
            if not callable(getattr(self, name)):
                raise TypeError(f"{name} must be callable")
        for fun, jac in (("ineq", "ineq_jacobian"), ("eq", "eq_jacobian")):
            given = [getattr(self, fun) is not None, getattr(self, jac) is not None]
            if given[0] != given[1]:
                raise ValueError(f"{fun} and {jac} must be given together")
            for name in (fun, jac):
                if getattr(self, name) is not None and not callable(getattr(self, name)):
                    raise TypeError(f"{name} must be callable")

    def evaluate(self, x) -> Evaluation:
        """Evaluate f, its gradient, g, h and the Jacobians at ``x``, checking every shape."""
        x = _as_point(x, self.n_vars)
        n = self.n_vars
        f = as_float_array(self.objective(x), "objective(x)", allow_inf=True, allow_nan=True)
        if f.size != 1:
            raise ValueError(f"objective(x) must return one number, got an array of shape {f.shape}")
        f = float(f.reshape(()))
        if not np.isfinite(f):
            raise ValueError("objective returned a non-finite value")
        grad = _checked(self.gradient(x), (n,), "gradient")
        if self.ineq is None:
            g, g_jac = np.zeros(0), np.zeros((0, n))
        else:
            g = np.atleast_1d(_checked(self.ineq(x), None, "ineq"))
            g_jac = _checked(self.ineq_jacobian(x), (g.size, n), "ineq_jacobian")
        if self.eq is None:
            h, h_jac = np.zeros(0), np.zeros((0, n))
        else:
            h = np.atleast_1d(_checked(self.eq(x), None, "eq"))
            h_jac = _checked(self.eq_jacobian(x), (h.size, n), "eq_jacobian")
        return Evaluation(f, grad, g.reshape(-1), g_jac.reshape(g.size, n), h.reshape(-1), h_jac.reshape(h.size, n))


def _as_point(x, n: int) -> np.ndarray:
    x = as_float_array(x, "x").astype(np.float64)
    if x.shape != (n,):
        raise ValueError(f"x must have shape ({n},), got {x.shape}")
    return x


def _checked(value, shape, name: str) -> np.ndarray:
    # Real numbers only (a complex or string result is a TypeError naming the callable); NaN and
    # infinities are reported below as non-finite values.
    array = as_float_array(value, name, allow_inf=True, allow_nan=True).astype(np.float64)
    if array.ndim == 0 and shape is None:
        array = array.reshape(1)
    # Accept the right entries with singleton axes added or dropped ((n,) for (1, n), (m,) for
    # (m, 1), ...), but never a reshuffle: a transposed (n, m) Jacobian must not pass as (m, n).
    if shape is not None and array.ndim <= 2 and (
        _non_singleton(array.shape) == _non_singleton(shape) or array.size == 0 == int(np.prod(shape))
    ):
        array = array.reshape(shape)
    if (shape is not None and array.shape != shape) or (shape is None and array.ndim != 1):
        expected = shape if shape is not None else "(k,)"
        raise ValueError(f"{name} returned shape {array.shape}, expected {expected}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} returned a non-finite value")
    return array


def _non_singleton(shape) -> tuple[int, ...]:
    return tuple(int(d) for d in shape if d != 1)


def _multiplier_vector(value, size: int, name: str) -> np.ndarray:
    array = as_float_array(np.zeros(0) if value is None else value, name).astype(np.float64)
    array = np.atleast_1d(array)
    if array.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {array.shape}")
    return array


class KKTResiduals(NamedTuple):
    """The four KKT residuals at a point (each 0 exactly at a KKT point)."""

    stationarity: float  # max_k |d/dx_k L(x, lambda, mu)|
    primal_feasibility: float  # max(max_i g_i(x)^+, max_j |h_j(x)|)
    dual_feasibility: float  # max_i (-lambda_i)^+
    complementary_slackness: float  # max_i |lambda_i g_i(x)|

    def max(self) -> float:
        """The largest of the four residuals."""
        return max(self)


def kkt_residuals(problem: ConstrainedProblem, x, ineq_multipliers=None, eq_multipliers=None) -> KKTResiduals:
    """The four Karush–Kuhn–Tucker residuals of ``(x, lambda, mu)``.

    With the Lagrangian ``L(x, lambda, mu) = f(x) + lambda^T g(x) + mu^T h(x)`` the residuals are
    the max-norms of ``grad_x L``, of ``(g(x)^+, h(x))``, of ``(-lambda)^+`` and of
    ``lambda * g(x)`` (elementwise).

    Parameters
    ----------
    problem : ConstrainedProblem
    x : array_like of shape (n_vars,)
    ineq_multipliers : array_like of shape (m,), optional
        lambda, one per inequality (omit when m = 0).
    eq_multipliers : array_like of shape (p,), optional
        mu, one per equality (omit when p = 0).

    Returns
    -------
    KKTResiduals
        ``(stationarity, primal_feasibility, dual_feasibility, complementary_slackness)``.

    Raises
    ------
    ValueError
        If a multiplier vector does not have one entry per constraint, or a callable of ``problem``
        returns an inconsistent shape or a non-finite value at ``x``.

    Notes
    -----
    Max-norms, not sums of squares, so that each residual is on the scale of the quantity it
    measures. See the chapter ``chapters/optimization/kkt.md``.
    """
    ev = problem.evaluate(x)
    lam = _multiplier_vector(ineq_multipliers, ev.g.size, "ineq_multipliers")
    mu = _multiplier_vector(eq_multipliers, ev.h.size, "eq_multipliers")
    grad_lagrangian = ev.grad + ev.g_jac.T @ lam + ev.h_jac.T @ mu
    return KKTResiduals(
        stationarity=_max_or_zero(np.abs(grad_lagrangian)),
        primal_feasibility=_max_or_zero(np.concatenate([np.maximum(ev.g, 0.0), np.abs(ev.h)])),
        dual_feasibility=_max_or_zero(np.maximum(-lam, 0.0)),
        complementary_slackness=_max_or_zero(np.abs(lam * ev.g)),
    )


def _max_or_zero(values: np.ndarray) -> float:
    return float(values.max()) if values.size else 0.0


def _active_gradients(ev: Evaluation, tol: float) -> tuple[np.ndarray, np.ndarray]:
    active = ev.g >= -tol
    return active, ev.g_jac[active]


def _check_tol(tol) -> float:
    return check_real_scalar(tol, "tol", nonnegative=True)


def licq_holds(problem: ConstrainedProblem, x, *, tol: float = 1e-8) -> bool:
    """Whether the linear independence constraint qualification (LICQ) holds at ``x``.

    LICQ: the gradients of the active inequalities (``g_i(x) >= -tol``) and of all equalities are
    linearly independent, i.e. the matrix stacking them has full row rank.

    Parameters
    ----------
    problem : ConstrainedProblem
    x : array_like of shape (n_vars,)
    tol : float, default 1e-8
        Activity tolerance.

    Returns
    -------
    bool

    Notes
    -----
    The rank is NumPy's SVD rank (singular values above ``sigma_max * max(shape) * eps``).
    See the chapter ``chapters/optimization/kkt.md``.
    """
    tol = _check_tol(tol)
    ev = problem.evaluate(x)
    _, g_active = _active_gradients(ev, tol)
    stacked = np.vstack([g_active, ev.h_jac])
    if stacked.shape[0] == 0:
        return True
    # An all-zero matrix has rank 0 whatever the tolerance, which is the x^2 <= 0 case.
    return bool(np.linalg.matrix_rank(stacked) == stacked.shape[0])


def mfcq_holds(problem: ConstrainedProblem, x, *, tol: float = 1e-8) -> bool:
    """Whether the Mangasarian–Fromovitz constraint qualification (MFCQ) holds at ``x``.

    MFCQ: the equality gradients are linearly independent and some direction ``d`` has
    ``grad h_j(x)^T d = 0`` for all j and ``grad g_i(x)^T d < 0`` for every active i.

    Parameters
    ----------
    problem : ConstrainedProblem
    x : array_like of shape (n_vars,)
    tol : float, default 1e-8
        Activity tolerance, in the units of g (scale it with the constraints).

    Returns
    -------
    bool

    Notes
    -----
    Solved as the linear program ``max t`` s.t. ``a_i^T d + t <= 0`` (``a_i`` the active gradients
    scaled to unit length), ``J_h d = 0``, ``-1 <= d <= 1``, ``0 <= t <= 1``; MFCQ holds iff the
    optimal ``t`` exceeds ``MFCQ_MARGIN = 1e-8``. ``t`` is unitless (the gradients have unit length),
    so the margin does not depend on ``tol``, which has the units of ``g``: scaling the constraints
    and ``tol`` by the same factor leaves the answer unchanged. A zero active gradient makes MFCQ
    fail. LICQ implies MFCQ.
    See the chapter ``chapters/optimization/kkt.md``.
    """
    tol = _check_tol(tol)
    ev = problem.evaluate(x)
    _, g_active = _active_gradients(ev, tol)
    if ev.h.size and np.linalg.matrix_rank(ev.h_jac) < ev.h.size:
        return False
    if g_active.shape[0] == 0:
        return True
    # Unit rows: each scaled by a power of two to its largest entry first, so that the norm neither
    # overflows (rows of size 2**600) nor underflows to 0 (rows of size 2**-600).
    g_active = g_active / _power_of_two(np.abs(g_active).max(axis=1))[:, None]
    norms = np.linalg.norm(g_active, axis=1)
    if np.any(norms == 0.0):
        return False
    n = problem.n_vars
    a_ub = np.hstack([g_active / norms[:, None], np.ones((g_active.shape[0], 1))])
    a_eq = np.hstack([ev.h_jac, np.zeros((ev.h.size, 1))]) if ev.h.size else None
    result = linprog(
        c=np.r_[np.zeros(n), -1.0],
        A_ub=a_ub,
        b_ub=np.zeros(g_active.shape[0]),
        A_eq=a_eq,
        b_eq=np.zeros(ev.h.size) if ev.h.size else None,
        bounds=[(-1.0, 1.0)] * n + [(0.0, 1.0)],
        method="highs",
    )
    return bool(result.status == 0 and -result.fun > MFCQ_MARGIN)


class Multipliers(NamedTuple):
    """Multipliers estimated at a point, and the stationarity residual they leave."""

    ineq: np.ndarray  # (m,), >= 0, zero on inactive constraints
    eq: np.ndarray  # (p,)
    stationarity: float  # max-norm of grad_x L at these multipliers


def estimate_multipliers(problem: ConstrainedProblem, x, *, tol: float = 1e-8) -> Multipliers:
    """Best multipliers for a given ``x``: non-negative least squares on the stationarity condition.

    Solves ``min || grad f(x) + J_A^T lambda_A + J_h^T mu ||_2`` over ``lambda_A >= 0`` and free
    ``mu``, where ``A = {i : g_i(x) >= -tol}`` is the active set; inactive multipliers are 0
    (complementary slackness).

    Parameters
    ----------
    problem : ConstrainedProblem
    x : array_like of shape (n_vars,)
    tol : float, default 1e-8
        Activity tolerance.

    Returns
    -------
    Multipliers
        ``(ineq, eq, stationarity)``; ``stationarity`` far from 0 says ``x`` is not a KKT point
        for any multipliers.

    Notes
    -----
    A bounded least-squares problem with ``|A| + p`` unknowns (``scipy.optimize.lsq_linear``).
    When LICQ fails the minimiser need not be unique: one of the multiplier vectors is returned.
    See the chapter ``chapters/optimization/kkt.md``.
    """
    tol = _check_tol(tol)
    ev = problem.evaluate(x)
    active, g_active = _active_gradients(ev, tol)
    # Columns and right-hand side in units of powers of two (exact): the multipliers are found for
    # the scaled problem and scaled back, so that gradients of size 2**1000 do not overflow inside
    # the least-squares solver and those of size 2**-1000 are not lost to its absolute tolerances.
    columns = np.vstack([g_active, ev.h_jac])
    column_unit = _power_of_two(np.abs(columns).max(axis=1, initial=0.0))
    grad_unit = _power_of_two(np.abs(ev.grad).max(initial=0.0))
    matrix = (columns / column_unit[:, None]).T  # (n, |A| + p)
    grad = ev.grad / grad_unit
    lam = np.zeros(ev.g.size)
    mu = np.zeros(ev.h.size)
    k = g_active.shape[0]
    if matrix.shape[1]:
        lower = np.r_[np.zeros(k), np.full(ev.h.size, -np.inf)]
        upper = np.full(matrix.shape[1], np.inf)
        if np.all(lower == -np.inf):  # only equalities: plain least squares
            solution = np.linalg.lstsq(matrix, -grad, rcond=None)[0]
        else:
            solution = lsq_linear(matrix, -grad, bounds=(lower, upper), method="bvls", tol=1e-14).x
        solution = solution * grad_unit / column_unit
        lam[active] = np.maximum(solution[:k], 0.0)
        mu = solution[k:]
    stationarity = _max_or_zero(np.abs(ev.grad + ev.g_jac.T @ lam + ev.h_jac.T @ mu))
    return Multipliers(lam, mu, stationarity)


class KKTPoint(NamedTuple):
    """A KKT point found by :func:`solve_by_active_sets`."""

    x: np.ndarray  # (n,)
    ineq_multipliers: np.ndarray  # (m,)
    eq_multipliers: np.ndarray  # (p,)
    objective: float
    active: tuple[int, ...]  # indices of the inequalities assumed active


def solve_by_active_sets(problem: ConstrainedProblem, starts=None, *, tol: float = 1e-9) -> list[KKTPoint]:
    """KKT points of a small problem, by enumerating the active sets; sorted by objective.

    For each subset ``A`` of the inequalities, solve the square system
    ``grad f(x) + J_A(x)^T lambda_A + J_h(x)^T mu = 0``, ``g_A(x) = 0``, ``h(x) = 0`` in
    ``(x, lambda_A, mu)`` and keep the solutions that satisfy the remaining KKT conditions
    (``lambda_A >= 0``, ``g_i(x) <= 0`` off ``A``) to within ``tol``.

    For a problem built by :func:`quadratic_program` every such system is linear and is solved in
    closed form (least squares, accepted only if consistent); ``starts`` is then ignored and the
    list is complete, except that an active set whose system is singular contributes one point
    (the minimum-norm solution) of its affine family of solutions. For any other problem each
    system is solved by a root finder from every start, and only the solutions it reaches are
    found: a KKT point is missed when no start lies in its basin of attraction, so give starts
    spread over the feasible region (a grid, or many random points).

    Parameters
    ----------
    problem : ConstrainedProblem
        At most ``MAX_ENUMERATED_CONSTRAINTS`` inequality constraints.
    starts : array_like of shape (k, n_vars), optional
        Starting points for x (the multipliers start at their least-squares estimate there).
        Required unless ``problem`` comes from :func:`quadratic_program`.
    tol : float, default 1e-9
        Acceptance tolerance on every KKT residual, and the relative distance under which two points
        are the same. For a quadratic program each residual is compared with ``tol`` times the size
        of the terms it sums (``|Q||x| + |c| + |A|^T|lambda|`` for stationarity, ``|A||x| + |b|``
        for the constraints), after an exact power-of-two scaling of the objective and of each
        constraint: the answer does not change when Q and c, or a constraint, are scaled. For other
        problems the scale of ``g`` is unknown and the residuals are compared with
        ``tol * (1 + |f| + ||grad f||)``.

    Returns
    -------
    list of KKTPoint
        Distinct KKT points found, by increasing objective; the first is the best candidate, and
        the global minimiser whenever the list is complete and the minimiser is a KKT point (a
        constraint qualification holds there). A minimiser that admits no multipliers is never
        in the list; a point where every constraint qualification fails can still be in it when
        multipliers happen to exist (``min x^2`` s.t. ``x^2 <= 0`` gives ``x = 0``, ``lambda = 0``).

    Raises
    ------
    ValueError
        If ``starts`` is missing or has the wrong shape, or the problem has too many inequalities.

    Notes
    -----
    Cost ``2^m`` linear solves for a quadratic program, otherwise ``2^m * k`` calls of
    ``scipy.optimize.root`` (MINPACK's hybrid Powell method with a finite-difference Jacobian).
    This is steps 4 and 7 of the chapter's procedure; it finds KKT points only.
    See the chapter ``chapters/optimization/kkt.md``.
    """
    tol = _check_tol(tol)
    if starts is None and problem.quadratic is None:
        raise ValueError("starts is required unless the problem comes from quadratic_program")
    if starts is not None:
        starts = as_float_array(starts, "starts").astype(np.float64)
        if starts.ndim == 1:
            starts = starts[None, :]
        if starts.ndim != 2 or starts.shape[1] != problem.n_vars or starts.shape[0] == 0:
            raise ValueError(f"starts must have shape (k, {problem.n_vars}) with k >= 1, got {starts.shape}")
    if problem.quadratic is not None:
        return _qp_kkt_points(problem, tol)
    ev0 = problem.evaluate(starts[0])
    m, n = ev0.g.size, problem.n_vars
    if m > MAX_ENUMERATED_CONSTRAINTS:
        raise ValueError(
            f"problem has {m} inequality constraints; at most {MAX_ENUMERATED_CONSTRAINTS} can be enumerated"
        )

    found: list[KKTPoint] = []
    for size in range(m + 1):
        for active in itertools.combinations(range(m), size):
            idx = np.array(active, dtype=int)

            def system(z, idx=idx):
                x, lam_a, mu = z[:n], z[n : n + idx.size], z[n + idx.size :]
                try:
                    ev = problem.evaluate(x)
                except ValueError:  # the solver stepped outside the domain of a callable
                    return np.full(z.size, np.nan)
                stationarity = ev.grad + ev.g_jac[idx].T @ lam_a + ev.h_jac.T @ mu
                return np.concatenate([stationarity, ev.g[idx], ev.h])

            for start in starts:
                ev = problem.evaluate(start)
                matrix = np.vstack([ev.g_jac[idx], ev.h_jac]).T
                multipliers = np.linalg.lstsq(matrix, -ev.grad, rcond=None)[0] if matrix.shape[1] else np.zeros(0)
                with np.errstate(all="ignore"):
                    sol = root(system, np.concatenate([start, multipliers]), method="hybr")
                if not np.all(np.isfinite(sol.x)):
                    continue
                _accept(problem, found, sol.x, idx, active, m, tol)
    return sorted(found, key=lambda point: point.objective)


def _accept(problem, found, z, idx, active, m, tol) -> None:
    """Append the KKT point encoded by ``z = (x, lambda_A, mu)`` to ``found`` if it passes."""
    n = problem.n_vars
    x = z[:n]
    lam = np.zeros(m)
    lam[idx] = z[n : n + idx.size]
    mu = z[n + idx.size :]
    try:
        res = kkt_residuals(problem, x, lam, mu)
        ev = problem.evaluate(x)
    except ValueError:  # left the domain of a callable
        return
    scale = 1.0 + abs(ev.f) + np.abs(ev.grad).max()
    if res.max() > tol * scale:
        return
    if any(np.abs(x - point.x).max() <= np.sqrt(tol) * (1.0 + np.abs(x).max()) for point in found):
        return
    found.append(KKTPoint(x, lam, mu, ev.f, active))


def _power_of_two(value) -> np.ndarray:
    """``2**e`` with ``2**(e-1) <= value < 2**e`` elementwise (1 where ``value`` is 0): exact scale factors."""
    value = np.asarray(value, dtype=np.float64)
    return np.where(value > 0, np.ldexp(1.0, np.frexp(value)[1]), 1.0)


def _qp_kkt_points(problem: ConstrainedProblem, tol: float) -> list[KKTPoint]:
    """Active-set enumeration for a quadratic program: one linear KKT system per active set.

    Every test is relative to the size of the terms it compares (no "1 +"), and the data are scaled
    by powers of two before the least-squares solves (each constraint row to unit size, the
    objective to the size of the rows), so that the answer is the same at any scale of Q, c or of a
    constraint: a KKT matrix with blocks of sizes 2**-500 and 1 would otherwise lose its small block
    to the rank cut-off of ``lstsq``.
    """
    q, c, a_ineq, b_ineq, a_eq, b_eq = problem.quadratic
    m = b_ineq.size
    if m > MAX_ENUMERATED_CONSTRAINTS:
        limit = MAX_ENUMERATED_CONSTRAINTS
        raise ValueError(f"problem has {m} inequality constraints; at most {limit} can be enumerated")
    # Exact rescaling: row i of a constraint block by 1/2**e_i, the objective by 1/2**e_f. The
    # multipliers of the scaled problem are lam_i * 2**e_i / 2**e_f; x is unchanged.
    rows_i = _power_of_two(np.abs(np.c_[a_ineq, b_ineq]).max(axis=1, initial=0.0))
    rows_e = _power_of_two(np.abs(np.c_[a_eq, b_eq]).max(axis=1, initial=0.0))
    a_i, b_i = a_ineq / rows_i[:, None], b_ineq / rows_i
    a_e, b_e = a_eq / rows_e[:, None], b_eq / rows_e
    size_q = np.abs(q).max()
    objective_unit = _power_of_two(size_q if size_q > 0 else np.abs(c).max(initial=0.0))
    qs, cs = q / objective_unit, c / objective_unit
    n = q.shape[0]
    found: list[KKTPoint] = []
    for size in range(m + 1):
        for active in itertools.combinations(range(m), size):
            idx = np.array(active, dtype=int)
            rows = np.vstack([a_i[idx], a_e])  # (|A| + p, n)
            k = rows.shape[0]
            kkt = np.block([[qs, rows.T], [rows, np.zeros((k, k))]])
            rhs = np.concatenate([-cs, b_i[idx], b_e])
            z = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
            # Consistent system: the residual is within tol of the size of the terms (a norm-wise
            # test, meaningful because the rows have been equilibrated above).
            if np.abs(kkt @ z - rhs).max() > tol * (np.abs(kkt) @ np.abs(z) + np.abs(rhs)).max():
                continue
            x = z[:n]
            lam = np.zeros(m)
            lam[idx] = z[n : n + idx.size]
            mu = z[n + idx.size :]
            if not _qp_point_is_kkt(qs, cs, a_i, b_i, a_e, b_e, x, lam, mu, tol):
                continue
            scale = np.abs(x).max(initial=0.0)
            if any(np.abs(x - point.x).max() <= np.sqrt(tol) * max(scale, np.abs(point.x).max()) for point in found):
                continue
            objective = float(0.5 * (x @ q @ x) + c @ x)
            found.append(KKTPoint(x, lam * objective_unit / rows_i, mu * objective_unit / rows_e, objective, active))
    return sorted(found, key=lambda point: point.objective)


def _qp_point_is_kkt(q, c, a_i, b_i, a_e, b_e, x, lam, mu, tol) -> bool:
    """The four KKT conditions of a quadratic program, each to ``tol`` relative to its own terms."""
    ax = np.abs(x)
    stationarity = q @ x + c + a_i.T @ lam + a_e.T @ mu
    terms = np.abs(q) @ ax + np.abs(c) + np.abs(a_i).T @ np.abs(lam) + np.abs(a_e).T @ np.abs(mu)
    if np.abs(stationarity).max(initial=0.0) > tol * terms.max(initial=0.0):
        return False
    # The rows are equilibrated (each of size ~1), so one scale serves all constraints: the size of
    # the terms of the largest.
    g, h = a_i @ x - b_i, a_e @ x - b_e
    g_terms = max((np.abs(a_i) @ ax + np.abs(b_i)).max(initial=0.0), (np.abs(a_e) @ ax + np.abs(b_e)).max(initial=0.0))
    if np.any(g > tol * g_terms) or np.any(np.abs(h) > tol * g_terms):
        return False
    # A multiplier is negative beyond rounding when its pull on the gradient, lam_i * ||a_i||, is
    # more than tol of the gradient's terms.
    row_size = np.abs(a_i).max(axis=1, initial=0.0)
    if np.any(-lam * row_size > tol * terms.max(initial=0.0)):
        return False
    return not np.any(np.abs(lam * g) > tol * np.abs(lam) * g_terms)


def quadratic_program(q, c, a_ineq=None, b_ineq=None, a_eq=None, b_eq=None) -> ConstrainedProblem:
    """The problem ``min 1/2 x^T Q x + c^T x`` s.t. ``A_ineq x <= b_ineq``, ``A_eq x = b_eq``.

    Parameters
    ----------
    q : array_like of shape (n, n)
        Symmetric matrix Q (not necessarily positive definite).
    c : array_like of shape (n,)
    a_ineq, b_ineq : array_like of shapes (m, n) and (m,), optional
    a_eq, b_eq : array_like of shapes (p, n) and (p,), optional

    Returns
    -------
    ConstrainedProblem

    Raises
    ------
    ValueError
        On inconsistent shapes or a non-symmetric ``q``.

    Notes
    -----
    See the chapter ``chapters/optimization/kkt.md``.
    """
    q = as_float_array(q, "q").astype(np.float64)
    c = as_float_array(c, "c").astype(np.float64)
    if q.ndim != 2 or q.shape[0] != q.shape[1] or q.shape[0] == 0:
        raise ValueError(f"q must be a non-empty square matrix, got shape {q.shape}")
    n = q.shape[0]
    # Symmetric to rounding, relative to the size of q (an absolute floor would accept any q scaled
    # down far enough).
    if np.any(np.abs(q - q.T) > 8 * np.finfo(float).eps * np.abs(q).max()):
        raise ValueError("q must be symmetric")
    if c.shape != (n,):
        raise ValueError(f"c must have shape ({n},), got {c.shape}")
    blocks = {}
    for kind, a, b in (("ineq", a_ineq, b_ineq), ("eq", a_eq, b_eq)):
        if (a is None) != (b is None):
            raise ValueError(f"a_{kind} and b_{kind} must be given together")
        if a is None:
            continue
        a = np.atleast_2d(as_float_array(a, f"a_{kind}").astype(np.float64))
        b = np.atleast_1d(as_float_array(b, f"b_{kind}").astype(np.float64))
        if a.ndim != 2 or a.shape[1] != n:
            raise ValueError(f"a_{kind} must have shape (k, {n}), got {a.shape}")
        if b.shape != (a.shape[0],):
            raise ValueError(f"b_{kind} must have shape ({a.shape[0]},), got {b.shape}")
        blocks[kind] = (a.copy(), b.copy())
    q, c = q.copy(), c.copy()

    def linear(a, b):
        return (lambda x: a @ x - b), (lambda x: a)

    ineq = linear(*blocks["ineq"]) if "ineq" in blocks else (None, None)
    eq = linear(*blocks["eq"]) if "eq" in blocks else (None, None)
    a_i, b_i = blocks.get("ineq", (np.zeros((0, n)), np.zeros(0)))
    a_e, b_e = blocks.get("eq", (np.zeros((0, n)), np.zeros(0)))
    return ConstrainedProblem(
        objective=lambda x: 0.5 * x @ q @ x + c @ x,
        gradient=lambda x: q @ x + c,
        n_vars=n,
        ineq=ineq[0],
        ineq_jacobian=ineq[1],
        eq=eq[0],
        eq_jacobian=eq[1],
        quadratic=(q, c, a_i, b_i, a_e, b_e),
    )


def scipy_constraints(problem: ConstrainedProblem) -> list[dict]:
    """The constraints of ``problem`` in the form ``scipy.optimize.minimize`` expects (SLSQP).

    SciPy's ``'ineq'`` means ``fun(x) >= 0``: the standard form ``g(x) <= 0`` becomes ``-g(x) >= 0``
    (the sign flip that is easy to get wrong).

    Parameters
    ----------
    problem : ConstrainedProblem

    Returns
    -------
    list of dict
        Zero, one or two dicts with keys ``type``, ``fun``, ``jac``.

    Raises
    ------
    TypeError
        If ``problem`` is not a :class:`ConstrainedProblem`.

    Notes
    -----
    See the chapter ``chapters/optimization/kkt.md``.
    """
    if not isinstance(problem, ConstrainedProblem):
        raise TypeError(f"problem must be a ConstrainedProblem, got {type(problem).__name__}")
    constraints = []
    if problem.ineq is not None:
        constraints.append(
            {
                "type": "ineq",
                "fun": lambda x: -np.atleast_1d(problem.ineq(x)),
                "jac": lambda x: -np.atleast_2d(problem.ineq_jacobian(x)),
            }
        )
    if problem.eq is not None:
        constraints.append(
            {
                "type": "eq",
                "fun": lambda x: np.atleast_1d(problem.eq(x)),
                "jac": lambda x: np.atleast_2d(problem.eq_jacobian(x)),
            }
        )
    return constraints


def project_to_simplex(v, *, axis: int = -1) -> np.ndarray:
    """Euclidean projection onto the probability simplex along ``axis``: an alias of ``sparsemax``.

    Solves ``min_x 1/2 ||x - v||^2`` s.t. ``x >= 0``, ``sum_i x_i = 1``. The KKT conditions give
    ``x_i = max(0, v_i - tau)`` with the threshold ``tau`` fixed by ``sum_i x_i = 1``; sorting ``v``
    finds it (the chapter derives this). The kernel is
    :func:`mathguide.simplex.sparsemax.sparsemax`, which this function calls.

    Parameters
    ----------
    v : array_like of shape (..., n, ...)
        Finite points to project, one per slice along ``axis``; ``n >= 1``.
    axis : int, default -1
        The axis along which the entries sum to one.

    Returns
    -------
    ndarray, same shape as ``v``
        Non-negative, summing to 1 along ``axis``.

    Raises
    ------
    ValueError
        If ``v`` has NaN or infinite entries, or an empty ``axis``, or ``axis`` is out of range.
    TypeError
        If ``v`` is not real or ``axis`` is not an integer.

    Notes
    -----
    Sort-based, ``O(n log n)`` per slice, vectorised over the batch; computed on ``v - max(v)``
    (the projection commutes with adding a constant to every entry), so large entries do not lose
    precision.

    References
    ----------
    Duchi et al. (2008); Condat (2016); Martins and Astudillo (2016).

    See the chapter ``chapters/optimization/kkt.md``.
    """
    v = as_float_array(v, "v")  # finite only: a projection of an infinite point is undefined
    if v.ndim == 0:
        raise ValueError("v must have at least one dimension (the axis to project along)")
    if v.shape[check_axis(axis, v.ndim)] == 0:
        raise ValueError(f"v must have at least one entry along axis {axis}, got an empty axis")
    return sparsemax(v, axis=axis)  # the sort-based kernel of the simplex part
