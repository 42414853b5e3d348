"""Holdout check of a purchase model: predicted vs actual repeat purchases.

The table behind the classic "conditional expectations" chart (Fader, Hardie
& Lee 2005, figure 5): customers grouped by their number of repeat purchases
in the calibration period (``0 .. max_frequency-1`` and ``max_frequency+``),
with the purchases they made in the holdout and those the model expected.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kehu.analytics.clv.base import PurchaseModel, as_frame, column
from kehu.exceptions import SchemaError


def holdout_comparison(model: PurchaseModel, data: Any, *, max_frequency: int = 7) -> pd.DataFrame:
    """Predicted vs actual holdout purchases per calibration-frequency group.

    Parameters
    ----------
    model
        A fitted purchase model.
    data
        A summary with holdout columns (``clv_summary(..., observation_end=...)``).
    max_frequency
        The last group collects every customer with at least this many repeat
        purchases (7 gives the groups 0..6 and "7+").

    Returns
    -------
    One row per group: ``frequency`` (its label), ``customers``,
    ``actual`` and ``predicted`` (holdout purchases in the group),
    ``actual_mean`` and ``predicted_mean`` (per customer).  The column totals
    of ``actual`` and ``predicted`` are the whole-base totals.
    """
    if max_frequency < 1:
        raise SchemaError(f"max_frequency must be at least 1, got {max_frequency}")
    frame = as_frame(
        data, (*model.requires, "frequency_holdout", "duration_holdout"), "holdout input"
    )
    predicted = model.predict_purchases(column(frame, "duration_holdout"), frame)
    group = np.minimum(column(frame, "frequency"), max_frequency).astype(int)
    table = (
        pd.DataFrame(
            {"group": group, "actual": column(frame, "frequency_holdout"), "predicted": predicted}
        )
        .groupby("group")
        .agg(
            customers=("actual", "size"),
            actual=("actual", "sum"),
            predicted=("predicted", "sum"),
        )
        .reindex(range(max_frequency + 1), fill_value=0)
    )
    labels = [str(g) for g in range(max_frequency)] + [f"{max_frequency}+"]
    table.insert(0, "frequency", labels)
    table["customers"] = table["customers"].astype("int64")
    size = table["customers"].where(table["customers"] > 0)
    table["actual_mean"] = (table["actual"] / size).fillna(0.0)
    table["predicted_mean"] = (table["predicted"] / size).fillna(0.0)
    return table.reset_index(drop=True)
