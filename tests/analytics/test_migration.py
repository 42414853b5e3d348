"""Class migration between two runs, with new and gone customers."""

from __future__ import annotations

import pandas as pd
import pytest

from kehu.analytics.migration import migration_matrix, to_wide
from kehu.exceptions import SchemaError

BEFORE = pd.DataFrame({"customer_id": ["a", "b", "c", "e"], "rfm8": ["X", "Y", "Y", "X"]})
AFTER = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "rfm8": ["X", "X", None, "Y"]})


def test_migration_matrix_by_hand():
    m = migration_matrix(BEFORE, AFTER).to_pandas()
    got = {(r["from"], r["to"]): (r.customers, r.share_of_from) for _, r in m.iterrows()}
    assert got == {
        ("X", "X"): (1, 0.5),
        ("X", "(gone)"): (1, 0.5),  # e left
        ("Y", "X"): (1, 0.5),
        ("Y", "(none)"): (1, 0.5),  # c has no class now
        ("(new)", "Y"): (1, 1.0),  # d is new
    }


def test_migration_matrix_other_key_and_column():
    b = BEFORE.rename(columns={"customer_id": "cid", "rfm8": "abc"})
    a = AFTER.rename(columns={"customer_id": "cid", "rfm8": "abc"})
    m = migration_matrix(b, a, "abc", key="cid").to_pandas()
    assert m["customers"].sum() == 5
    with pytest.raises(SchemaError, match="after"):
        migration_matrix(BEFORE, AFTER.drop(columns="rfm8"))


def test_to_wide_orders_rows_and_columns():
    m = migration_matrix(BEFORE, AFTER).to_pandas()
    w = to_wide(m, ["Y", "X"])
    assert list(w.index) == ["Y", "X", "(new)"]
    assert list(w.columns) == ["Y", "X", "(none)", "(gone)"]
    assert w.loc["Y", "X"] == 1 and w.loc["X", "Y"] == 0
    assert int(w.to_numpy().sum()) == 5
    assert to_wide(m.iloc[:0]).empty


def test_identical_runs_stay_on_the_diagonal():
    m = migration_matrix(BEFORE, BEFORE).to_pandas()
    assert (m["from"] == m["to"]).all()
    assert m["customers"].tolist() == [2, 2]
