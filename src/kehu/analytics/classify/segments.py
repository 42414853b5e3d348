"""International named RFM segments (Champions, Loyal, ... Lost).

The 1-5 scores of :func:`kehu.analytics.rfm.rfm_summary` are reduced to two
axes: the recency score ``R`` and ``FM = (f_score + m_score + 1) // 2`` (the
rounded-up mean of frequency and monetary scores).  The segment is then read
from a 5 x 5 grid; rows are R 5..1, columns FM 1..5:

====  ==============  ==================  ==================  ================  ================
R     FM 1            FM 2                FM 3                FM 4              FM 5
====  ==============  ==================  ==================  ================  ================
5     New             Potential loyalist  Potential loyalist  Champions         Champions
4     Promising       Potential loyalist  Potential loyalist  Loyal             Loyal
3     About to sleep  About to sleep      Need attention      Loyal             Loyal
2     Hibernating     Hibernating         At risk             At risk           Cannot lose them
1     Lost            Hibernating         At risk             At risk           Cannot lose them
====  ==============  ==================  ==================  ================  ================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from kehu.analytics.classify.base import Classifier, Explanation
from kehu.analytics.features import plain
from kehu.exceptions import ConfigError
from kehu.i18n import LABELS_ZH

#: R score -> the segments for FM = 1..5.
DEFAULT_GRID: dict[int, tuple[str, ...]] = {
    5: ("New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"),
    4: ("Promising", "Potential loyalist", "Potential loyalist", "Loyal", "Loyal"),
    3: ("About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"),
    2: ("Hibernating", "Hibernating", "At risk", "At risk", "Cannot lose them"),
    1: ("Lost", "Hibernating", "At risk", "At risk", "Cannot lose them"),
}


class NamedSegments(Classifier):
    """Named segments from the R score and the combined FM score; adds ``segment``.

    Parameters
    ----------
    grid
        Optional override: R score (1..5) -> five segment names for FM 1..5.
        Rows not given keep the default.  Names without a Chinese entry in
        :data:`kehu.i18n.LABELS_ZH` are shown untranslated.
    """

    name: ClassVar[str] = "segment"
    version: ClassVar[str] = "segment/1"
    requires: ClassVar[tuple[str, ...]] = ("customer_id", "r_score", "f_score", "m_score")
    outputs: ClassVar[tuple[str, ...]] = ("segment",)
    labels_zh: ClassVar[dict[str, str]] = LABELS_ZH["segment"]

    def __init__(self, grid: Mapping[int, Sequence[str]] | None = None):
        self.grid = grid
        self._grid = self._resolve(grid)
        # the grid is fixed: fit learns nothing and only marks the rule ready

    @staticmethod
    def _resolve(grid: Mapping[int, Sequence[str]] | None) -> dict[int, tuple[str, ...]]:
        out = dict(DEFAULT_GRID)
        if grid is None:
            return out
        if not isinstance(grid, Mapping):
            raise ConfigError("segment: grid must map an R score (1..5) to five segment names")
        for r, row in grid.items():
            try:
                key = int(r)
            except (TypeError, ValueError):
                key = None
            if key not in DEFAULT_GRID:
                raise ConfigError(f"segment: grid row {r!r} is not an R score 1..5")
            if isinstance(row, str) or len(row) != 5 or not all(isinstance(x, str) for x in row):
                raise ConfigError(
                    f"segment: grid row {r!r} must list five segment names (FM 1..5), got {row!r}"
                )
            out[key] = tuple(row)
        return out

    def _transform(self, customers: ir.Table) -> ir.Table:
        c = customers
        fm = (c.f_score + c.m_score + 1) // 2
        branches = [
            ((c.r_score == r) & (fm == k + 1), label)
            for r, row in self._grid.items()
            for k, label in enumerate(row)
        ]
        return c.mutate(segment=ibis.cases(*branches, else_=ibis.null("string")))

    def thresholds(self) -> dict[str, Any]:
        self._check_fitted()
        return {"grid": {str(r): list(row) for r, row in self._grid.items()}}

    def _explain(self, row: Mapping[str, Any]) -> Explanation:
        r, f, m = (plain(row[k]) for k in ("r_score", "f_score", "m_score"))
        fm = (f + m + 1) // 2
        label = self._grid.get(r, (None,) * 5)[fm - 1] if 1 <= fm <= 5 else None
        zh = self.labels_zh.get(label, label)
        return Explanation(
            classifier=self.name,
            version=self.version,
            customer_id=str(row.get("customer_id")),
            label=label,
            inputs={"r_score": r, "f_score": f, "m_score": m},
            thresholds={"fm": fm},
            reason=f"R score {r}, FM score (F {f} + M {m} + 1) // 2 = {fm} → {label}",
            reason_zh=f"R 得分 {r}，FM 得分 (F {f} + M {m} + 1) // 2 = {fm} → {zh}",
            extra={"label_zh": zh},
        )
