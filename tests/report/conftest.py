"""A synthetic shop, run through the analytics, as a full ReportData."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kehu.analytics.behaviour import category_preference, product_movement, purchase_timing
from kehu.analytics.cohorts import cohort_retention, repeat_purchase_rate
from kehu.analytics.kpis import monthly_kpis
from kehu.analytics.migration import migration_matrix
from kehu.analytics.playbook import Playbook
from kehu.analytics.profile import class_profile
from kehu.analytics.rfm import rfm_summary
from kehu.i18n import LABELS_ZH, RFM8_EN
from kehu.services.understanding import ReportData

AS_OF = dt.date(2024, 7, 1)


def synthetic_shop(n_customers: int = 120, seed: int = 7):
    """Orders and products of a small shop over the first half of 2024."""
    rng = np.random.default_rng(seed)
    n = n_customers * 6
    start = pd.Timestamp("2024-01-01")
    products = pd.DataFrame(
        {
            "product_id": [f"P{i:02d}" for i in range(12)],
            "name": [
                "矿泉水",
                "绿茶",
                "可乐",
                "薯片",
                "饼干",
                "方便面",
                "牛奶",
                "酸奶",
                "面包",
                "苹果",
                "香蕉",
                "纸巾",
            ],
            "category": [
                "饮料",
                "饮料",
                "饮料",
                "零食",
                "零食",
                "速食",
                "乳品",
                "乳品",
                "烘焙",
                "生鲜",
                "生鲜",
                "日用",
            ],
            "brand": [
                "农夫",
                "康师傅",
                "可口可乐",
                "乐事",
                "奥利奥",
                "统一",
                "伊利",
                "蒙牛",
                "桃李",
                "自营",
                "自营",
                "维达",
            ],
        }
    )
    cust = rng.integers(0, n_customers, n)
    orders = pd.DataFrame(
        {
            "customer_id": [f"C{c:03d}" for c in cust],
            "order_id": [f"O{i:05d}" for i in range(n)],
            "order_time": start + pd.to_timedelta(rng.integers(0, 181 * 24 * 60, n), unit="min"),
            "product_id": rng.choice(products["product_id"].iloc[:11], n),
            "quantity": rng.integers(1, 5, n).astype(float),
        }
    )
    orders["amount"] = orders["quantity"] * rng.choice([3.5, 6.0, 12.0, 25.0], n)
    orders["is_return"] = False
    orders.loc[orders.index[:8], ["quantity", "amount", "is_return"]] = [-1.0, -6.0, True]
    orders.loc[orders.index[8:30], "customer_id"] = None  # anonymous sales
    return orders, products


def synthetic_customers(orders: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c = rfm_summary(orders, as_of=AS_OF).to_pandas()
    n = len(c)
    c["region"] = rng.choice(["华东", "华南", "华北", "西南"], n)
    c["channel"] = rng.choice(["便利店", "超市", "电商"], n)
    c["rfm8"] = rng.choice(list(RFM8_EN), n)
    c["segment"] = rng.choice(list(LABELS_ZH["segment"]), n)
    c["freq_tier"] = rng.choice(["high", "medium", "low"], n)
    c["spend_tier"] = rng.choice(["high", "medium", "low"], n)
    c["abc"] = rng.choice(["A", "B", "C"], n, p=[0.2, 0.3, 0.5])
    c["lifecycle"] = rng.choice(list(LABELS_ZH["lifecycle"]), n)
    c["grade"] = rng.integers(1, 31, n)
    return c


def build_report_data(n_customers: int = 120, seed: int = 7) -> ReportData:
    orders, products = synthetic_shop(n_customers, seed)
    customers = synthetic_customers(orders, seed)
    before = customers[["customer_id", "rfm8"]].copy()
    before = before.iloc[5:].assign(rfm8=np.roll(before["rfm8"].iloc[5:].to_numpy(), 3))
    playbook = Playbook.default()
    profiles = {
        col: class_profile(customers, col, orders=orders, products=products).to_pandas()
        for col in ("rfm8", "segment", "freq_tier", "abc", "lifecycle")
    }
    return ReportData(
        customers=customers,
        profiles=profiles,
        migration=migration_matrix(before, customers, "rfm8").to_pandas(),
        migration_column="rfm8",
        migration_dates=(dt.date(2024, 4, 1), AS_OF),
        cohorts=cohort_retention(orders).to_pandas(),
        repeat_rate=repeat_purchase_rate(orders).to_pandas(),
        kpis=monthly_kpis(orders).to_pandas(),
        timing={k: v.to_pandas() for k, v in purchase_timing(orders).items()},
        products={
            k: v.to_pandas()
            for k, v in product_movement(
                orders, products, as_of=AS_OF, window_days=60, top_n=8
            ).items()
        },
        category_preference=category_preference(orders, products).to_pandas(),
        import_summary={
            "describe": [
                "读取 720 行，保留 712 行",
                "8 行退货已冲减销售额",
                "22 行匿名销售计入总销售额",
            ]
        },
        run_info={
            "as_of": AS_OF,
            "window_days": None,
            "classifiers": [
                {
                    "classifier": "rfm8",
                    "version": "1",
                    "params": {"threshold": "mean", "m_basis": "total"},
                    "thresholds": {"r": 30.5, "f": 3.2, "m": 180.0},
                },
                {
                    "classifier": "freq_tier",
                    "version": "1",
                    "params": {"high": 8},
                    "thresholds": {},
                },
            ],
        },
        playbook=playbook,
    )


@pytest.fixture(scope="session")
def full_report_data() -> ReportData:
    return build_report_data()


@pytest.fixture()
def minimal_report_data() -> ReportData:
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "recency_days": [3, 40, 200],
            "orders": [5, 2, 1],
            "monetary": [500.0, 120.0, 30.0],
            "avg_order_value": [100.0, 60.0, 30.0],
            "r_score": [5, 3, 1],
            "f_score": [5, 3, 1],
            "m_score": [5, 3, 1],
            "rfm8": ["重要价值客户", "一般发展客户", "一般挽留客户"],
        }
    )
    return ReportData(customers=customers)
