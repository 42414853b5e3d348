"""The Chinese 8-class RFM model (RFM 八类客户).

Each of R, F and M is *high* or *low* against a threshold learned from all
customers (the mean by default, or the median, a quantile or a fixed number):

- R is high when ``recency_days`` is **below** the threshold (bought recently),
- F is high when ``orders`` is **above** it,
- M is high when ``monetary`` (or ``avg_order_value``) is **above** it.

A value equal to the threshold is always *low*.  M decides 重要 (high) or
一般 (low); R and F decide the rest: R high + F high = 价值, R low + F high =
保持, R high + F low = 发展, R low + F low = 挽留.

Medians and quantiles are exact and discrete
(:func:`kehu.analytics.features.discrete_quantile`: the lower median for an
even number of customers), so every engine finds the same thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from kehu.analytics.classify.base import Classifier, Explanation
from kehu.analytics.features import plain, quantile_values, scalars
from kehu.exceptions import ConfigError
from kehu.names import RFM8_EN

#: (M high, R high, F high) -> (Chinese label, English label)
RFM8_CLASSES: dict[tuple[bool, bool, bool], tuple[str, str]] = {
    key: (zh, RFM8_EN[zh])
    for key, zh in {
        (True, True, True): "重要价值客户",
        (True, True, False): "重要发展客户",
        (True, False, True): "重要保持客户",
        (True, False, False): "重要挽留客户",
        (False, True, True): "一般价值客户",
        (False, True, False): "一般发展客户",
        (False, False, True): "一般保持客户",
        (False, False, False): "一般挽留客户",
    }.items()
}
RFM8_LABELS = tuple(zh for zh, _ in RFM8_CLASSES.values())

_METHODS = ("mean", "median", "quantile", "fixed")
_DIMS = ("recency_days", "orders", "monetary")
_METHOD_ZH = {"mean": "平均值", "median": "中位数", "quantile": "分位数", "fixed": "设定值"}


class RFM8(Classifier):
    """The 8-class RFM model; adds ``rfm8`` (Chinese, renamable) and ``rfm8_en``.

    Parameters
    ----------
    threshold
        ``"mean"`` (default), ``"median"``, ``"quantile"`` or ``"fixed"``.
    quantile
        The quantile used when ``threshold="quantile"`` (0..1).
    fixed
        Fixed thresholds by dimension (``recency_days``, ``orders``,
        ``monetary``).  Required for all three when ``threshold="fixed"``;
        with another method, the dimensions given here override the learned
        ones.
    monetary
        ``"total"`` (``monetary``) or ``"average"`` (``avg_order_value``).
    labels
        Renames: default Chinese label -> the label to output in ``rfm8``.

    Examples
    --------
    >>> from kehu.analytics.classify import RFM8
    >>> clf = RFM8(threshold="median").fit(features)  # doctest: +SKIP
    >>> clf.transform(features).rfm8  # doctest: +SKIP
    """

    name: ClassVar[str] = "rfm8"
    version: ClassVar[str] = "rfm8/1"
    requires: ClassVar[tuple[str, ...]] = (
        "customer_id",
        "recency_days",
        "orders",
        "monetary",
        "avg_order_value",
    )
    outputs: ClassVar[tuple[str, ...]] = ("rfm8", "rfm8_en")
    labels_zh: ClassVar[dict[str, str]] = {en: zh for zh, en in RFM8_CLASSES.values()}

    def __init__(
        self,
        threshold: str = "mean",
        quantile: float = 0.5,
        fixed: Mapping[str, float] | None = None,
        monetary: str = "total",
        labels: Mapping[str, str] | None = None,
    ):
        self.threshold = threshold
        self.quantile = quantile
        self.fixed = fixed
        self.monetary = monetary
        self.labels = labels
        self._validate()

    def _validate(self) -> None:
        if self.threshold not in _METHODS:
            raise ConfigError(
                f"rfm8: unknown threshold method {self.threshold!r}; "
                f"use one of {', '.join(_METHODS)}"
            )
        if isinstance(self.quantile, bool) or not isinstance(self.quantile, int | float):
            raise ConfigError(f"rfm8: quantile must be a number, got {self.quantile!r}")
        if not 0.0 <= self.quantile <= 1.0:
            raise ConfigError(f"rfm8: quantile must be between 0 and 1, got {self.quantile}")
        if self.monetary not in ("total", "average"):
            raise ConfigError(f"rfm8: monetary must be 'total' or 'average', got {self.monetary!r}")
        fixed = dict(self.fixed or {})
        unknown = sorted(set(fixed) - set(_DIMS))
        if unknown:
            raise ConfigError(
                f"rfm8: unknown fixed threshold(s) {', '.join(unknown)}; use {', '.join(_DIMS)}"
            )
        for k, v in fixed.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ConfigError(f"rfm8: fixed threshold {k} must be a number, got {v!r}")
        if self.threshold == "fixed":
            missing = [d for d in _DIMS if d not in fixed]
            if missing:
                raise ConfigError(
                    f"rfm8: threshold='fixed' needs fixed values for {', '.join(missing)}"
                )
        unknown = sorted(set(self.labels or {}) - set(RFM8_LABELS))
        if unknown:
            raise ConfigError(
                f"rfm8: cannot rename unknown label(s) {', '.join(unknown)}; "
                f"labels are {', '.join(RFM8_LABELS)}"
            )

    @property
    def _m_column(self) -> str:
        return "monetary" if self.monetary == "total" else "avg_order_value"

    def _columns(self) -> dict[str, str]:
        """Threshold name -> the feature column it applies to."""
        return {"recency_days": "recency_days", "orders": "orders", "monetary": self._m_column}

    def _fit(self, customers: ir.Table) -> None:
        cols = self._columns()
        fixed = dict(self.fixed or {})
        learn = {k: c for k, c in cols.items() if k not in fixed}
        if not learn:
            learned: dict[str, Any] = {}
        elif self.threshold == "mean":
            learned = scalars(
                customers.aggregate(**{k: customers[c].mean() for k, c in learn.items()})
            )
        else:
            q = 0.5 if self.threshold == "median" else float(self.quantile)
            learned = quantile_values(customers, {k: (c, q) for k, c in learn.items()})
        self.thresholds_ = {
            k: (float(fixed[k]) if k in fixed else _float(learned.get(k))) for k in cols
        }
        self.methods_ = {k: ("fixed" if k in fixed else self.threshold) for k in cols}

    def thresholds(self) -> dict[str, Any]:
        self._check_fitted()
        return {**self.thresholds_, "methods": dict(self.methods_), "m_column": self._m_column}

    def _label(self, zh: str) -> str:
        return (self.labels or {}).get(zh, zh)

    def _transform(self, customers: ir.Table) -> ir.Table:
        th = {k: ibis.literal(v, type="float64") for k, v in self.thresholds_.items()}
        c = customers
        r_high = (c.recency_days < th["recency_days"]).fill_null(False)
        f_high = (c.orders > th["orders"]).fill_null(False)
        m_high = (c[self._m_column] > th["monetary"]).fill_null(False)
        conds = {
            key: (m_high if key[0] else ~m_high)
            & (r_high if key[1] else ~r_high)
            & (f_high if key[2] else ~f_high)
            for key in RFM8_CLASSES
        }
        zh = ibis.cases(*[(conds[k], self._label(z)) for k, (z, _) in RFM8_CLASSES.items()])
        en = ibis.cases(*[(conds[k], e) for k, (_, e) in RFM8_CLASSES.items()])
        return c.mutate(rfm8=zh, rfm8_en=en)

    def _explain(self, row: Mapping[str, Any]) -> Explanation:
        th = self.thresholds_
        m_col = self._m_column
        r, f, m = plain(row["recency_days"]), plain(row["orders"]), plain(row[m_col])
        r_high = _lt(r, th["recency_days"])
        f_high = _lt(th["orders"], f)
        m_high = _lt(th["monetary"], m)
        zh_label, en_label = RFM8_CLASSES[(m_high, r_high, f_high)]
        label = self._label(zh_label)

        def how(k: str) -> tuple[str, str]:
            method = self.methods_[k]
            if method == "quantile":
                return f"q{self.quantile:g}", f"{self.quantile:g} 分位数"
            return method, _METHOD_ZH[method]

        (r_en, r_zh), (f_en, f_zh), (m_en, m_zh) = (
            how("recency_days"),
            how("orders"),
            how("monetary"),
        )
        m_name_en = "M" if m_col == "monetary" else "M (average order value)"
        m_name_zh = "M" if m_col == "monetary" else "M（客单价）"
        reason = (
            f"R {_hl(r_high)}: {r} days since last purchase {'<' if r_high else '>='} "
            f"{r_en} {_num(th['recency_days'])}; "
            f"F {_hl(f_high)}: {f} orders {'>' if f_high else '<='} {f_en} {_num(th['orders'])}; "
            f"{m_name_en} {_hl(m_high)}: {_money(m)} {'>' if m_high else '<='} "
            f"{m_en} {_money(th['monetary'])} → {en_label if label == zh_label else label}"
        )
        reason_zh = (
            f"R{_hl_zh(r_high)}：最近一次购买距今 {r} 天 {'<' if r_high else '>='} "
            f"{r_zh} {_num(th['recency_days'])}；"
            f"F{_hl_zh(f_high)}：购买 {f} 次 {'>' if f_high else '<='} "
            f"{f_zh} {_num(th['orders'])}；"
            f"{m_name_zh}{_hl_zh(m_high)}：{_money(m)} {'>' if m_high else '<='} "
            f"{m_zh} {_money(th['monetary'])} → {label}"
        )
        return Explanation(
            classifier=self.name,
            version=self.version,
            customer_id=str(row.get("customer_id")),
            label=label,
            inputs={"recency_days": r, "orders": f, m_col: m},
            thresholds=self.thresholds(),
            reason=reason,
            reason_zh=reason_zh,
            extra={"label_en": en_label, "r_high": r_high, "f_high": f_high, "m_high": m_high},
        )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _lt(a: Any, b: Any) -> bool:
    """``a < b``, false when either side is unknown (like the engine's fill_null)."""
    return a is not None and b is not None and a < b


def _hl(high: bool) -> str:
    return "high" if high else "low"


def _hl_zh(high: bool) -> str:
    return "高" if high else "低"


def _num(value: Any) -> str:
    """A count or day number: integers plainly, other values to two decimals."""
    if value is None:
        return "n/a"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _money(value: Any) -> str:
    return "n/a" if value is None else f"{value:,.2f}"
