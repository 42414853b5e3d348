"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999).

Each transaction of a customer is worth ``z ~ Gamma(p, nu)`` (shape, rate),
and ``nu ~ Gamma(q, gamma)`` across customers, independent of purchasing.
The mean ``m`` of ``x`` transactions is then ``Gamma(p x, x nu)``, so::

    log L = lnG(px+q) - lnG(px) - lnG(q) + q ln(gamma) + (px-1) ln(m)
            + px ln(x) - (px+q) ln(gamma + m x)

The model is fitted on customers with repeat purchases (``frequency > 0``)
and a positive ``monetary_value``, the mean of their repeat purchases.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from kehu.analytics.clv.base import CLVModel, as_frame, column, group_rows, value_weights
from kehu.exceptions import SchemaError


class GammaGammaModel(CLVModel):
    """Gamma-Gamma model of the average value of a customer's purchases.

    Attributes
    ----------
    params_ : dict
        ``p, q, gamma``.
    se_, log_likelihood_, n_customers_
        As in :class:`~kehu.analytics.clv.bgnbd.BetaGeoModel`; ``n_customers_``
        counts the customers with ``frequency > 0`` and positive spend.
    """

    param_names = ("p", "q", "gamma")
    requires = ("frequency", "monetary_value")
    start = (1.0, 1.0, 1.0)

    def _statistics(self, data, weights=None):
        x, m = (column(data, c) for c in self.requires)
        keep = (x > 0) & (m > 0)
        if not keep.any():
            return (x[:0],) * 5
        (x, m), w = group_rows(x[keep], m[keep], weights=None if weights is None else weights[keep])
        # the logarithms that do not depend on the parameters, taken once
        spend = m * x
        return x, spend, x * np.log(spend), np.log(m), w

    def _loglik_grad(self, theta, x, s, x_log_s, log_m, *, weights):
        # (px-1) ln m + px ln x = p x ln(s) - ln m with s = m x, the customer's repeat spend,
        # so only ln(gamma + s) and 1/(gamma + s) are per row; the rest is per frequency
        p, q, g = theta
        w = weights
        xu, wu = value_weights(x, w)
        pu = p * xu
        log_gs = np.log(g + s)
        inv_gs = 1.0 / (g + s)
        wx = w * x
        total = wu.sum()
        sum_wx_log_gs = wx @ log_gs
        sum_w_log_gs = w @ log_gs
        sum_wx_log_s = w @ x_log_s
        ll = (
            wu @ (gammaln(pu + q) - gammaln(pu))
            - total * gammaln(q)
            + total * q * np.log(g)
            + p * sum_wx_log_s
            - w @ log_m
            - p * sum_wx_log_gs
            - q * sum_w_log_gs
        )
        psi = digamma(pu + q)
        d_p = (wu * xu) @ (psi - digamma(pu)) + sum_wx_log_s - sum_wx_log_gs
        d_q = wu @ psi - total * digamma(q) + total * np.log(g) - sum_w_log_gs
        d_g = total * q / g - p * (wx @ inv_gs) - q * (w @ inv_gs)
        return float(ll), np.array([d_p, d_q, d_g])

    def mean_spend(self) -> float:
        """Population mean value of a transaction, ``p gamma / (q - 1)`` (inf if q <= 1)."""
        p, q, g = self._theta()
        return p * g / (q - 1) if q > 1 else float("inf")

    def predict_spend(self, data: Any) -> np.ndarray:
        """Expected value of a customer's future transactions, given their history.

        ``E[M | x, m] = p (gamma + x m) / (p x + q - 1)``: the population mean
        for customers without repeat purchases, moving towards their own mean
        ``m`` as ``x`` grows.
        """
        p, q, g = self._theta()
        if q <= 1:
            raise SchemaError(f"GammaGammaModel: q = {q:.3g} <= 1, so expected spend is infinite")
        frame = as_frame(data, self.requires, "GammaGammaModel input")
        x, m = (column(frame, c) for c in self.requires)
        return p * (g + x * m) / (p * x + q - 1)
