"""Behavioural clusters: k chosen from the data, groups recovered, labels in words."""

from __future__ import annotations

import json

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from kehu.analytics.classify.base import Classifier
from kehu.analytics.classify.clusters import Clusters
from kehu.exceptions import ConfigError, NotFittedError, SchemaError

# three well separated behaviours: (recency_days, orders, monetary, share of 饮料)
GROUPS = {
    "champions": (4, 30, 12000.0, 0.2),
    "drinkers": (45, 6, 900.0, 0.9),
    "lapsed": (320, 1, 40.0, 0.2),
}


def simulate(n_per_group: int = 80, seed: int = 1, mix: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for g, (r, f, m, drink) in GROUPS.items():
        noise = lambda: rng.lognormal(0, 0.15, n_per_group)  # noqa: E731
        part = pd.DataFrame(
            {
                "group": g,
                "recency_days": np.round(r * noise()).astype("int64"),
                "orders": np.maximum(1, np.round(f * noise())).astype("int64"),
                "monetary": m * noise(),
            }
        )
        if mix:
            share = np.clip(drink + rng.normal(0, 0.05, n_per_group), 0, 1)
            part["mix_饮料"] = share
            part["mix_other"] = 1 - share
        parts.append(part)
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "customer_id", [f"c{i:04d}" for i in range(len(df))])
    return df


def fitted_frame(model: Clusters, df: pd.DataFrame) -> pd.DataFrame:
    out = model.fit_transform(ibis.memtable(df)).to_pandas()
    return out.sort_values("customer_id").reset_index(drop=True)


def test_three_groups_found_and_recovered():
    df = simulate()
    model = Clusters(lang="en", random_state=0)
    out = fitted_frame(model, df)
    assert model.k_ == 3
    assert model.k_chosen_by_ == "silhouette"
    assert max(model.silhouette_, key=model.silhouette_.get) == 3
    assert set(model.silhouette_) == set(range(2, 9))
    assert adjusted_rand_score(df.group, out.cluster) >= 0.9
    # numbered by mean monetary descending
    by_group = out.groupby(df.group).cluster.agg(lambda s: s.mode()[0])
    assert by_group.to_dict() == {"champions": 1, "drinkers": 2, "lapsed": 3}
    labels = out.groupby("cluster").cluster_label.first().to_dict()
    assert labels[1] == "recent, frequent, high spend"
    assert labels[3] == "lapsed, infrequent, low spend"
    assert out.cluster.dtype.kind == "i"


def test_mix_preference_in_both_languages():
    df = simulate(mix=True)
    model = Clusters(random_state=0)  # zh by default
    out = fitted_frame(model, df)
    assert model.k_ == 3
    assert model.mix_columns_ == ["mix_饮料", "mix_other"]
    assert adjusted_rand_score(df.group, out.cluster) >= 0.9
    labels = out.groupby("cluster").cluster_label.first().to_dict()
    assert labels[2] == "近期一般、中频、中消费；偏好饮料"
    assert labels[1] == "近期活跃、高频、高消费"
    prof = {p["cluster"]: p for p in model.thresholds()["clusters"]}
    assert prof[2]["label_en"] == "mid recency, mid frequency, mid spend; prefers 饮料"
    assert prof[2]["preferred_category"] == "饮料"
    assert prof[1]["preferred_category"] is None  # mix_other never counts as a preference


def test_mix_names_map_columns_to_category_names():
    df = simulate(mix=True).rename(columns={"mix_饮料": "mix_drinks"})
    model = Clusters(lang="en", n_init=3, mix_names={"mix_drinks": "Soft Drinks"}).fit(
        ibis.memtable(df)
    )
    assert any(p["label_en"].endswith("prefers Soft Drinks") for p in model.profiles_)


def test_given_k_and_max_k():
    df = simulate()
    assert Clusters(k=2).fit(ibis.memtable(df)).k_ == 2
    model = Clusters(max_k=2).fit(ibis.memtable(df))
    assert model.k_ == 2 and set(model.silhouette_) == {2}


def test_same_seed_same_result_and_record_is_json():
    df = simulate(seed=7)
    a, b = Clusters(random_state=3, n_init=3), Clusters(random_state=3, n_init=3)
    out_a, out_b = fitted_frame(a, df), fitted_frame(b, df)
    assert out_a.equals(out_b)
    assert a.thresholds() == b.thresholds()
    rec = a.record()
    text = json.dumps(rec, ensure_ascii=False)
    assert "近期活跃" in text and "recent" in text  # both languages kept
    th = rec["thresholds"]
    assert th["k"] == 3 and len(th["centres"]) == 3 and len(th["centres"][0]) == 3
    assert sum(p["size"] for p in th["clusters"]) == len(df)
    assert set(th["clusters"][0]["mean"]) == {"recency_days", "orders", "monetary"}
    assert rec["params"]["random_state"] == 3


