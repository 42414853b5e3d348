"""Recommendation lists: the top k of a score matrix, ids, the opt-out set, and list order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from kehu.exceptions import ConfigError

RECOMMEND_COLUMNS = ("customer_id", "rank", "product_id", "score", "reason", "because")


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` best scores per row; ties go to the lower index.

    Items are ordered by global popularity, so ties go to the more popular
    product.  Rows with fewer than ``k`` finite scores still return ``k``
    indices; callers drop the ``-inf`` ones.
    """
    kk = min(k, scores.shape[1])
    return np.argsort(-scores, axis=1, kind="stable")[:, :kk]


def _positive_int(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"Recommender: {name} must be a positive integer, got {value!r}")


def _id_array(ids: Iterable[Any]) -> np.ndarray:
    if isinstance(ids, (str, bytes)):
        ids = [ids]
    return np.array([str(c) for c in ids], dtype=object)


def _opt_out_set(opt_out: Any) -> set[str]:
    """Ids with the opt-out flag from a set/list of ids or a boolean Series by id."""
    if opt_out is None:
        return set()
    if isinstance(opt_out, pd.Series) and opt_out.dtype == bool:
        return {str(c) for c in opt_out.index[opt_out.to_numpy()]}
    return set(_id_array(opt_out))


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RECOMMEND_COLUMNS}).astype(
            {"rank": "int64", "score": "float64"}
        )
    return pd.concat(parts, ignore_index=True)


def rebuys_first(out: pd.DataFrame, k: int) -> pd.DataFrame:
    """``mode="mix"``: re-buys first, personal items fill the rest (never a product twice)."""
    if out.empty:
        return out
    out = out.assign(_first=(out["reason"] != "rebuy_due").astype(int))
    out = out.sort_values(["customer_id", "_first", "rank"], kind="stable")
    out = out.drop_duplicates(["customer_id", "product_id"]).drop(columns="_first")
    out["rank"] = out.groupby("customer_id", sort=False).cumcount() + 1
    return out[out["rank"] <= k]


def in_given_order(out: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """The lists in the order the customers were asked for, each by rank."""
    order = pd.Series(np.arange(len(ids)), index=pd.Index(ids)).drop_duplicates()
    out = out.assign(_pos=order.reindex(out["customer_id"]).to_numpy())
    out = out.sort_values(["_pos", "rank"], kind="stable").drop(columns="_pos")
    out["rank"] = out["rank"].astype("int64")
    return out.reset_index(drop=True)[list(RECOMMEND_COLUMNS)]
