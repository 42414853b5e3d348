"""What an import did with each kind of row, in numbers and in words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

#: Reasons a row is rejected (it cannot be read), in the order they are checked.
REJECT_REASONS = ("bad_date", "bad_amount", "bad_quantity", "bad_price", "missing_id", "too_long")
#: Reasons a readable row is set aside by a rule, in the order they are assigned
#: after the reject reasons: a row gets the first reason that applies.
SET_ASIDE_REASONS = ("duplicate", "duplicate_id", "non_product", "zero_price", "return")
REASONS = REJECT_REASONS + SET_ASIDE_REASONS

_TEXT = {
    "zh": {
        "head": "读取 {read:,} 行（{files} 个文件），保留 {kept:,} 行，剔除或拒绝 {out:,} 行。",
        "bad_date": "{n:,} 行日期缺失、无法识别或不在 1900–2099 年之间，已拒绝（见拒绝清单）。",
        "bad_amount": "{n:,} 行金额缺失、无法识别或超出上限，已拒绝。",
        "bad_quantity": "{n:,} 行数量无法识别或超出上限，已拒绝。",
        "bad_price": "{n:,} 行单价无法识别或超出上限，已拒绝。",
        "missing_id": "{n:,} 行没有编号，已拒绝。",
        "too_long": "{n:,} 行的编号或文字超过允许的长度，已拒绝。",
        "duplicate": "{n:,} 行与前面的行完全相同，只保留第一行。",
        "duplicate_id": "{n:,} 行的编号与前面的行重复，只保留第一行。",
        "non_product": "{n:,} 行是运费、手续费、调整等非商品行，已剔除。",
        "zero_price": "{n:,} 行单价为 0，已剔除。",
        "return": "{n:,} 行退货或取消，已剔除（不冲减购买）。",
        "kept_return": "{n:,} 行退货或取消已保留为负数金额，冲减客户的购买。",
        "kept_no_customer": "{n:,} 行没有客户编号：计入销售额，不参与客户分析。",
        "kept_non_product": "{n:,} 行非商品行按设置保留。",
        "kept_zero_price": "{n:,} 行单价为 0 的行按设置保留。",
    },
    "en": {
        "head": "Read {read:,} rows from {files} file(s); kept {kept:,}, "
        "set aside or rejected {out:,}.",
        "bad_date": "{n:,} rows with a missing or unreadable date, or one outside 1900-2099, "
        "were rejected (see rejects).",
        "bad_amount": "{n:,} rows with a missing, unreadable or too large amount were rejected.",
        "bad_quantity": "{n:,} rows with an unreadable or too large quantity were rejected.",
        "bad_price": "{n:,} rows with an unreadable or too large unit price were rejected.",
        "missing_id": "{n:,} rows without an id were rejected.",
        "too_long": "{n:,} rows with an id or text longer than allowed were rejected.",
        "duplicate": "{n:,} exact duplicate rows were dropped (the first one is kept).",
        "duplicate_id": "{n:,} rows repeating an earlier id were dropped (the first is kept).",
        "non_product": "{n:,} non-product rows (postage, fees, adjustments) were set aside.",
        "zero_price": "{n:,} rows with a unit price of 0 were set aside.",
        "return": "{n:,} cancellation or return rows were set aside (not netted).",
        "kept_return": "{n:,} cancellation or return rows were kept as negative amounts, "
        "netted against the customers' purchases.",
        "kept_no_customer": "{n:,} rows have no customer id: counted in sales figures, "
        "left out of customer analytics.",
        "kept_non_product": "{n:,} non-product rows were kept, as configured.",
        "kept_zero_price": "{n:,} rows with a unit price of 0 were kept, as configured.",
    },
}


@dataclass
class FileSummary:
    """Counts for one source file."""

    file: str
    format: str
    rows_read: int
    rows_kept: int
    set_aside: dict[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # canonical field -> source header
    encoding: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "encoding": self.encoding,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "set_aside": dict(self.set_aside),
            "columns": dict(self.columns),
        }


@dataclass
class ImportSummary:
    """Rows read, kept and set aside (per reason and per file) by one import.

    ``set_aside`` counts every row not kept, by reason (rejects included; see
    :data:`REASONS`); ``kept`` counts kept rows worth a note (``return``: netted
    returns, ``no_customer``, and ``non_product``/``zero_price`` when kept).
    ``rows_read == rows_kept + sum(set_aside.values())``.  ``first_order`` and
    ``last_order`` are the earliest and latest order time of the kept order
    lines (``None`` for customers and products, or when nothing was kept).
    """

    kind: str
    rows_read: int
    rows_kept: int
    set_aside: dict[str, int]
    kept: dict[str, int]
    files: list[FileSummary]
    first_order: dt.datetime | None = None
    last_order: dt.datetime | None = None
    options: dict[str, Any] = field(default_factory=dict)
    #: Summaries of separate customer/product files read with the orders.
    others: dict[str, ImportSummary] = field(default_factory=dict)

    @property
    def rejected(self) -> dict[str, int]:
        """The part of ``set_aside`` for rows that could not be read."""
        return {k: v for k, v in self.set_aside.items() if k in REJECT_REASONS}

    def describe(self, lang: str = "zh") -> list[str]:
        """Short sentences (Chinese ``"zh"`` or English ``"en"``) saying what was done."""
        text = _TEXT["zh" if str(lang).lower().startswith("zh") else "en"]
        out_n = self.rows_read - self.rows_kept
        lines = [
            text["head"].format(
                read=self.rows_read, files=len(self.files), kept=self.rows_kept, out=out_n
            )
        ]
        for reason in REASONS:
            if self.set_aside.get(reason):
                lines.append(text[reason].format(n=self.set_aside[reason]))
        for key in ("return", "no_customer", "non_product", "zero_price"):
            if self.kept.get(key):
                lines.append(text[f"kept_{key}"].format(n=self.kept[key]))
        return lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (for ``import_summary.json``)."""
        return {
            "kind": self.kind,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "set_aside": dict(self.set_aside),
            "kept": dict(self.kept),
            "first_order": self.first_order.isoformat() if self.first_order else None,
            "last_order": self.last_order.isoformat() if self.last_order else None,
            "files": [f.to_dict() for f in self.files],
            "options": dict(self.options),
            "description": {"zh": self.describe("zh"), "en": self.describe("en")},
            "others": {k: v.to_dict() for k, v in self.others.items()},
        }