def test_transform_on_another_table_runs_in_the_engine():
    model = Clusters(lang="en", n_init=3).fit(ibis.memtable(simulate()))
    new = pd.DataFrame(
        {
            "customer_id": ["x", "y", "z"],
            "recency_days": [3, 50, 400],
            "orders": [28, 5, 1],
            "monetary": [11000.0, 1000.0, 30.0],
            "extra": ["kept", "kept", "kept"],
        }
    )
    con = ibis.duckdb.connect()
    table = con.create_table("new_customers", new)
    out = model.transform(table)
    sql = ibis.to_sql(out)
    assert "ln(" in sql.lower()  # the nearest centre is computed by the engine
    df = out.order_by("customer_id").to_pandas()
    assert df.cluster.tolist() == [1, 2, 3]
    assert df.extra.tolist() == ["kept"] * 3
    assert list(out.columns) == [*new.columns, "cluster", "cluster_label"]


def test_transform_needs_the_mix_columns_seen_in_fit():
    model = Clusters(n_init=3).fit(ibis.memtable(simulate(mix=True)))
    with pytest.raises(SchemaError, match="mix_饮料"):
        model.transform(ibis.memtable(simulate()))


def test_explain_gives_distances_and_the_nearest_centre():
    df = simulate()
    model = Clusters(lang="en")
    rows = model.fit_transform(ibis.memtable(df)).to_pyarrow().to_pylist()
    for row in rows[::40]:
        ex = model.explain(row)
        assert ex.label == row["cluster"] == ex.extra["nearest"]
        dists = ex.extra["distances"]
        assert set(dists) == {"1", "2", "3"}
        assert min(dists, key=dists.get) == str(row["cluster"])
        assert f"cluster {row['cluster']}" in ex.reason
        assert "最近的中心" in ex.reason_zh


def test_no_customers():
    empty = ibis.memtable(simulate().head(0))
    model = Clusters().fit(empty)
    assert model.k_ == 0
    out = model.transform(empty)
    assert out.count().execute() == 0 and "cluster" in out.columns


def test_few_customers_give_fewer_clusters():
    df = simulate().iloc[[0, 100, 200]]  # one of each group, but only 3 customers
    model = Clusters(k=3).fit(ibis.memtable(df))
    assert model.k_ == 1  # at most n // 2 clusters
    assert model.k_chosen_by_.startswith("given 3, capped")
    df = simulate().iloc[[0, 1, 100, 101, 200, 201]]
    assert Clusters(k=5).fit(ibis.memtable(df)).k_ == 3


def test_identical_customers_make_one_cluster():
    df = pd.DataFrame(
        {"customer_id": [f"c{i}" for i in range(20)], "recency_days": 10, "orders": 3,
         "monetary": 100.0}
    )  # fmt: skip
    model = Clusters(lang="en")
    out = model.fit_transform(ibis.memtable(df)).to_pandas()
    assert model.k_ == 1 and set(out.cluster) == {1}
    assert set(out.cluster_label) == {"mid recency, mid frequency, mid spend"}


def test_missing_rfm_gets_no_cluster():
    df = simulate()
    df["monetary"] = df.monetary.astype("float64")
    df.loc[0, "monetary"] = None
    model = Clusters()
    out = fitted_frame(model, df)
    assert pd.isna(out.cluster[0]) and out.cluster[1:].notna().all()
    assert model.n_customers_ == len(df) - 1
    assert model.explain(out.iloc[0].to_dict()).label is None


@pytest.mark.parametrize(
    "params", [{"lang": "fr"}, {"k": 0}, {"max_k": 1}, {"mix_weight": -1}, {"n_init": 0}]
)
def test_bad_params(params):
    with pytest.raises(ConfigError):
        Clusters(**params).fit(ibis.memtable(simulate()))


def test_protocol():
    model = Clusters()
    assert isinstance(model, Classifier)
    assert (model.name, model.version, model.outputs) == (
        "cluster",
        "cluster/1",
        ("cluster", "cluster_label"),
    )
    with pytest.raises(NotFittedError):
        model.transform(ibis.memtable(simulate()))
    with pytest.raises(SchemaError, match="monetary"):
        model.fit(ibis.memtable(simulate().drop(columns="monetary")))


@pytest.mark.realdata
def test_online_retail_sanity(shared_data):
    from kehu.analytics.rfm import rfm_summary

    raw = ibis.read_parquet(shared_data / "online_retail" / "online_retail.parquet")
    raw = raw.filter(raw.CustomerID.notnull())
    orders = raw.select(
        customer_id=raw.CustomerID.cast("string"),
        order_id=raw.InvoiceNo,
        order_time=raw.InvoiceDate,
        amount=raw.Quantity * raw.UnitPrice,
        is_return=raw.InvoiceNo.startswith("C"),
    )
    customers = rfm_summary(orders)
    model = Clusters(lang="en", random_state=0, n_init=3, sample_size=2000)
    out = model.fit_transform(customers).to_pandas()
    assert 2 <= model.k_ <= 8
    assert set(out.cluster) == set(range(1, model.k_ + 1))
    prof = {p["cluster"]: p for p in model.thresholds()["clusters"]}
    # cluster 1 spends most and is called high spend; the most lapsed cluster is called lapsed
    means = [prof[c]["mean"]["monetary"] for c in sorted(prof)]
    assert means == sorted(means, reverse=True)
    assert "high spend" in prof[1]["label_en"]
    most_lapsed = max(prof.values(), key=lambda p: p["mean"]["recency_days"])
    assert most_lapsed["label_en"].startswith("lapsed")
    assert len({p["label_en"] for p in prof.values()}) == model.k_
