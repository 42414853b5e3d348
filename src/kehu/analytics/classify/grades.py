"""Grade ranking in the tobacco retail style (卷烟零售客户分档).

Each customer gets a score, the weighted mean of the percent ranks (0..1) of
volume, amount, breadth and premium mix::

    grade_score = sum(w_i * pct_rank_i) / sum(w_i)
    pct_rank    = (number of customers with a smaller value) / (n - 1)

(nulls rank lowest; one customer has rank 0).  Customers are then ranked by
score and cut into ``n_grades`` grades (1 lowest, N highest) holding the
given shares of customers from grade 1 up: with ``rank`` the number of
customers with a strictly lower score, a customer is in the lowest grade ``g``
with ``rank < (shares_1 + ... + shares_g) * n``, so equal scores always share
a grade.  ``fit`` records the lowest score of each grade; ``transform``
computes the scores of the table it is given (ranks are relative to that
table) and applies the recorded cut points.

Publishing and locking grades is the services layer's job; it needs
:meth:`Grade.record` (to keep a run), :meth:`Grade.from_record` (to regrade
with the cut points of a published run) and :func:`apply_published` (to keep
published grades).  :func:`starting_grade` gives new outlets the median grade
of established outlets like them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import ibis
import ibis.expr.types as ir

from kehu.analytics.classify.base import Classifier, Explanation, with_window_columns
from kehu.analytics.features import discrete_quantile, plain, scalars
from kehu.analytics.schema import require_columns
from kehu.exceptions import ConfigError

DEFAULT_WEIGHTS = {"quantity": 0.3, "monetary": 0.4, "distinct_products": 0.2, "premium_share": 0.1}
_EPS = 1e-9  # slack for share * n in binary floating point
_SCORE_DIGITS = 9  # scores are rounded so that equal inputs tie on every engine


class Grade(Classifier):
    """Tobacco-style grades 1..N from a weighted percent-rank score.

    Adds ``grade`` (1 lowest .. N highest) and ``grade_score`` (0..1).

    Parameters
    ----------
    n_grades
        Number of grades N (default 30); grade N is the highest.
    weights
        Column -> weight (default quantity 0.3, monetary 0.4,
        distinct_products 0.2, premium_share 0.1).  Columns missing from the
        table or entirely null are dropped and the rest renormalised; the
        thresholds record which.
    shares
        N fractions of customers per grade, from grade 1 up, summing to 1
        (default equal shares).
    """

    name: ClassVar[str] = "grade"
    version: ClassVar[str] = "grade/1"
    requires: ClassVar[tuple[str, ...]] = ("customer_id",)
    outputs: ClassVar[tuple[str, ...]] = ("grade", "grade_score")
    labels_zh: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        n_grades: int = 30,
        weights: Mapping[str, float] | None = None,
        shares: Sequence[float] | None = None,
    ):
        self.n_grades = n_grades
        self.weights = weights
        self.shares = shares
        if isinstance(n_grades, bool) or not isinstance(n_grades, int) or n_grades < 1:
            raise ConfigError(f"grade: n_grades must be a positive integer, got {n_grades!r}")
        w = DEFAULT_WEIGHTS if weights is None else weights
        if not isinstance(w, Mapping) or not w:
            raise ConfigError(f"grade: weights must map column names to weights, got {w!r}")
        for k, v in w.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                raise ConfigError(f"grade: weight of {k} must be a non-negative number, got {v!r}")
        if sum(w.values()) <= 0:
            raise ConfigError("grade: the weights must not all be zero")
        if shares is not None:
            if isinstance(shares, str | bytes) or len(shares) != n_grades:
                raise ConfigError(
                    f"grade: shares must list {n_grades} fractions (one per grade), got {shares!r}"
                )
            if any(isinstance(s, bool) or not isinstance(s, int | float) or s < 0 for s in shares):
                raise ConfigError(f"grade: shares must be non-negative numbers, got {shares!r}")
            if abs(sum(shares) - 1.0) > 1e-6:
                raise ConfigError(f"grade: shares must sum to 1, they sum to {sum(shares):g}")

    # --- fitting --------------------------------------------------------------------------
    def _cumulative(self) -> list[float]:
        n = self.n_grades
        shares = [1.0 / n] * n if self.shares is None else [float(s) for s in self.shares]
        cum, total = [], 0.0
        for s in shares[:-1]:
            total += s
            cum.append(total)
        return cum  # upper bound (as a share) of grades 1..N-1

    def _fit(self, customers: ir.Table) -> None:
        w = dict(DEFAULT_WEIGHTS if self.weights is None else self.weights)
        w = {k: float(v) for k, v in w.items() if v > 0}
        present = {k: v for k, v in w.items() if k in customers.columns}
        counts = scalars(
            customers.aggregate(_n=customers.count(), **{k: customers[k].count() for k in present})
        )
        n = int(counts.pop("_n") or 0)
        used = {k: v for k, v in present.items() if n == 0 or (counts[k] or 0) > 0}
        if not used:
            raise ConfigError(
                f"grade: none of the weighted columns ({', '.join(w)}) has any value; "
                f"columns found: {', '.join(customers.columns)}"
            )
        total = sum(used.values())
        self.weights_ = {k: round(v / total, 12) for k, v in used.items()}
        self.dropped_ = sorted(set(w) - set(used))
        # the fit needs only the scores: no join back to the wide table
        narrow = customers.select("customer_id", *self.weights_)
        scored = narrow.select(**self._score(narrow))
        rank = ibis.rank().over(order_by=scored.grade_score)
        size = scored.grade_score.count().over()
        grade = ibis.literal(1, type="int64")
        for cum in self._cumulative():
            grade = grade + (rank >= cum * size - _EPS).cast("int64")
        ranked = scored.mutate(_grade=grade)
        rows = (
            ranked.group_by("_grade")
            .agg(low=ranked.grade_score.min(), n=ranked.grade_score.count())
            .to_pyarrow()
            .to_pylist()
        )
        low = {int(r["_grade"]): float(r["low"]) for r in rows}
        self.counts_ = {int(r["_grade"]): int(r["n"]) for r in rows}
        # cut g (g = 1..N-1): lowest score of any grade above g
        self.cuts_ = [
            min((low[h] for h in low if h > g), default=None) for g in range(1, self.n_grades)
        ]
        self.customers_ = n

    def thresholds(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "weights": dict(self.weights_),
            "dropped": list(self.dropped_),
            "score_cuts": list(self.cuts_),
            "customers_per_grade": {
                str(g): self.counts_.get(g, 0) for g in range(1, self.n_grades + 1)
            },
            "n": self.customers_,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Self:
        """A fitted grader that reuses a kept run's weights and score cut points.

        ``record`` is what :meth:`record` returned for the published run.
        """
        params, th = record.get("params", {}), record.get("thresholds", {})
        self = cls(**params)
        cuts = list(th["score_cuts"])
        if len(cuts) != self.n_grades - 1:
            raise ConfigError(
                f"grade: the record has {len(cuts)} score cuts for {self.n_grades} grades"
            )
        self.weights_ = {k: float(v) for k, v in th["weights"].items()}
        self.dropped_ = list(th.get("dropped", []))
        self.cuts_ = [None if c is None else float(c) for c in cuts]
        self.counts_ = {int(g): int(n) for g, n in th.get("customers_per_grade", {}).items()}
        self.customers_ = th.get("n")
        self.fitted_ = True
        return self

    # --- scoring --------------------------------------------------------------------------
    def _score(self, c: ir.Table) -> dict[str, ir.Value]:
        size = c.customer_id.count().over()
        denom = (size - 1).nullif(0)
        score = ibis.literal(0.0)
        for col, weight in self.weights_.items():
            x = c[col]
            # nulls rank lowest: order by "has a value" first
            rank = ibis.rank().over(order_by=[x.notnull(), x])
            pct = (rank.cast("float64") / denom).fill_null(0.0)
            score = score + weight * pct
        return {"grade_score": score.cast("float64").round(_SCORE_DIGITS)}

    def _scored(self, customers: ir.Table) -> ir.Table:
        return with_window_columns(customers, list(self.weights_), self._score)

    def _transform(self, customers: ir.Table) -> ir.Table:
        missing = [k for k in self.weights_ if k not in customers.columns]
        require_columns(customers, missing, "grade input")
        scored = self._scored(customers)
        grade = ibis.literal(1, type="int64")
        for cut in self.cuts_:
            if cut is not None:
                grade = grade + (scored.grade_score >= cut).fill_null(False).cast("int64")
        return scored.mutate(grade=grade)

    def _explain(self, row: Mapping[str, Any]) -> Explanation:
        score = plain(row["grade_score"])
        g = 1 + sum(1 for c in self.cuts_ if c is not None and score is not None and score >= c)
        below = self.cuts_[g - 2] if g >= 2 else None
        above = self.cuts_[g - 1] if g <= len(self.cuts_) else None
        parts = ", ".join(f"{k} {w:.0%}" for k, w in self.weights_.items())
        inputs = {k: plain(row.get(k)) for k in self.weights_}
        band = []
        if below is not None:
            band.append(f">= {below:.4f} (lowest score of grade {g})")
        if above is not None:
            band.append(f"< {above:.4f} (lowest score above grade {g})")
        band_zh = []
        if below is not None:
            band_zh.append(f">= {below:.4f}（第 {g} 档最低分）")
        if above is not None:
            band_zh.append(f"< {above:.4f}（更高档最低分）")
        values = ", ".join(f"{k} {_show(v)}" for k, v in inputs.items())
        dropped = f"; not used: {', '.join(self.dropped_)}" if self.dropped_ else ""
        return Explanation(
            classifier=self.name,
            version=self.version,
            customer_id=str(row.get("customer_id")),
            label=g,
            inputs={**inputs, "grade_score": score},
            thresholds=self.thresholds(),
            reason=(
                f"score {_show(score, 4)} = weighted percent ranks of {values} "
                f"(weights {parts}{dropped}) {' and '.join(band) or 'with a single grade'}"
                f" → grade {g} of {self.n_grades}"
            ),
            reason_zh=(
                f"综合得分 {_show(score, 4)}（{values} 的百分位加权，权重 {parts}）"
                f"{'，'.join(band_zh)} → 第 {g} 档（共 {self.n_grades} 档）"
            ),
        )


def _show(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def apply_published(graded: ir.Table, published: ir.Table) -> ir.Table:
    """Keep published grades: ``grade`` from ``published`` where a customer has one.

    ``published`` has ``customer_id`` and ``grade``; adds ``grade_locked``
    (true where the published grade was kept).
    """
    require_columns(graded, ("customer_id", "grade"), "graded customers")
    require_columns(published, ("customer_id", "grade"), "published grades")
    p = published.select(
        customer_id=published.customer_id.cast("string"), _published=published.grade.cast("int64")
    ).distinct(on="customer_id", keep="first")
    out = graded.left_join(p, graded.customer_id.cast("string") == p.customer_id)
    out = out.drop("customer_id_right")
    return out.mutate(
        grade=out._published.fill_null(out.grade), grade_locked=out._published.notnull()
    ).drop("_published")


def starting_grade(
    features_with_grades: ir.Table,
    new_customers: ir.Table,
    by: Sequence[str] = ("channel", "area_type"),
) -> ir.Table:
    """Starting grade of new outlets: the median grade of established outlets like them.

    The median is exact and discrete (the lower median) over the established
    outlets with the same values of ``by``; when there are none (or a value
    is null) the median over all established outlets is used.  Adds
    ``starting_grade`` and ``starting_grade_basis`` (``"peers"`` or
    ``"overall"``) to ``new_customers``.
    """
    by = list(by)
    require_columns(features_with_grades, ["grade", *by], "graded customers")
    require_columns(new_customers, by, "new customers")
    est = features_with_grades.filter(features_with_grades.grade.notnull())
    est = est.select(*by, "grade")
    est = est.mutate(
        _i=ibis.row_number().over(group_by=[est[b] for b in by], order_by=est.grade),
        _n=est.grade.count().over(group_by=[est[b] for b in by]),
    )
    peers = est.filter(est._i == (est._n - 1) // 2).select(*by, _peer=est.grade)
    overall = discrete_quantile(est.grade, 0.5).as_scalar()
    if by:
        out = new_customers.left_join(peers, by).drop(*[f"{b}_right" for b in by])
    else:
        out = new_customers.mutate(_peer=ibis.null("int64"))
    return out.mutate(
        starting_grade=out._peer.fill_null(overall).cast("int64"),
        starting_grade_basis=ibis.ifelse(out._peer.notnull(), "peers", "overall"),
    ).drop("_peer")
