"""Custom segments: user-written filters, the first that matches names the segment.

Each segment is a name and a filter in the safe language of
:mod:`kehu.analytics.filters`; the filters are checked in order and a customer
gets the name of the first one that holds, else ``default``.  Filters are never
evaluated as code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from kehu.analytics.classify.base import Classifier, Explanation
from kehu.analytics.filters import columns_used, compile_filter, parse
from kehu.exceptions import ConfigError, FilterSyntaxError

__all__ = ["CustomSegments"]


def _segment_error(name: str, err: FilterSyntaxError) -> FilterSyntaxError:
    return FilterSyntaxError(f"segment {name!r}: {err.reason}", err.text, err.position)


class CustomSegments(Classifier):
    """Named segments defined by ordered filters; the first match wins.

    Parameters
    ----------
    segments
        Ordered ``name -> filter``, as a dict or a list of ``(name, filter)``
        pairs, e.g. ``{"华东高频": "frequency >= 4 and region = '华东'"}``.
    default
        The segment of customers no filter matches (null by default).

    Raises
    ------
    FilterSyntaxError
        In ``__init__`` for a malformed filter, and in ``fit``/``transform`` for
        an unknown column or a type mismatch; the message names the segment.
    ConfigError
        For an empty or repeated segment name.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"customer_id": ["a", "b"], "orders": [5, 1], "region": ["华东", "华北"]})
    >>> seg = CustomSegments({"华东高频": "frequency >= 4 and 区域 = '华东'"}, default="其他")
    >>> seg.fit_transform(t).to_pandas().custom_segment.tolist()
    ['华东高频', '其他']
    """

    name: ClassVar[str] = "custom"
    version: ClassVar[str] = "custom/1"
    outputs: ClassVar[tuple[str, ...]] = ("custom_segment",)

    def __init__(
        self,
        segments: Mapping[str, str] | Sequence[tuple[str, str]],
        default: str | None = None,
    ):
        self.segments = segments
        self.default = default
        pairs = list(segments.items()) if isinstance(segments, Mapping) else list(segments)
        seen: set[str] = set()
        for pair in pairs:
            if not (isinstance(pair, tuple | list) and len(pair) == 2):
                raise ConfigError(f"custom segments: expected (name, filter) pairs, got {pair!r}")
            seg, text = pair
            if not isinstance(seg, str) or not seg.strip():
                raise ConfigError(
                    f"custom segments: a segment name must be non-empty text: {seg!r}"
                )
            if seg in seen:
                raise ConfigError(f"custom segments: segment {seg!r} is defined twice")
            seen.add(seg)
            try:
                parse(text)
            except FilterSyntaxError as err:
                raise _segment_error(seg, err) from None
        self._pairs: list[tuple[str, str]] = [(str(s), str(f)) for s, f in pairs]

    @property
    def requires(self) -> tuple[str, ...]:  # type: ignore[override]
        """``customer_id`` and every column the filters read (aliases resolved)."""
        cols: set[str] = set()
        for _, text in self._pairs:
            cols |= columns_used(text)
        return ("customer_id", *sorted(cols))

    def _conditions(self, customers: ir.Table) -> list[ir.BooleanValue]:
        out = []
        for seg, text in self._pairs:
            try:
                out.append(compile_filter(text, customers))
            except FilterSyntaxError as err:
                raise _segment_error(seg, err) from None
        return out

    def _fit(self, customers: ir.Table) -> None:
        # nothing is learnt; compiling now reports unknown columns and type errors early
        self._conditions(customers)

    def _transform(self, customers: ir.Table) -> ir.Table:
        conds = self._conditions(customers)
        default = ibis.literal(self.default, type="string")
        if not conds:
            return customers.mutate(custom_segment=default)
        branches = [
            (c, ibis.literal(seg, type="string"))
            for c, (seg, _) in zip(conds, self._pairs, strict=True)
        ]
        return customers.mutate(custom_segment=ibis.cases(*branches, else_=default))

    def thresholds(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "segments": [
                {"name": seg, "filter": text, "columns": sorted(columns_used(text))}
                for seg, text in self._pairs
            ],
            "default": self.default,
        }

    def _explain(self, row: Mapping[str, Any]) -> Explanation:
        """Explain from the row's ``custom_segment``: the filters are tried in order."""
        if "custom_segment" not in row:
            raise ConfigError("custom segments: explain needs a transformed row (custom_segment)")
        label = row["custom_segment"]
        names = [seg for seg, _ in self._pairs]
        matched = names.index(label) if label in names else None
        failed = self._pairs if matched is None else self._pairs[:matched]
        inputs = {c: row.get(c) for c in self.requires if c != "customer_id"}
        not_en = "; ".join(f"not {seg!r} ({text})" for seg, text in failed)
        not_zh = "；".join(f"不满足「{seg}」({text})" for seg, text in failed)
        if matched is None:
            reason = f"no filter matched ({not_en or 'no segments'}), so the default {label!r}"
            reason_zh = f"没有匹配的筛选条件（{not_zh or '无分群'}），归入默认分群 {label!r}"
        else:
            seg, text = self._pairs[matched]
            reason = f"matched {seg!r}: {text}" + (f"; earlier: {not_en}" if failed else "")
            reason_zh = f"满足「{seg}」：{text}" + (f"；此前{not_zh}" if failed else "")
        return Explanation(
            classifier=self.name,
            version=self.version,
            customer_id=str(row.get("customer_id")),
            label=label,
            inputs=inputs,
            thresholds=self.thresholds(),
            reason=reason,
            reason_zh=reason_zh,
            extra={"matched_index": matched, "not_matched": [seg for seg, _ in failed]},
        )
