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

from kehu.analytics.clv.base import CLVModel, as_frame, column, group_rows
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

    def _statistics(self, data):
        x, m = (column(data, c) for c in self.requires)
        keep = (x > 0) & (m > 0)
        (x, m), w = group_rows(x[keep], m[keep]) if keep.any() else ((x[:0], m[:0]), x[:0])
        return x, m, w

    def _loglik_grad(self, theta, x, m, *, weights):
        p, q, g = theta
        px = p * x
        log_gmx = np.log(g + m * x)
        ll = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(g)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * log_gmx
        )
        psi = digamma(px + q)
        d_p = x * (psi - digamma(px) + np.log(m) + np.log(x) - log_gmx)
        d_q = psi - digamma(q) + np.log(g) - log_gmx
        d_g = q / g - (px + q) / (g + m * x)
        grad = np.array([(weights * d).sum() for d in (d_p, d_q, d_g)])
        return float((weights * ll).sum()), grad

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
