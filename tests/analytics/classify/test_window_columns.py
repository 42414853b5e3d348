"""``with_window_columns``: window results computed on a narrow copy, joined back."""

from __future__ import annotations

import ibis
import pandas as pd

from kehu.analytics.classify.base import with_window_columns


def test_ranks_join_back_to_every_row_and_keep_the_column_order():
    t = ibis.memtable(
        pd.DataFrame(
            {"customer_id": ["a", "b", "c", "d"], "m": [5.0, 1.0, 5.0, None], "x": [1, 2, 3, 4]}
        )
    )
    out = with_window_columns(
        t, ["m"], lambda n: {"r": ibis.rank().over(order_by=[n.m.notnull(), n.m]), "x": n.m}
    )
    assert out.columns == ("customer_id", "m", "x", "r")  # "x" replaced in place
    df = out.to_pandas().sort_values("customer_id").reset_index(drop=True)
    assert df.r.tolist() == [2, 1, 2, 0]  # null ranks lowest, ties share the rank
    assert df.x.tolist()[:3] == [5.0, 1.0, 5.0] and pd.isna(df.x[3])
