"""What a load did (:class:`LoadSummary`), told in Chinese or English."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kehu.services.store_load.rejects import _KIND_ZH, _REASON_ZH, ORDER_REJECT_REASONS
from kehu.warehouse.summary import REJECT_REASONS


@dataclass
class LoadSummary:
    """What a load did.

    ``counts[kind]`` has ``inserted``, ``updated``, ``unchanged`` and
    ``conflicts`` for ``customers``, ``products`` and ``orders``; ``conflicts``
    lists (up to 1,000 of) them with their reason; ``resumed_batches`` is the
    number of batches a previous interrupted run had already written.

    ``rejected[kind]`` counts the keys of that kind not written because they
    were rejected (orders left out whole, unreadable customer or product rows);
    ``reject_counts[kind][reason]`` counts every row not written, by reason
    (kinds ``order``, ``order_line``, ``customer``, ``product``; set-aside rows
    such as duplicates too); ``rejects`` lists up to 1,000 of them
    (:data:`REJECT_COLUMNS`) and ``rejects_file`` is the CSV file with all of
    them, when one was written.
    """

    load_id: int
    status: str
    batches: int
    resumed_batches: int
    counts: dict[str, dict[str, int]]
    conflicts: list[dict[str, Any]]
    import_summary: dict[str, Any] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    reject_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    rejects_file: str | None = None

    def describe(self, lang: str = "en") -> list[str]:
        """One line per kind, then the rejects per reason and their file, in Chinese or English."""
        zh = lang == "zh"
        lines = []
        for kind, c in self.counts.items():
            c = {**c, "rejected": self.rejected.get(kind, 0)}
            if zh:
                name = {"customers": "客户", "products": "商品", "orders": "订单"}[kind]
                lines.append(
                    f"{name}：新增 {c['inserted']:,}，更新 {c['updated']:,}，"
                    f"未变 {c['unchanged']:,}，冲突 {c['conflicts']:,}，"
                    f"拒绝 {c['rejected']:,}"
                )
            else:
                lines.append(
                    f"{kind}: {c['inserted']:,} inserted, {c['updated']:,} updated, "
                    f"{c['unchanged']:,} unchanged, {c['conflicts']:,} conflicts, "
                    f"{c['rejected']:,} rejected"
                )
        for kind, reasons in self.reject_counts.items():
            if zh:
                parts = "，".join(
                    f"{_REASON_ZH.get(r, r)} {n:,}（{r}）" for r, n in reasons.items()
                )
                lines.append(f"未写入的{_KIND_ZH.get(kind, kind)}：{parts}")
            else:
                parts = ", ".join(f"{r} {n:,}" for r, n in reasons.items())
                lines.append(f"{kind} rows not written: {parts}")
        if self.reject_counts.get("order"):
            lines.append(
                "被拒绝的订单整单未写入，库中已有的版本保持不变。"
                if zh
                else "rejected orders were left out whole; their stored versions are kept."
            )
        if self.rejects_file:
            lines.append(
                f"拒绝清单：{self.rejects_file}" if zh else f"rejects file: {self.rejects_file}"
            )
        if self.resumed_batches:
            lines.append(
                f"续传：跳过已完成的 {self.resumed_batches} 批"
                if zh
                else f"resumed: skipped {self.resumed_batches} batches already written"
            )
        return lines

    def reject_lines(self, limit: int = 20) -> list[str]:
        """The first ``limit`` rejected rows and orders, one line each (set-aside rows left out)."""
        reasons = (*REJECT_REASONS, *ORDER_REJECT_REASONS)
        rows = [r for r in self.rejects if r["reason"] in reasons]
        total = sum(
            n for counts in self.reject_counts.values() for r, n in counts.items() if r in reasons
        )
        out = []
        for r in rows[:limit]:
            value = "" if r["value"] is None else f" {str(r['value'])[:60]!r}"
            where = ""
            if r["file"]:
                column = f" {r['column']}" if r["column"] else ""
                where = f" ({r['file']} row {r['row']}{column})"
            out.append(f"rejected {r['kind']} {r['key'] or ''}: {r['reason']}{value}{where}")
        if total > len(out):
            more = f" in {self.rejects_file}" if self.rejects_file else ""
            out.append(f"... {total - len(out):,} more{more}")
        return out
