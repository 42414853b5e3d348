"""Report data saved as a folder renders the same report after loading."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kehu.exceptions import NotFoundError
from kehu.report.html import render_report
from kehu.report.store import load_report_data, save_report_data


def _without_timestamp(html: str) -> str:
    return html.replace("\n", " ")


def test_round_trip_renders_the_same_report(full_report_data, tmp_path):
    data = full_report_data
    data.predictions = {
        "clv": {"values": np.array([1.0, 2.5, 30.0]), "params": {"r": 0.24}},
        "churn": {
            "metrics": {"model": {"roc_auc": 0.8}},
            "gains": pd.DataFrame(
                {"score": ["model"], "share_of_customers": [1.0], "share_of_churners": [1.0]}
            ),
            "test_cutoff": dt.date(2024, 1, 1),
        },
    }
    folder = save_report_data(data, tmp_path / "rd")
    loaded = load_report_data(folder)
    # Parquet keeps dates at millisecond resolution at least; the values are equal
    pd.testing.assert_frame_equal(loaded.customers, data.customers, check_dtype=False)
    assert set(loaded.profiles) == set(data.profiles)
    assert loaded.migration_dates == data.migration_dates
    assert loaded.playbook.to_dict() == data.playbook.to_dict()
    np.testing.assert_array_equal(loaded.predictions["clv"]["values"], [1.0, 2.5, 30.0])
    assert loaded.predictions["churn"]["test_cutoff"] == dt.date(2024, 1, 1)
    for lang in ("zh", "en"):
        assert render_report(loaded, lang) == render_report(data, lang)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(NotFoundError, match="kehu analyze"):
        load_report_data(tmp_path / "nothing")
