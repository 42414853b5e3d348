"""Lifecycle stage: new, won back, active, at risk, lapsed.

Each customer is judged against their *own* rhythm::

    usual_gap = max(coalesce(mean_gap_days, median_gap, default_gap_days), min_gap_days)

where ``median_gap`` is the (lower, exact) median of ``mean_gap_days`` over
the customers it was fitted on, used for customers with one purchase day.
The first rule that holds wins:

1. **new**: ``tenure_days <= new_days`` (first purchase within 60 days);
2. **won_back**: the gap before the last purchase,
   ``last_purchase - prev_purchase``, exceeds both ``lapse_factor * usual_gap``
   and ``lapse_min_days``, and the customer is active again (rule 3);
3. **active**: ``recency_days <= active_factor * usual_gap``;
4. **at_risk**: ``recency_days <= lapse_factor * usual_gap``;
5. **lapsed**: otherwise.

``mean_gap_days`` is taken over the whole window, so for a won-back customer
it includes the long gap before the return; their usual gap is then somewhat
longer than their regular rhythm.  This makes the rule a little more lenient
for them, which is acceptable for a stage label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from kehu.analytics.classify.base import Classifier, Explanation
from kehu.analytics.features import plain, quantile_values
from kehu.exceptions import ConfigError
from kehu.i18n import LABELS_ZH

STAGES = ("new", "won_back", "active", "at_risk", "lapsed")


class Lifecycle(Classifier):
    """Lifecycle stage relative to each customer's usual purchase gap; adds ``lifecycle``.

    Parameters
    ----------
    new_days
        Tenure (days since first purchase) up to which a customer is new (60).
    active_factor
        Active while ``recency_days <= active_factor * usual_gap`` (1.5).
    lapse_factor
        At risk while ``recency_days <= lapse_factor * usual_gap`` (3.0); also
        the gap, in usual gaps, that makes a return a win-back.
    lapse_min_days
        A win-back also needs a gap before the last purchase longer than this (90).
    default_gap_days
        Usual gap when no customer has two purchase days (30).
    min_gap_days
        Floor of the usual gap (7), so daily buyers are not "at risk" after two days.
    """

    name: ClassVar[str] = "lifecycle"
    version: ClassVar[str] = "lifecycle/1"
    requires: ClassVar[tuple[str, ...]] = (
        "customer_id",
        "recency_days",
        "tenure_days",
        "last_purchase",
        "prev_purchase",
        "mean_gap_days",
    )
    outputs: ClassVar[tuple[str, ...]] = ("lifecycle",)
    labels_zh: ClassVar[dict[str, str]] = LABELS_ZH["lifecycle"]

    def __init__(
        self,
        new_days: int = 60,
        active_factor: float = 1.5,
        lapse_factor: float = 3.0,
        lapse_min_days: int = 90,
        default_gap_days: float = 30,
        min_gap_days: float = 7,
    ):
        self.new_days = new_days
        self.active_factor = active_factor
        self.lapse_factor = lapse_factor
        self.lapse_min_days = lapse_min_days
        self.default_gap_days = default_gap_days
        self.min_gap_days = min_gap_days
        for k, v in self.get_params().items():
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                raise ConfigError(f"lifecycle: {k} must be a non-negative number, got {v!r}")
        if active_factor > lapse_factor:
            raise ConfigError(
                f"lifecycle: active_factor ({active_factor}) must not exceed "
                f"lapse_factor ({lapse_factor})"
            )

    def _fit(self, customers: ir.Table) -> None:
        got = quantile_values(customers, {"median_gap": ("mean_gap_days", 0.5)})
        self.median_gap_ = None if got["median_gap"] is None else float(got["median_gap"])

    def thresholds(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "median_gap_days": self.median_gap_,
            "default_gap_days": float(self.default_gap_days),
            "min_gap_days": float(self.min_gap_days),
            "new_days": int(self.new_days),
            "active_factor": float(self.active_factor),
            "lapse_factor": float(self.lapse_factor),
            "lapse_min_days": float(self.lapse_min_days),
        }

    def _fallback_gap(self) -> float:
        return self.median_gap_ if self.median_gap_ is not None else float(self.default_gap_days)

    def _transform(self, customers: ir.Table) -> ir.Table:
        c = customers
        gap = ibis.greatest(
            c.mean_gap_days.cast("float64").fill_null(self._fallback_gap()),
            float(self.min_gap_days),
        )
        before_last = c.last_purchase.delta(c.prev_purchase, unit="day")
        active = c.recency_days <= self.active_factor * gap
        won_back = (
            c.prev_purchase.notnull()
            & (before_last > self.lapse_factor * gap)
            & (before_last > self.lapse_min_days)
            & active
        )
        stage = ibis.cases(
            (c.tenure_days <= self.new_days, "new"),
            (won_back.fill_null(False), "won_back"),
            (active, "active"),
            (c.recency_days <= self.lapse_factor * gap, "at_risk"),
            else_="lapsed",
        )
        return c.mutate(lifecycle=stage)

    def usual_gap(self, mean_gap_days: float | None) -> float:
        """The usual gap (days) of a customer with this ``mean_gap_days``."""
        self._check_fitted()
        base = self._fallback_gap() if mean_gap_days is None else float(mean_gap_days)
        return max(base, float(self.min_gap_days))

    def _explain(self, row: Mapping[str, Any]) -> Explanation:
        rec, tenure = plain(row["recency_days"]), plain(row["tenure_days"])
        mean_gap = plain(row["mean_gap_days"])
        last, prev = row["last_purchase"], row["prev_purchase"]
        prev = None if prev is None or prev != prev else prev  # NaT -> None
        gap = self.usual_gap(mean_gap)
        before = (last - prev).days if prev is not None else None
        source = "own mean gap" if mean_gap is not None else "population median gap"
        if mean_gap is None and self.median_gap_ is None:
            source = "default gap"
        g = f"usual gap {gap:.1f} days ({source})"
        g_zh = f"常规间隔 {gap:.1f} 天"
        active_lim, lapse_lim = self.active_factor * gap, self.lapse_factor * gap
        is_active = rec <= active_lim
        if tenure <= self.new_days:
            label = "new"
            why = f"first purchase {tenure} days ago <= {self.new_days}"
            why_zh = f"首次购买距今 {tenure} 天 <= {self.new_days}"
        elif (
            before is not None
            and before > self.lapse_factor * gap
            and before > self.lapse_min_days
            and is_active
        ):
            label = "won_back"
            why = (
                f"returned after {before} days > {self.lapse_factor:g} x {g} "
                f"and > {self.lapse_min_days}; {rec} days since last purchase <= {active_lim:.1f}"
            )
            why_zh = (
                f"间隔 {before} 天后回购 > {self.lapse_factor:g} × {g_zh} "
                f"且 > {self.lapse_min_days}；"
                f"最近一次购买距今 {rec} 天 <= {active_lim:.1f}"
            )
        elif is_active:
            label = "active"
            why = (
                f"{rec} days since last purchase <= {self.active_factor:g} x {g} = {active_lim:.1f}"
            )
            why_zh = (
                f"最近一次购买距今 {rec} 天 <= {self.active_factor:g} × {g_zh} = {active_lim:.1f}"
            )
        elif rec <= lapse_lim:
            label = "at_risk"
            why = f"{rec} days since last purchase <= {self.lapse_factor:g} x {g} = {lapse_lim:.1f}"
            why_zh = (
                f"最近一次购买距今 {rec} 天 <= {self.lapse_factor:g} × {g_zh} = {lapse_lim:.1f}"
            )
        else:
            label = "lapsed"
            why = f"{rec} days since last purchase > {self.lapse_factor:g} x {g} = {lapse_lim:.1f}"
            why_zh = f"最近一次购买距今 {rec} 天 > {self.lapse_factor:g} × {g_zh} = {lapse_lim:.1f}"
        return Explanation(
            classifier=self.name,
            version=self.version,
            customer_id=str(row.get("customer_id")),
            label=label,
            inputs={
                "recency_days": rec,
                "tenure_days": tenure,
                "mean_gap_days": mean_gap,
                "gap_before_last_days": before,
            },
            thresholds=self.thresholds(),
            reason=f"{why} → {label}",
            reason_zh=f"{why_zh} → {self.labels_zh[label]}",
            extra={"usual_gap_days": gap},
        )
