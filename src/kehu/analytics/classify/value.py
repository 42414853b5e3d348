"""Value tiers: ABC (Pareto) classes and value deciles.

ABC: sort customers by ``monetary`` descending and let ``prior`` be the revenue
of all customers with *strictly greater* monetary.  With ``total`` the sum of
positive monetary values, a customer with positive monetary is

- **A** when ``prior < a_share * total`` (default 80%): the customer whose
  revenue crosses 80% is still A, and equal values share a class;
- **B** when ``prior < b_share * total`` (default 95%);
- **C** otherwise, and always when monetary <= 0.

``fit`` turns the shares into the lowest monetary value of A and of B, which
``transform`` applies (so the same table gets exactly the rule above).

``value_decile`` is :func:`kehu.analytics.rfm.quintile_score` with 10 bins on
``monetary`` (1 lowest, 10 top; ties share a decile), computed over the table
being transformed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from kehu.analytics.classify.base import Classifier, Explanation, with_window_columns
from kehu.analytics.features import plain, scalars
from kehu.analytics.rfm import quintile_score
from kehu.exceptions import ConfigError
from kehu.i18n import LABELS_ZH


class ABC(Classifier):
    """ABC / Pareto value classes and value deciles; adds ``abc`` and ``value_decile``.

    Parameters
    ----------
    cuts
        Cumulative revenue shares ``(a_share, b_share)`` closing classes A and B
        (default ``(0.8, 0.95)``); ``0 < a_share <= b_share <= 1``.
    """

    name: ClassVar[str] = "abc"
    version: ClassVar[str] = "abc/1"
    requires: ClassVar[tuple[str, ...]] = ("customer_id", "monetary")
    outputs: ClassVar[tuple[str, ...]] = ("abc", "value_decile")
    labels_zh: ClassVar[dict[str, str]] = LABELS_ZH["abc"]

    def __init__(self, cuts: Sequence[float] = (0.8, 0.95)):
        self.cuts = cuts
        try:
            a, b = (float(x) for x in cuts)
        except (TypeError, ValueError):
            raise ConfigError(
                f"abc: cuts must be two revenue shares (a, b), got {cuts!r}"
            ) from None
        if not 0.0 < a <= b <= 1.0:
            raise ConfigError(f"abc: cuts must satisfy 0 < a <= b <= 1, got {cuts!r}")

    def _fit(self, customers: ir.Table) -> None:
        a, b = (float(x) for x in self.cuts)
        pos = customers.filter(customers.monetary > 0)
        # one row per distinct value, so that the running sum treats ties together
        vals = pos.group_by("monetary").agg(_s=pos.monetary.sum())
        vals = vals.mutate(
            _cum=vals._s.sum().over(ibis.cumulative_window(order_by=ibis.desc(vals.monetary))),
            _total=vals._s.sum().over(),
        )
        prior = vals._cum - vals._s
        got = scalars(
            vals.aggregate(
                a=vals.monetary.min(where=prior < a * vals._total),
                b=vals.monetary.min(where=prior < b * vals._total),
                total=vals._total.max(),
            )
        )
        self.total_ = got["total"]
        self.cuts_ = {"A": got["a"], "B": got["b"]}

    def thresholds(self) -> dict[str, Any]:
        self._check_fitted()
        a, b = (float(x) for x in self.cuts)
        return {
            "a_share": a,
            "b_share": b,
            "total_positive_revenue": self.total_,
            "a_min_monetary": self.cuts_["A"],
            "b_min_monetary": self.cuts_["B"],
        }

    def _transform(self, customers: ir.Table) -> ir.Table:
        c = customers
        pos = c.monetary > 0
        a_min = ibis.literal(self.cuts_["A"], type="float64")
        b_min = ibis.literal(self.cuts_["B"], type="float64")
        abc = ibis.cases(
            ((pos & (c.monetary >= a_min)).fill_null(False), "A"),
            ((pos & (c.monetary >= b_min)).fill_null(False), "B"),
            else_="C",
        )
        c = c.mutate(abc=abc)
        return with_window_columns(
            c, ["monetary"], lambda n: {"value_decile": quintile_score(n.monetary, bins=10)}
        )

    def _explain(self, row: Mapping[str, Any]) -> Explanation:
        m = plain(row["monetary"])
        a_min, b_min = self.cuts_["A"], self.cuts_["B"]
        a, b = (float(x) for x in self.cuts)
        if m is None or m <= 0:
            label, why = "C", "monetary is not positive"
            why_zh = "消费金额不为正"
        elif a_min is not None and m >= a_min:
            label = "A"
            why = (
                f">= {a_min:,.2f}, the lowest value among the customers bringing the first {a:.0%}"
            )
            why_zh = f">= {a_min:,.2f}（贡献前 {a:.0%} 收入的客户中的最低值）"
        elif b_min is not None and m >= b_min:
            label = "B"
            why = f"< {a_min:,.2f} (A) and >= {b_min:,.2f}, the lowest value within {b:.0%}"
            why_zh = f"< {a_min:,.2f}（A 类线），>= {b_min:,.2f}（{b:.0%} 收入线）"
        else:
            label = "C"
            why = f"< {_money(b_min)}, beyond {b:.0%} of revenue"
            why_zh = f"< {_money(b_min)}，在 {b:.0%} 收入之外"
        decile = plain(row.get("value_decile"))
        tail = f"; value decile {decile}" if decile is not None else ""
        tail_zh = f"；价值十分位 {decile}" if decile is not None else ""
        return Explanation(
            classifier=self.name,
            version=self.version,
            customer_id=str(row.get("customer_id")),
            label=label,
            inputs={"monetary": m},
            thresholds=self.thresholds(),
            reason=f"monetary {_money(m)} {why} → {label}{tail}",
            reason_zh=f"消费金额 {_money(m)} {why_zh} → {self.labels_zh[label]}{tail_zh}",
            extra={"value_decile": decile},
        )


def _money(value: Any) -> str:
    return "n/a" if value is None else f"{value:,.2f}"
