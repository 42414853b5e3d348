"""The small shared base of every classifier.

A classifier works on the per-customer feature table (the RFM contract plus the
columns of :func:`kehu.analytics.features.customer_features`).  Like a
scikit-learn estimator it keeps its parameters from ``__init__`` untouched,
learns data-driven thresholds in :meth:`fit` (trailing-underscore attributes),
and adds its column(s) in :meth:`transform` as Ibis expressions, so the work
stays in the engine.  :meth:`explain` says, for one customer's row, which
inputs and thresholds gave the class; :meth:`record` is what a run keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Self

import ibis.expr.types as ir

from kehu.analytics.estimator import Estimator
from kehu.analytics.schema import require_columns


@dataclass(frozen=True)
class Explanation:
    """Why one customer has their class under one classifier."""

    classifier: str
    version: str
    customer_id: str
    label: Any
    inputs: dict[str, Any]
    thresholds: dict[str, Any]
    reason: str
    reason_zh: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Classifier(Estimator):
    """Base class; subclasses set the class attributes and implement the hooks.

    ``get_params``, ``set_params`` and the fitted check come from
    :class:`~kehu.analytics.estimator.Estimator`; a run keeps :meth:`record`.
    """

    fitted_attribute = "fitted_"
    fit_call = "fit(customers)"

    #: name of the classifier and of its main output column
    name: ClassVar[str]
    #: rule version, bumped whenever the rule itself changes
    version: ClassVar[str]
    #: per-customer columns it reads
    requires: ClassVar[tuple[str, ...]] = ()
    #: columns it adds (the main column first)
    outputs: ClassVar[tuple[str, ...]] = ()
    #: Chinese display names of the output values (English value -> Chinese)
    labels_zh: ClassVar[dict[str, str]] = {}

    # --- the estimator protocol -------------------------------------------------
    def fit(self, customers: ir.Table) -> Self:
        require_columns(customers, self.requires, f"{self.name} input")
        self._fit(customers)
        self.fitted_ = True
        return self

    def transform(self, customers: ir.Table) -> ir.Table:
        self._check_fitted()
        require_columns(customers, self.requires, f"{self.name} input")
        return self._transform(customers)

    def fit_transform(self, customers: ir.Table) -> ir.Table:
        return self.fit(customers).transform(customers)

    def explain(self, row: Mapping[str, Any]) -> Explanation:
        """Explain the class of one customer from their transformed row."""
        self._check_fitted()
        return self._explain(row)

    # --- parameters and run records ----------------------------------------------
    def thresholds(self) -> dict[str, Any]:
        """The fitted, data-driven values the rule used (JSON-serialisable)."""
        self._check_fitted()
        return {}

    def record(self) -> dict[str, Any]:
        """What a classification run keeps about this classifier."""
        return {
            "classifier": self.name,
            "version": self.version,
            "params": self.get_params(),
            "thresholds": self.thresholds(),
        }

    # --- hooks ------------------------------------------------------------------------
    def _fit(self, customers: ir.Table) -> None:  # pragma: no cover - optional hook
        """Learn data-driven thresholds; rules with fixed thresholds need nothing."""

    def _transform(self, customers: ir.Table) -> ir.Table:
        raise NotImplementedError

    def _explain(self, row: Mapping[str, Any]) -> Explanation:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def with_window_columns(
    table: ir.Table,
    columns: Sequence[str],
    make: Callable[[ir.Table], Mapping[str, ir.Value]],
    key: str = "customer_id",
) -> ir.Table:
    """``table`` plus the columns ``make`` computes (window ranks, ...) on a narrow copy.

    ``make`` receives ``table`` reduced to ``key`` and ``columns`` and returns
    name -> expression over it; the results are joined back on ``key`` (one row
    per key, as in every per-customer table).  Why: DuckDB's window operator
    carries every input column through its sort, so one rank over a wide table
    of half a million customers costs seconds, and a fraction of that over the
    few columns it needs.  New names replace existing columns in place.
    """
    narrow = table.select(key, *[c for c in dict.fromkeys(columns) if c != key])
    computed = narrow.select(__key=narrow[key], **make(narrow))
    names = [c for c in computed.columns if c != "__key"]
    base = table.drop(*[n for n in names if n in table.columns])
    joined = base.left_join(computed, base[key].identical_to(computed.__key))
    order = list(table.columns) + [n for n in names if n not in table.columns]
    return joined.select(*order)
