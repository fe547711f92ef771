"""Scale laws and degenerate inputs of mathguide.simplex (softmax and alternatives, sparsemax/entmax, top-k).

Which law each map obeys (c is the power of two of ``_support.SCALES``):

- **shift laws** (``x -> x + a``): the maps onto the simplex are shift invariant, thresholds shift by
  ``a``. A shift by ``c = 2^±500, 2^±1000`` keeps information only if the scores are exactly
  representable next to ``c``: the input is ``c + s u`` with small integers ``u`` and ``s = c 2^-40``,
  checked against the map of ``u`` at temperature 1 (the maps with a temperature take ``tau = s``).
- **temperature laws** (``x -> c x``, ``tau -> c tau``): softmax, GradTopK, ThreTopK, the iterative
  top-k depend on ``x / tau`` only: invariant.
- **limit laws** (``x -> c x`` without a temperature): sparsemax, entmax, top-k softmax, Taylor softmax,
  the samplers. At ``c = 2^±500`` and beyond, the map has reached its limit to double precision:
  one-hot (or ``|x|^order`` weights for Taylor) as ``c`` grows, uniform as ``c`` shrinks.
- **linear laws**: every VJP is linear in the incoming gradient and scales like ``1 / tau``; margin
  logits are homogeneous in (x, margin) and in ``scale``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _support import obeys_or_refuses, relative_error

import mathguide.simplex as S

EPS = np.finfo(np.float64).eps
P = "mathguide.simplex."


def _close(got, want, tol: float = 64 * EPS) -> None:
    err = relative_error(got, want)
    assert err <= tol, f"relative error {err:.3g} > {tol:.3g}"


def _shifted(c: float, rng, n: int = 7):
    """(x, s, u): x = c + s u exactly, u small distinct integers, s = c 2^-40."""
    u = rng.permutation(np.arange(-8.0, 9.0))[:n]
    s = c * 2.0**-40
    x = c + s * u
    assert np.array_equal((x - c) / s, u)  # exact: the law is tested on the scores it claims
    return x, s, u


def _scores(rng, shape=(3, 7)):
    x = rng.normal(size=shape)
    return x + np.sign(x) * 0.05  # no entry near 0 (for the |x|^order limit of Taylor softmax)


def _onehot_of_max(x):
    return (x == x.max(axis=-1, keepdims=True)).astype(float)


def _uniform(x):
    return np.full_like(x, 1.0 / x.shape[-1])


# ------------------------------------------------------------------------------------------- laws


def _softmax_law(c, rng):
    x = _scores(rng)
    obeys_or_refuses(lambda: S.softmax(c * x, temperature=c), "temperature", lambda p: _close(p, S.softmax(x)))
    xs, s, u = _shifted(c, rng)
    obeys_or_refuses(lambda: S.softmax(xs, temperature=s), "temperature", lambda p: _close(p, S.softmax(u)))


def _log_softmax_law(c, rng):
    x = _scores(rng)
    want = S.log_softmax(x)
    obeys_or_refuses(lambda: S.log_softmax(c * x, temperature=c), "temperature", lambda p: _close(p, want))
    xs, s, u = _shifted(c, rng)
    obeys_or_refuses(lambda: S.log_softmax(xs, temperature=s), "temperature", lambda p: _close(p, S.log_softmax(u)))


def _vjp_linear(vjp, y, g, c, name="grad"):
    want = vjp(y, g)
    obeys_or_refuses(lambda: vjp(y, c * g), name, lambda r: _close(r / c, want))


def _softmax_vjp_law(c, rng):
    x = _scores(rng)
    _vjp_linear(lambda y, g: S.softmax_vjp(y, g), S.softmax(x), rng.normal(size=x.shape), c)


def _margin_logits_law(c, rng):
    x, labels = _scores(rng), rng.integers(0, 7, size=3)
    want = S.margin_logits(x, labels, margin=0.3, scale=2.0)
    obeys_or_refuses(
        lambda: S.margin_logits(c * x, labels, margin=0.3 * c, scale=2.0), "x", lambda r: _close(r / c, want)
    )
    obeys_or_refuses(
        lambda: S.margin_logits(x, labels, margin=0.3, scale=2.0 * c), "scale", lambda r: _close(r / c, want)
    )


def _margin_softmax_law(c, rng):
    x, labels = _scores(rng), rng.integers(0, 7, size=3)
    want = S.margin_softmax(x, labels, margin=0.3, scale=2.0)
    obeys_or_refuses(
        lambda: S.margin_softmax(c * x, labels, margin=0.3 * c, scale=2.0 / c), "scale", lambda p: _close(p, want)
    )


def _taylor_softmax_law(c, rng):
    x = _scores(rng)
    for order in (2, 6):
        if c > 1:  # f(c x) ~ (c x)^order / order!: the weights |x|^order
            w = np.abs(x) ** order
            want = w / w.sum(axis=-1, keepdims=True)
        else:  # f(c x) = 1 + O(c): uniform
            want = _uniform(x)
        obeys_or_refuses(lambda o=order: S.taylor_softmax(c * x, o), "x", lambda p, w=want: _close(p, w, 1e3 * EPS))


def _topk_softmax_law(c, rng):
    x = _scores(rng)
    if c > 1:
        want = _onehot_of_max(x)
    else:  # the 3 largest, equally weighted
        want = (x >= np.sort(x, axis=-1)[:, -3:-2]) / 3.0
    obeys_or_refuses(lambda: S.topk_softmax(c * x, 3), "x", lambda p: _close(p, want))


def _sampler_law(sample):
    def check(c, rng):
        x = _scores(rng)
        if c > 1:  # the noise no longer matters: the argmax of x
            want = np.broadcast_to(np.argmax(x, axis=-1), (5, 3))
            obeys_or_refuses(
                lambda: sample(c * x, rng=1, size=5), "logits", lambda i: np.testing.assert_array_equal(i, want)
            )
        else:  # the scores no longer matter: the argmax of the same noise
            want = sample(np.zeros_like(x), rng=1, size=5)
            obeys_or_refuses(
                lambda: sample(c * x, rng=1, size=5), "logits", lambda i: np.testing.assert_array_equal(i, want)
            )

    return check


def _limit_map_law(fun):
    def check(c, rng):
        x = _scores(rng)
        want = _onehot_of_max(x) if c > 1 else _uniform(x)
        obeys_or_refuses(lambda: fun(c * x), "x", lambda p: _close(p, want))
        xs, _, u = _shifted(c, rng)  # shift invariance; the gaps of s u are far above 1 (or below eps)
        want = _onehot_of_max(u) if c > 1 else _uniform(u)
        obeys_or_refuses(lambda: fun(xs), "x", lambda p: _close(p, want))

    return check


def _threshold_law(fun, one_hot_tau, uniform_tau, slope=1.0):
    """tau(c x) at a one-hot (c large) or full (c small) support, and tau(x + a) = tau(x) + slope a."""

    def check(c, rng):
        x = _scores(rng)
        want = one_hot_tau(c, x) if c > 1 else uniform_tau(c, x)
        obeys_or_refuses(lambda: fun(c * x), "x", lambda t: _close(t, want, 1e-12))
        xs, s, u = _shifted(c, rng)
        obeys_or_refuses(lambda: fun(xs), "x", lambda t: _close(t, slope * c + fun(s * u), 1e-12))

    return check


def _sparsemax_loss_law(c, rng):
    x = _scores(rng)
    q = S.softmax(rng.normal(size=x.shape))
    if c > 1:  # c (max x - <x, q>) dominates
        obeys_or_refuses(
            lambda: S.sparsemax_loss(c * x, q), "x", lambda r: _close(r / c, x.max(-1) - np.sum(x * q, -1), 1e-12)
        )
    else:  # the loss at x = 0: |q|^2 / 2 - 1 / (2 n)
        obeys_or_refuses(
            lambda: S.sparsemax_loss(c * x, q), "x", lambda r: _close(r, 0.5 * np.sum(q * q, -1) - 0.5 / 7, 1e-12)
        )


def _support_vjp_law(vjp):
    def check(c, rng):
        x = _scores(rng)
        y = S.entmax_bisect(x, 1.7)
        _vjp_linear(vjp, y, rng.normal(size=x.shape), c)

    return check


def _temperature_map_law(fun, name="tau"):
    """fun(x, tau): invariant under (x, tau) -> (c x, c tau), and under a shift by c (with tau = s)."""

    def check(c, rng):
        x = _scores(rng, (3, 9))
        obeys_or_refuses(lambda: fun(c * x, c), name, lambda p: _close(p, fun(x, 1.0), 1e-12))
        xs, s, u = _shifted(c, rng, 9)
        obeys_or_refuses(lambda: fun(xs, s), name, lambda p: _close(p, fun(u, 1.0), 1e-12))

    return check


def _threshold_lambda_law(c, rng):
    x = _scores(rng, (3, 9))
    for f in ("sigmoid", "exp", "piecewise_exp", "linear"):
        want = S.threshold_topk_lambda(x, 3, f=f).lam
        obeys_or_refuses(
            lambda f=f: S.threshold_topk_lambda(c * x, 3, c, f=f).lam, "tau", lambda lam, w=want: _close(lam, w, 1e-12)
        )
        xs, s, u = _shifted(c, rng, 9)  # lam is in units of x / tau: shifted by c / s = 2^40
        want = S.threshold_topk_lambda(u, 3, f=f).lam + 2.0**40
        obeys_or_refuses(
            lambda f=f, xs=xs, s=s: S.threshold_topk_lambda(xs, 3, s, f=f).lam,
            "tau",
            lambda lam, w=want: _close(lam, w, 1e-14),
        )


def _grad_topk_vjp_law(c, rng):
    x, g = _scores(rng, (3, 9)), rng.normal(size=(3, 9))
    want = S.grad_topk_vjp(x, 3, g)
    obeys_or_refuses(lambda: S.grad_topk_vjp(c * x, 3, g, c), "tau", lambda r: _close(r * c, want, 1e-12))
    obeys_or_refuses(lambda: S.grad_topk_vjp(x, 3, c * g), "grad", lambda r: _close(r / c, want, 1e-12))


def _threshold_topk_vjp_law(c, rng):
    x, g = _scores(rng, (3, 9)), rng.normal(size=(3, 9))
    for f in ("sigmoid", "exp", "piecewise_exp", "linear"):
        p = S.threshold_topk(x, 3, f=f)
        want = S.threshold_topk_vjp(p, g, f=f)
        obeys_or_refuses(lambda p=p, f=f: S.threshold_topk_vjp(p, g, c, f=f), "tau", lambda r, w=want: _close(r * c, w))
        obeys_or_refuses(
            lambda p=p, f=f: S.threshold_topk_vjp(p, c * g, f=f), "grad", lambda r, w=want: _close(r / c, w)
        )


def _hard_topk_law(c, rng):
    x = _scores(rng, (3, 9))
    want = S.hard_topk_mask(x, 3)
    obeys_or_refuses(lambda: S.hard_topk_mask(c * x, 3), "x", lambda m: np.testing.assert_array_equal(m, want))
    xs, _, u = _shifted(c, rng, 9)
    obeys_or_refuses(
        lambda: S.hard_topk_mask(xs, 3), "x", lambda m: np.testing.assert_array_equal(m, S.hard_topk_mask(u, 3))
    )


def _log_esp_law(c, rng):
    x = _scores(rng, (3, 9))
    top3 = np.sort(x, axis=-1)[:, -3:].sum(-1)
    if c > 1:  # c times the sum of the 3 largest, plus log(1) (no ties)
        obeys_or_refuses(lambda: S.log_elementary_symmetric(c * x, 3), "x", lambda r: _close(r / c, top3, 1e-12))
    else:  # log C(9, 3)
        obeys_or_refuses(
            lambda: S.log_elementary_symmetric(c * x, 3), "x", lambda r: _close(r, np.full(3, math.log(84)), 1e-12)
        )
    xs, s, u = _shifted(c, rng, 9)  # log e_3(c + s u) = 3 c + log e_3(s u)
    want = 3 * c + S.log_elementary_symmetric(s * u, 3)
    obeys_or_refuses(lambda: S.log_elementary_symmetric(xs, 3), "x", lambda r: _close(r, want, 1e-14))


def _angular_law(c, rng):
    cos = np.clip(rng.uniform(-1, 1, size=(3, 5)), -1, 1)
    labels = rng.integers(0, 5, size=3)
    for method, margin in (("arcface", 0.4), ("sphereface", 3)):
        want = S.angular_margin_logits(cos, labels, method=method, margin=margin)
        obeys_or_refuses(
            lambda m=method, g=margin: S.angular_margin_logits(cos, labels, method=m, margin=g, scale=c),
            "scale",
            lambda r, w=want: _close(r / c, w),
        )


def _sphereface_law(c, rng):
    theta = rng.uniform(0.1, 3.0, size=6)
    if c > 1:  # angles beyond [0, pi]: refused, naming theta
        assert obeys_or_refuses(lambda: S.sphereface_psi(c * theta, 3), "theta", lambda r: None) == "refuses"
    else:  # psi(c theta) = cos(3 c theta) = 1 to double precision
        obeys_or_refuses(lambda: S.sphereface_psi(c * theta, 3), "theta", lambda r: _close(r, np.ones(6)))


LAWS = {
    P + "softmax": _softmax_law,
    P + "log_softmax": _log_softmax_law,
    P + "softmax_vjp": _softmax_vjp_law,
    P + "margin_logits": _margin_logits_law,
    P + "margin_softmax": _margin_softmax_law,
    P + "taylor_softmax": _taylor_softmax_law,
    P + "topk_softmax": _topk_softmax_law,
    P + "perturb_max_sample": _sampler_law(lambda x, **kw: S.perturb_max_sample(x, noise="normal", **kw)),
    P + "gumbel_max_sample": _sampler_law(S.gumbel_max_sample),
    P + "sparsemax": _limit_map_law(S.sparsemax),
    P + "entmax15": _limit_map_law(S.entmax15),
    P + "entmax_bisect": _limit_map_law(lambda x: S.entmax_bisect(x, 1.7)),
    P + "sparsemax_threshold": _threshold_law(
        S.sparsemax_threshold, lambda c, x: c * x.max(-1) - 1, lambda c, x: c * x.mean(-1) - 1 / 7
    ),
    P + "entmax15_threshold": _threshold_law(
        S.entmax15_threshold,
        lambda c, x: c * x.max(-1) / 2 - 1,
        lambda c, x: c * x.mean(-1) / 2 - 1 / math.sqrt(7),
        slope=0.5,
    ),
    P + "entmax_bisect_threshold": _threshold_law(
        lambda x: S.entmax_bisect_threshold(x, 1.7),
        lambda c, x: 0.7 * c * x.max(-1) - 1,
        lambda c, x: 0.7 * c * x.mean(-1) - 7**-0.7,
        slope=0.7,
    ),
    P + "sparsemax_loss": _sparsemax_loss_law,
    P + "sparsemax_vjp": _support_vjp_law(lambda y, g: S.sparsemax_vjp(y, g)),
    P + "entmax_vjp": _support_vjp_law(lambda y, g: S.entmax_vjp(y, g, 1.7)),
    P + "angular_margin_logits": _angular_law,
    P + "sphereface_psi": _sphereface_law,
    P + "hard_topk_mask": _hard_topk_law,
    P + "log_elementary_symmetric": _log_esp_law,
    P + "grad_topk": _temperature_map_law(lambda x, t: S.grad_topk(x, 3, t)),
    P + "soft_topk_iterative": _temperature_map_law(
        lambda x, t: np.concatenate([S.soft_topk_iterative(x, 3, t, variant=v) for v in ("scaled", "weighted")])
    ),
    P + "threshold_topk": _temperature_map_law(
        lambda x, t: np.concatenate(
            [S.threshold_topk(x, 3, t, f=f) for f in ("sigmoid", "exp", "piecewise_exp", "linear")]
        )
    ),
    P + "threshold_topk_lambda": _threshold_lambda_law,
    P + "grad_topk_vjp": _grad_topk_vjp_law,
    P + "threshold_topk_vjp": _threshold_topk_vjp_law,
}

NO_LAW: dict[str, str] = {}


# ------------------------------------------------------------------------------- degenerate inputs


def _simplex_map_degenerate(fun, *, neg_inf: bool = True, uniform_on_ties: bool = True):
    """n = 1 gives [1]; zeros give 1/n; tied entries equal; -inf gets 0; an empty batch keeps its shape."""

    def check(rng):
        _close(fun(np.array([2.5])), [1.0])
        _close(fun(np.zeros((2, 5))), np.full((2, 5), 0.2))
        x = rng.normal(size=6)
        x[[1, 4]] = x.max() + 1.0  # a tie at the top
        p = fun(x)
        assert p[1] == p[4] and p.sum() == pytest.approx(1.0, abs=16 * EPS)
        if neg_inf:
            x[2] = -np.inf
            assert fun(x)[2] == 0.0
        assert fun(np.zeros((0, 4))).shape == (0, 4)

    return check


def _vjp_degenerate(vjp, forward):
    def check(rng):
        y = forward(np.array([[0.3, -np.inf, 0.3, 0.1]]))
        g = np.zeros_like(y)
        np.testing.assert_array_equal(vjp(y, g), 0.0)  # zero gradient in, zero out
        r = vjp(y, np.ones_like(y))  # a constant gradient: the maps are shift invariant, so 0
        np.testing.assert_allclose(r, 0.0, rtol=0, atol=16 * EPS)
        assert vjp(np.ones((1, 1)), np.ones((1, 1))).shape == (1, 1)
        assert vjp(np.zeros((0, 3)) + 1 / 3, np.zeros((0, 3))).shape == (0, 3)

    return check


def _topk_degenerate(fun, *, hard_ties: bool = False):
    """k = n = 1, zeros (k / n each), ties, -inf (0), an empty batch."""

    def check(rng):
        _close(fun(np.array([0.7]), 1), [1.0])
        if not hard_ties:
            _close(fun(np.zeros((2, 5)), 2), np.full((2, 5), 0.4))
        x = rng.normal(size=6)
        x[[1, 4]] = x.max() + 1.0
        p = fun(x, 3)
        assert hard_ties or abs(p[1] - p[4]) <= 4 * EPS
        x[2] = -np.inf
        assert fun(x, 3)[2] == 0.0
        assert fun(np.zeros((0, 4)), 2).shape == (0, 4)

    return check


def _threshold_degenerate(fun):
    def check(rng):
        x = np.zeros((2, 5))
        t = fun(x)
        assert np.shape(t) == (2,) and np.all(t == t[0])
        assert np.shape(fun(np.zeros((0, 3)))) == (0,)
        assert np.isfinite(fun(np.array([1.0, -np.inf])))

    return check


def _margin_degenerate(fun):
    def check(rng):
        x = np.zeros((2, 4))
        labels = np.array([0, 3])
        r = fun(x, labels)
        assert r.shape == (2, 4) and np.all(np.isfinite(r))
        assert fun(np.zeros((0, 4)), np.zeros(0, dtype=int)).shape == (0, 4)
        assert fun(np.zeros((1, 1)), np.zeros(1, dtype=int)).shape == (1, 1)

    return check


def _sampler_degenerate(sample):
    def check(rng):
        assert sample(np.array([0.0]), rng=0) == 0  # one category
        assert sample(np.array([0.0, -np.inf, 0.0]), rng=0, size=50).tolist().count(1) == 0
        draws = sample(np.zeros(2), rng=0, size=2000)  # ties: both, about half each (20 SE)
        assert abs(draws.mean() - 0.5) < 20 * 0.5 / math.sqrt(2000)

    return check


def _log_esp_degenerate(rng):
    assert S.log_elementary_symmetric(np.zeros(5), 2) == pytest.approx(math.log(10), rel=4 * EPS)
    assert S.log_elementary_symmetric(np.array([0.3]), 1) == pytest.approx(0.3, rel=4 * EPS)
    assert S.log_elementary_symmetric(np.array([0.3, -np.inf]), 2) == -np.inf
    assert S.log_elementary_symmetric(np.zeros((0, 4)), 2).shape == (0,)


def _lambda_degenerate(rng):
    for f in ("sigmoid", "exp", "piecewise_exp", "linear"):
        lam = S.threshold_topk_lambda(np.zeros((2, 5)), 2, f=f).lam
        assert lam.shape == (2,) and lam[0] == lam[1]
        assert S.threshold_topk_lambda(np.zeros((0, 4)), 2, f=f).lam.shape == (0,)


def _grad_topk_vjp_degenerate(rng):
    np.testing.assert_allclose(S.grad_topk_vjp(np.zeros(5), 2, np.ones(5)), 0.0, rtol=0, atol=16 * EPS)
    np.testing.assert_array_equal(S.grad_topk_vjp(np.array([0.3]), 1, np.array([2.0])), [0.0])
    assert S.grad_topk_vjp(np.zeros((0, 4)), 2, np.zeros((0, 4))).shape == (0, 4)


def _threshold_topk_vjp_degenerate(rng):
    for f in ("sigmoid", "exp", "piecewise_exp", "linear"):
        p = S.threshold_topk(np.zeros(5), 2, f=f)
        np.testing.assert_allclose(S.threshold_topk_vjp(p, np.ones(5), f=f), 0.0, rtol=0, atol=16 * EPS)
        assert S.threshold_topk_vjp(np.zeros((0, 4)), np.zeros((0, 4)), f=f).shape == (0, 4)


def _sphereface_degenerate(rng):
    np.testing.assert_allclose(S.sphereface_psi(np.array([0.0, math.pi]), 3), [1.0, -5.0], rtol=0, atol=8 * EPS)
    assert S.sphereface_psi(np.zeros(0), 2).shape == (0,)


def _angular_degenerate(rng):
    for method, margin in (("arcface", 0.4), ("sphereface", 2)):
        r = S.angular_margin_logits(np.ones((2, 3)), np.array([0, 2]), method=method, margin=margin)
        assert r.shape == (2, 3) and np.all(np.isfinite(r))
        assert S.angular_margin_logits(
            np.zeros((0, 3)), np.zeros(0, dtype=int), method=method, margin=margin
        ).shape == (0, 3)


DEGENERATE = {
    P + "softmax": _simplex_map_degenerate(lambda x: S.softmax(x)),
    P + "log_softmax": _simplex_map_degenerate(lambda x: np.exp(S.log_softmax(x))),
    P + "softmax_vjp": _vjp_degenerate(lambda y, g: S.softmax_vjp(y, g), S.softmax),
    P + "margin_logits": _margin_degenerate(lambda x, t: S.margin_logits(x, t, margin=0.2)),
    P + "margin_softmax": _margin_degenerate(lambda x, t: S.margin_softmax(x, t, margin=0.2)),
    P + "taylor_softmax": _simplex_map_degenerate(lambda x: S.taylor_softmax(x), neg_inf=False),
    P + "topk_softmax": _simplex_map_degenerate(lambda x: S.topk_softmax(x, 1)),
    P + "perturb_max_sample": _sampler_degenerate(S.perturb_max_sample),
    P + "gumbel_max_sample": _sampler_degenerate(S.gumbel_max_sample),
    P + "sparsemax": _simplex_map_degenerate(S.sparsemax),
    P + "entmax15": _simplex_map_degenerate(S.entmax15),
    P + "entmax_bisect": _simplex_map_degenerate(lambda x: S.entmax_bisect(x, 1.7)),
    P + "sparsemax_threshold": _threshold_degenerate(S.sparsemax_threshold),
    P + "entmax15_threshold": _threshold_degenerate(S.entmax15_threshold),
    P + "entmax_bisect_threshold": _threshold_degenerate(lambda x: S.entmax_bisect_threshold(x, 1.7)),
    P + "sparsemax_loss": lambda rng: _close(S.sparsemax_loss(np.zeros(4), np.full(4, 0.25)), 0.0),
    P + "sparsemax_vjp": _vjp_degenerate(lambda y, g: S.sparsemax_vjp(y, g), S.sparsemax),
    P + "entmax_vjp": _vjp_degenerate(lambda y, g: S.entmax_vjp(y, g, 1.7), lambda x: S.entmax_bisect(x, 1.7)),
    P + "angular_margin_logits": _angular_degenerate,
    P + "sphereface_psi": _sphereface_degenerate,
    P + "hard_topk_mask": _topk_degenerate(S.hard_topk_mask, hard_ties=True),
    P + "log_elementary_symmetric": _log_esp_degenerate,
    P + "grad_topk": _topk_degenerate(S.grad_topk),
    P + "soft_topk_iterative": _topk_degenerate(S.soft_topk_iterative),
    P + "threshold_topk": _topk_degenerate(S.threshold_topk),
    P + "threshold_topk_lambda": _lambda_degenerate,
    P + "grad_topk_vjp": _grad_topk_vjp_degenerate,
    P + "threshold_topk_vjp": _threshold_topk_vjp_degenerate,
}

NOT_DEGENERATE: dict[str, str] = {}
