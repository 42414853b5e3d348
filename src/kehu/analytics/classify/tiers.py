"""Purchase-frequency and spend tiers in business terms (high / medium / low).

:class:`FrequencyTier` turns a customer's order count into a rate over their
tenure::

    per_week  = orders * 7  / max(tenure_days, min_days)
    per_month = orders * 30 / max(tenure_days, min_days)

*high* when ``per_week >= high_per_week`` ("several times a week"), *medium*
when ``per_month >= medium_per_month`` ("several times a month"), else *low*
("once a month or less").  ``min_days`` stops a customer who bought twice in
their first three days from counting as "several a week".  A month is 30 days.

:class:`SpendTier` ranks customers by ``monetary``: the top ``high_share`` are
*high*, the next ``medium_share`` *medium*, the rest *low*.  The rank of a
customer is the number of customers with strictly greater monetary, so equal
values always share a tier (a tie at the boundary joins the higher tier).
``fit`` turns the shares into the monetary cut points that ``transform``
applies; ``fixed={"high": x, "medium": y}`` gives the cut points directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from kehu.analytics.classify.base import Classifier, Explanation
from kehu.analytics.features import plain, scalars
from kehu.exceptions import ConfigError
from kehu.i18n import LABELS_ZH

_EPS = 1e-9  # slack for share * n in binary floating point (0.7 * 10 is 7.000000000000001)
TIERS = ("high", "medium", "low")


def _number(value: Any, what: str, *, positive: bool = False, unit: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what} must be a number, got {value!r}")
    if positive and value <= 0:
        raise ConfigError(f"{what} must be positive, got {value}")
    if unit and not 0.0 <= value <= 1.0:
        raise ConfigError(f"{what} must be between 0 and 1, got {value}")


class FrequencyTier(Classifier):
    """Purchase-frequency tier from orders per week / month of tenure; adds ``freq_tier``.

    Parameters
    ----------
    high_per_week
        Orders per week at or above which a customer is *high* (default 2).
    medium_per_month
        Orders per month at or above which a customer is *medium* (default 2).
    min_days
        The tenure below which the rate is computed over ``min_days`` instead
        (default 28), so that brand-new customers are not over-rated.
    """

    name: ClassVar[str] = "freq_tier"
    version: ClassVar[str] = "freq_tier/1"
    requires: ClassVar[tuple[str, ...]] = ("customer_id", "orders", "tenure_days")
    outputs: ClassVar[tuple[str, ...]] = ("freq_tier",)
    labels_zh: ClassVar[dict[str, str]] = LABELS_ZH["freq_tier"]

    def __init__(
        self, high_per_week: float = 2.0, medium_per_month: float = 2.0, min_days: int = 28
    ):
        self.high_per_week = high_per_week
        self.medium_per_month = medium_per_month
        self.min_days = min_days
        _number(high_per_week, "freq_tier: high_per_week", positive=True)
        _number(medium_per_month, "freq_tier: medium_per_month", positive=True)
        _number(min_days, "freq_tier: min_days", positive=True)

    def thresholds(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "high_per_week": float(self.high_per_week),
            "medium_per_month": float(self.medium_per_month),
            "min_days": int(self.min_days),
        }

    def _transform(self, customers: ir.Table) -> ir.Table:
        c = customers
        days = ibis.greatest(c.tenure_days, self.min_days).cast("float64")
        # multiply before dividing so that whole rates (8 orders in 28 days) are exact
        per_week = c.orders * 7 / days
        per_month = c.orders * 30 / days
        tier = ibis.cases(
            (per_week >= self.high_per_week, "high"),
            (per_month >= self.medium_per_month, "medium"),
            else_="low",
        )
        return c.mutate(freq_tier=tier)

    def _explain(self, row: Mapping[str, Any]) -> Explanation:
        orders, tenure = plain(row["orders"]), plain(row["tenure_days"])
        days = max(tenure, self.min_days)
        per_week, per_month = orders * 7 / days, orders * 30 / days
        if per_week >= self.high_per_week:
            label = "high"
            why = f"{per_week:.2f} orders a week >= {self.high_per_week:g}"
            why_zh = f"每周 {per_week:.2f} 次 >= {self.high_per_week:g}"
        elif per_month >= self.medium_per_month:
            label = "medium"
            why = (
                f"{per_week:.2f} a week < {self.high_per_week:g}, "
                f"{per_month:.2f} a month >= {self.medium_per_month:g}"
            )
            why_zh = (
                f"每周 {per_week:.2f} 次 < {self.high_per_week:g}，"
                f"每月 {per_month:.2f} 次 >= {self.medium_per_month:g}"
            )
        else:
            label = "low"
            why = f"{per_month:.2f} orders a month < {self.medium_per_month:g}"
            why_zh = f"每月 {per_month:.2f} 次 < {self.medium_per_month:g}"
        over = f"{orders} orders over {days} days"
        over_zh = f"{days} 天内购买 {orders} 次"
        return Explanation(
            classifier=self.name,
            version=self.version,
            customer_id=str(row.get("customer_id")),
            label=label,
            inputs={"orders": orders, "tenure_days": tenure},
            thresholds=self.thresholds(),
            reason=f"{over}: {why} → {label}",
            reason_zh=f"{over_zh}：{why_zh} → {self.labels_zh[label]}",
            extra={"per_week": per_week, "per_month": per_month},
        )


class SpendTier(Classifier):
    """Spend tier by rank of ``monetary`` (or fixed amounts); adds ``spend_tier``.

    Parameters
    ----------
    high_share
        Share of customers (the top by monetary) that are *high* (default 0.2).
    medium_share
        Share of customers after those that are *medium* (default 0.3).
    fixed
        ``{"high": x, "medium": y}``: monetary at or above ``x`` is high, at or
        above ``y`` medium; replaces the shares.
    """

    name: ClassVar[str] = "spend_tier"
    version: ClassVar[str] = "spend_tier/1"
    requires: ClassVar[tuple[str, ...]] = ("customer_id", "monetary")
    outputs: ClassVar[tuple[str, ...]] = ("spend_tier",)
    labels_zh: ClassVar[dict[str, str]] = LABELS_ZH["spend_tier"]

    def __init__(
        self,
        high_share: float = 0.2,
        medium_share: float = 0.3,
        fixed: Mapping[str, float] | None = None,
    ):
        self.high_share = high_share
        self.medium_share = medium_share
        self.fixed = fixed
        _number(high_share, "spend_tier: high_share", unit=True)
        _number(medium_share, "spend_tier: medium_share", unit=True)
        if high_share + medium_share > 1.0 + _EPS:
            raise ConfigError(
                f"spend_tier: high_share + medium_share must be at most 1, "
                f"got {high_share} + {medium_share}"
            )
        if fixed is not None:
            if not isinstance(fixed, Mapping) or set(fixed) != {"high", "medium"}:
                raise ConfigError(
                    "spend_tier: fixed must give exactly 'high' and 'medium' amounts, "
                    f"got {fixed!r}"
                )
            _number(fixed["high"], "spend_tier: fixed high")
            _number(fixed["medium"], "spend_tier: fixed medium")
            if fixed["medium"] > fixed["high"]:
                raise ConfigError(
                    f"spend_tier: fixed medium ({fixed['medium']}) is above high ({fixed['high']})"
                )

    def _fit(self, customers: ir.Table) -> None:
        if self.fixed is not None:
            self.cuts_ = {"high": float(self.fixed["high"]), "medium": float(self.fixed["medium"])}
            self.customers_ = None
            return
        c = customers.filter(customers.monetary.notnull())
        c = c.mutate(
            _rank=ibis.rank().over(order_by=ibis.desc(c.monetary)), _n=c.monetary.count().over()
        )
        top = self.high_share + self.medium_share
        got = scalars(
            c.aggregate(
                high=c.monetary.min(where=c._rank < self.high_share * c._n - _EPS),
                medium=c.monetary.min(where=c._rank < top * c._n - _EPS),
                n=c.monetary.count(),
            )
        )
        self.customers_ = int(got.pop("n") or 0)
        self.cuts_ = {k: (None if v is None else float(v)) for k, v in got.items()}

    def thresholds(self) -> dict[str, Any]:
        self._check_fitted()
        out: dict[str, Any] = {"high_min_monetary": self.cuts_["high"]}
        out["medium_min_monetary"] = self.cuts_["medium"]
        if self.fixed is None:
            out.update(
                high_share=self.high_share, medium_share=self.medium_share, n=self.customers_
            )
        return out

    def _transform(self, customers: ir.Table) -> ir.Table:
        c = customers
        high = ibis.literal(self.cuts_["high"], type="float64")
        medium = ibis.literal(self.cuts_["medium"], type="float64")
        tier = ibis.cases(
            ((c.monetary >= high).fill_null(False), "high"),
            ((c.monetary >= medium).fill_null(False), "medium"),
            else_="low",
        )
        return c.mutate(spend_tier=tier)

    def _explain(self, row: Mapping[str, Any]) -> Explanation:
        m = plain(row["monetary"])
        high, medium = self.cuts_["high"], self.cuts_["medium"]
        basis = (
            "fixed amount"
            if self.fixed is not None
            else f"lowest monetary of the top {self.high_share:.0%}"
        )
        basis_m = (
            "fixed amount"
            if self.fixed is not None
            else f"lowest of the top {self.high_share + self.medium_share:.0%}"
        )
        if high is not None and m is not None and m >= high:
            label, why, why_zh = "high", f">= {basis} {high:,.2f}", f">= 高消费线 {high:,.2f}"
        elif medium is not None and m is not None and m >= medium:
            label = "medium"
            why = f"< high cut {_money(high)} and >= {basis_m} {medium:,.2f}"
            why_zh = f"< 高消费线 {_money(high)}，>= 中消费线 {medium:,.2f}"
        else:
            label = "low"
            why = f"< medium cut {_money(medium)}"
            why_zh = f"< 中消费线 {_money(medium)}"
        return Explanation(
            classifier=self.name,
            version=self.version,
            customer_id=str(row.get("customer_id")),
            label=label,
            inputs={"monetary": m},
            thresholds=self.thresholds(),
            reason=f"monetary {_money(m)} {why} → {label}",
            reason_zh=f"消费金额 {_money(m)} {why_zh} → {self.labels_zh[label]}",
        )


def _money(value: Any) -> str:
    return "n/a" if value is None else f"{value:,.2f}"
