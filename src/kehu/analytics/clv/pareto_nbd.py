"""Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005 note).

While active, a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``;
their lifetime is exponential with rate ``mu ~ Gamma(s, beta)``.  For ``x``
repeat purchases, the last at ``t_x``, observed up to ``T``::

    L = G(r+x) alpha^r beta^s / G(r)
        * [ 1 / ((alpha+T)^(r+x) (beta+T)^s) + s/(r+s+x) A0 ]

    A0 = F(a1, b1; c; z(t_x)) / (m+t_x)^(r+s+x) - F(a1, b1; c; z(T)) / (m+T)^(r+s+x)

with ``F`` the Gauss hypergeometric function, ``c = r+s+x+1``, ``a1 = r+s+x``,
and, when ``alpha >= beta``: ``m = alpha``, ``b1 = s+1``,
``z(t) = (alpha-beta)/(alpha+t)``; when ``alpha < beta``: ``m = beta``,
``b1 = r+x``, ``z(t) = (beta-alpha)/(beta+t)``.  Either way ``0 <= z < 1``.

Near ``z = 1`` the series of ``F`` converges slowly and ``F`` itself grows
like a power of ``1 - z``, so it is evaluated through Euler's transformation
``F(a1, b1; c; z) = (1-z)^(c-a1-b1) F(c-a1, c-b1; c; z)``, where
``c - a1 = 1`` leaves a series of positive terms, in logs.  The difference in
``A0`` and the sum in ``L`` are taken in log space (``log1p``/``logaddexp``).
The gradient is by central differences (four parameters).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, hyp2f1

from kehu.analytics.clv.base import PurchaseModel


def _log_hyp2f1_euler(b1: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``log F(c-1, b1; c; z)`` for ``0 <= z < 1`` via Euler's transformation."""
    return (c - (c - 1) - b1) * np.log1p(-z) + np.log(hyp2f1(1.0, c - b1, c, z))


def log_a0(r, alpha, s, beta, x, tx, T):
    """``log A0`` of the Pareto/NBD likelihood; ``-inf`` where ``t_x = T``."""
    rsx = r + s + x
    c = rsx + 1
    if alpha >= beta:
        m, b1, diff = alpha, s + 1.0, alpha - beta
    else:
        m, b1, diff = beta, r + x, beta - alpha
    first = _log_hyp2f1_euler(b1, c, diff / (m + tx)) - rsx * np.log(m + tx)
    second = _log_hyp2f1_euler(b1, c, diff / (m + T)) - rsx * np.log(m + T)
    # first >= second since A0 is an integral of a positive function over (t_x, T)
    gap = np.minimum(second - first, 0.0)
    with np.errstate(divide="ignore"):
        return first + np.log(-np.expm1(gap))


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD: exponential lifetimes, NBD purchasing.

    Attributes
    ----------
    params_ : dict
        ``r, alpha, s, beta`` (``alpha`` and ``beta`` in the summary's time unit).
    se_, log_likelihood_, n_customers_
        As in :class:`~kehu.analytics.clv.bgnbd.BetaGeoModel`.
    """

    param_names = ("r", "alpha", "s", "beta")
    start = (1.0, 1.0, 1.0, 1.0)

    def _loglik(self, theta, x, tx, T):
        r, alpha, s, beta = theta
        head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        gone = np.log(s) - np.log(r + s + x) + log_a0(r, alpha, s, beta, x, tx, T)
        return head + np.logaddexp(alive, gone)

    def _loglik_grad(self, theta, x, tx, T, *, weights):
        ll = float((weights * self._loglik(theta, x, tx, T)).sum())
        grad = np.empty(len(theta))
        for i in range(len(theta)):
            h = 1e-6 * theta[i]
            up, down = theta.copy(), theta.copy()
            up[i] += h
            down[i] -= h
            diff = self._loglik(up, x, tx, T) - self._loglik(down, x, tx, T)
            grad[i] = (weights * diff).sum() / (2 * h)
        return ll, grad

    def _log_odds_dead(self, x, tx, T):
        r, alpha, s, beta = self._theta()
        return (
            np.log(s)
            - np.log(r + s + x)
            + (r + x) * np.log(alpha + T)
            + s * np.log(beta + T)
            + log_a0(r, alpha, s, beta, x, tx, T)
        )

    def _probability_alive(self, x, tx, T):
        return np.exp(-np.logaddexp(0.0, self._log_odds_dead(x, tx, T)))

    def _conditional_purchases(self, t, x, tx, T):
        r, alpha, s, beta = self._theta()
        # [1 - ((beta+T)/(beta+T+t))^(s-1)] / (s-1), with its limit log(...) at s = 1
        log_ratio = np.log(beta + T + t) - np.log(beta + T)
        span = log_ratio if abs(s - 1) < 1e-8 else -np.expm1(-(s - 1) * log_ratio) / (s - 1)
        rate = (r + x) * (beta + T) / (alpha + T)
        return rate * span * self._probability_alive(x, tx, T)

    def _unconditional_purchases(self, t):
        r, alpha, s, beta = self._theta()
        log_ratio = np.log(beta + t) - np.log(beta)
        span = log_ratio if abs(s - 1) < 1e-8 else -np.expm1(-(s - 1) * log_ratio) / (s - 1)
        return r * beta / alpha * span
