"""Segment popularity: the fallback list of customers without a usable history."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kehu.analytics.schema import require_columns, to_table
from kehu.exceptions import SchemaError


def segment_popularity(
    inter: Any, segments: Any, item_index: pd.Index
) -> tuple[dict[str, str], np.ndarray, np.ndarray, np.ndarray]:
    """Each customer's segment, and per segment its buyers and distinct buyers per item.

    Returns ``(customer -> segment, segment names, buyers per segment, segments x items
    counts)``; ``segments`` is a table with ``customer_id`` and ``segment``.
    """
    seg = to_table(segments, "segments")
    require_columns(seg, ("customer_id", "segment"), "segments")
    seg = seg.select(
        customer_id=seg.customer_id.cast("string"), segment=seg.segment.cast("string")
    ).filter(lambda s: s.customer_id.notnull() & s.segment.notnull())
    mapping = seg.distinct().to_pandas()
    dup = mapping["customer_id"].duplicated(keep=False)
    if dup.any():
        first = mapping.loc[dup, "customer_id"].iloc[0]
        raise SchemaError(f"segments: customer {first!r} has more than one segment")
    customer_segment = dict(zip(mapping["customer_id"], mapping["segment"], strict=True))
    j = inter.join(seg, "customer_id")
    counts = j.group_by("segment", "product_id").agg(customers=j.customer_id.count()).to_pandas()
    sizes = (
        j.group_by("segment").agg(customers=j.customer_id.nunique()).order_by("segment").to_pandas()
    )
    names = sizes["segment"].to_numpy(dtype=object).astype(str)
    buyers = sizes["customers"].to_numpy(dtype=np.int64)
    pop = np.zeros((len(names), len(item_index)))
    cols = item_index.get_indexer(counts["product_id"])
    kept = cols >= 0
    rows = pd.Index(names).get_indexer(counts["segment"][kept])
    pop[rows, cols[kept]] = counts["customers"].to_numpy()[kept]
    return customer_segment, names, buyers, pop
