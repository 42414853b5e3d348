"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While active, a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``
(shape, rate); after each repeat purchase they drop out with probability
``p ~ Beta(a, b)``.  For a customer with ``x`` repeat purchases, the last at
``t_x``, observed up to ``T``::

    log L = lnG(r+x) - lnG(r) + r ln(alpha) + lnB(a, b+x) - lnB(a, b)
            + log[ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]

evaluated in log space (``logaddexp``) with its analytic gradient.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, hyp2f1

from kehu.analytics.clv.base import PurchaseModel, value_weights


class BetaGeoModel(PurchaseModel):
    """BG/NBD: Beta-geometric dropout, NBD purchasing.

    Parameters
    ----------
    tol, max_iter
        Gradient tolerance and iteration limit of the optimiser.

    Attributes
    ----------
    params_ : dict
        ``r, alpha, a, b`` (``alpha`` in the summary's time unit).
    se_ : dict
        Their standard errors (inverse Hessian).
    log_likelihood_ : float
        Maximised log-likelihood.
    n_customers_ : int
        Customers the model was fitted on.

    Examples
    --------
    >>> model = BetaGeoModel().fit(summary)  # doctest: +SKIP
    >>> model.predict_purchases(39, summary)  # doctest: +SKIP
    """

    param_names = ("r", "alpha", "a", "b")
    start = (1.0, 1.0, 1.0, 1.0)

    def _loglik_grad(self, theta, x, tx, T, *, weights):
        r, alpha, a, b = theta
        w = weights
        # the log-gamma and digamma terms depend on x alone: once per distinct frequency
        xu, wu = value_weights(x, w)
        total = wu.sum()
        ll_x = wu @ (gammaln(r + xu) + gammaln(b + xu) - gammaln(a + b + xu)) + total * (
            -gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b)
        )
        psi_abx = wu @ digamma(a + b + xu)
        g_r = wu @ digamma(r + xu) + total * (np.log(alpha) - digamma(r))
        g_a = total * digamma(a + b) - psi_abx
        g_b = total * (digamma(a + b) - digamma(b)) + wu @ digamma(b + xu) - psi_abx
        # the tail log[(alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x)] is per row
        rx = r + x
        log_aT = np.log(alpha + T)
        log_atx = np.log(alpha + tx)
        a3 = -rx * log_aT
        repeat = x > 0
        bx1 = np.where(repeat, b + x - 1, 1.0)  # b+x-1 is only used where x > 0
        a4 = np.where(repeat, np.log(a) - np.log(bx1) - rx * log_atx, -np.inf)
        tail = np.logaddexp(a3, a4)
        w3 = w * np.exp(a3 - tail)
        w4 = w * np.exp(a4 - tail)  # 0 where x = 0
        ll = ll_x + w @ tail
        d_r = g_r - w3 @ log_aT - w4 @ log_atx
        d_alpha = total * r / alpha - (w3 @ (rx / (alpha + T))) - (w4 @ (rx / (alpha + tx)))
        d_a = g_a + w4.sum() / a
        d_b = g_b - w4 @ (1.0 / bx1)
        return float(ll), np.array([d_r, d_alpha, d_a, d_b])

    def _odds_dead(self, x, tx, T):
        """``[x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)``, the odds of having dropped out."""
        r, alpha, a, b = self._theta()
        repeat = x > 0
        bx1 = np.where(repeat, b + x - 1, 1.0)
        log_odds = np.log(a) - np.log(bx1) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        return np.where(repeat, np.exp(np.minimum(log_odds, 700.0)), 0.0)

    def _probability_alive(self, x, tx, T):
        return 1.0 / (1.0 + self._odds_dead(x, tx, T))

    def _conditional_purchases(self, t, x, tx, T):
        r, alpha, a, b = self._theta()
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        ratio = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
        body = head * (1 - ratio * hyp2f1(r + x, b + x, a + b + x - 1, z))
        return body / (1.0 + self._odds_dead(x, tx, T))

    def _unconditional_purchases(self, t):
        r, alpha, a, b = self._theta()
        ratio = (alpha / (alpha + t)) ** r
        return (a + b - 1) / (a - 1) * (1 - ratio * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
