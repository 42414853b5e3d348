"""Top-k product recommendations per customer.

The interaction table is aggregated in the engine
(:func:`~kehu.analytics.recommend.interactions.interactions`); the model is fit
in memory on the binary customer x item matrix of the ``max_items`` most
popular products (by number of distinct buyers).  Who gets what:

==================  =========================================================
``reason``          when
==================  =========================================================
``personal``        a customer with history: the model's scores (EASE or
                    item-kNN), products new to them by default
``rebuy_due``       ``mode="rebuy"`` or ``"mix"``: a product the customer has
                    bought on at least ``rebuy_min_purchases`` days whose
                    usual interval has elapsed (see :meth:`Recommender.rebuy`)
``segment_popular`` no usable history: the most popular products of the
                    customer's segment (segments of at least
                    ``min_segment_customers`` buyers)
``popular``         no history and no usable segment: global popularity
``opt_out``         the customer has the "no personalised recommendations"
                    flag: the global list, the same for everyone, built
                    without their history or segment
==================  =========================================================

Ties in score are broken by global popularity, then product id, so results are
deterministic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Self

import ibis
import numpy as np
import pandas as pd
import scipy.sparse as sp

from kehu.analytics.estimator import SavedEstimator
from kehu.analytics.recommend.interactions import interactions
from kehu.analytics.recommend.lists import (
    _concat,
    _id_array,
    _opt_out_set,
    _positive_int,
    _top_k,
    in_given_order,
    rebuys_first,
)
from kehu.analytics.recommend.models import ease_weights, itemknn_weights
from kehu.analytics.recommend.rebuy import due_rebuys, rebuy_candidates
from kehu.analytics.recommend.segments import segment_popularity
from kehu.analytics.rfm import DateLike, as_date
from kehu.exceptions import ConfigError, SchemaError

MODELS = ("ease", "itemknn")
MODES = ("new", "rebuy", "mix")


class Recommender(SavedEstimator):
    """Item-based recommender with popularity fallbacks, scikit-learn style.

    :meth:`save` writes one file (:mod:`kehu.analytics.estimator`: JSON and
    arrays, no pickle) and :meth:`load` reads it.

    Parameters
    ----------
    k
        Default length of each list.
    model
        ``"ease"`` (default; chosen on the Online Retail time split, see
        ``bench/README.md``) or ``"itemknn"``.
    l2
        EASE ridge penalty.
    neighbours, shrink
        item-kNN: neighbours kept per item and the cosine shrinkage term.
    max_items
        Only the most popular products are modelled and recommended (EASE
        inverts an item x item matrix).
    min_segment_customers
        A segment needs this many buyers for its own popularity list.
    rebuy_min_purchases
        Distinct purchase days needed before a product counts as re-bought
        regularly.
    rebuy_max_overdue
        A product stops being "due" once ``rebuy_max_overdue`` usual intervals
        have passed (the customer has probably stopped buying it).
    batch_size
        Customers scored at a time (bounds memory to ``batch_size x items``).

    Attributes
    ----------
    items_ : ndarray of str
        Modelled products, most popular first.
    item_customers_ : ndarray of int
        Distinct buyers of each of ``items_``.
    customers_ : ndarray of str
        Customers with purchase history, sorted.
    history_ : scipy.sparse.csr_matrix
        Binary customers_ x items_ matrix.
    weights_ : ndarray or scipy.sparse.csr_matrix
        The item x item weight matrix.
    segments_ : ndarray of str
        Segment names (empty without ``segments``).
    segment_customers_ : ndarray of int
        Buyers per segment.
    segment_popularity_ : ndarray
        segments_ x items_ distinct-buyer counts.
    customer_segment_ : dict
        Customer id -> segment, for every customer of the segments table.
    rebuy_candidates_ : pandas.DataFrame
        Regularly re-bought (customer, product) pairs: ``customer_id,
        product_id, purchases, interval_days, last_purchase``.
    as_of_ : datetime.date
        The day after the last order seen in ``fit``.

    Examples
    --------
    >>> rec = Recommender(k=5).fit(orders)                      # doctest: +SKIP
    >>> rec.recommend(["c1", "c2"], opt_out={"c2"})             # doctest: +SKIP
    """

    fitted_attribute = "weights_"
    fit_call = "fit(orders)"
    noun = "recommender"

    def __init__(
        self,
        k: int = 10,
        model: str = "ease",
        *,
        l2: float = 500.0,
        neighbours: int = 100,
        shrink: float = 10.0,
        max_items: int = 5000,
        min_segment_customers: int = 20,
        rebuy_min_purchases: int = 3,
        rebuy_max_overdue: float = 3.0,
        batch_size: int = 2048,
    ):
        self.k = k
        self.model = model
        self.l2 = l2
        self.neighbours = neighbours
        self.shrink = shrink
        self.max_items = max_items
        self.min_segment_customers = min_segment_customers
        self.rebuy_min_purchases = rebuy_min_purchases
        self.rebuy_max_overdue = rebuy_max_overdue
        self.batch_size = batch_size

    # --- parameters ------------------------------------------------------------------
    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"Recommender({args})"

    def _check_params(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(
                f"Recommender: model must be one of {', '.join(MODELS)}, got {self.model!r}"
            )
        _positive_int(self.k, "k")
        _positive_int(self.max_items, "max_items")
        _positive_int(self.neighbours, "neighbours")
        _positive_int(self.batch_size, "batch_size")
        _positive_int(self.rebuy_min_purchases, "rebuy_min_purchases")
        if self.rebuy_min_purchases < 2:
            raise ConfigError(
                "Recommender: rebuy_min_purchases must be at least 2 "
                "(an interval needs two purchases)"
            )
        if not self.l2 > 0:
            raise ConfigError(f"Recommender: l2 must be positive, got {self.l2!r}")
        if not self.shrink >= 0:
            raise ConfigError(f"Recommender: shrink must be >= 0, got {self.shrink!r}")
        if not self.rebuy_max_overdue >= 1:
            raise ConfigError(
                f"Recommender: rebuy_max_overdue must be >= 1, got {self.rebuy_max_overdue!r}"
            )

    # --- fit ---------------------------------------------------------------------------
    def fit(self, orders: Any, segments: Any = None, *, as_of: DateLike | None = None) -> Self:
        """Aggregate ``orders`` in the engine and fit the model.

        Parameters
        ----------
        orders
            Canonical order lines (Ibis table or pandas/polars/Arrow frame).
        segments
            Optional customers table with ``customer_id`` and ``segment``
            (e.g. the rfm8 class or the channel); it may list customers without
            orders, who then get their segment's list.
        as_of
            Only orders before this date are used; also the "today" of the
            re-buy rule.  Default: the day after the last order.
        """
        self._check_params()
        inter = interactions(orders, before=as_of)
        pop = (
            inter.group_by("product_id")
            .agg(customers=inter.customer_id.count())
            .order_by([ibis.desc("customers"), "product_id"])
            .limit(self.max_items)
            .to_pandas()
        )
        if pop.empty:
            raise SchemaError(
                "orders: no purchase lines with a customer and a product to learn from"
            )
        self.items_ = pop["product_id"].to_numpy(dtype=object).astype(str)
        self.item_customers_ = pop["customers"].to_numpy(dtype=np.int64)
        item_index = pd.Index(self.items_)

        pairs = inter.select("customer_id", "product_id").to_pandas()
        self.customers_ = np.sort(pairs["customer_id"].unique().astype(str))
        cust_index = pd.Index(self.customers_)
        cols = item_index.get_indexer(pairs["product_id"])
        kept = cols >= 0
        rows = cust_index.get_indexer(pairs["customer_id"][kept])
        self.history_ = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols[kept])),
            shape=(len(self.customers_), len(self.items_)),
        )
        if self.model == "ease":
            self.weights_ = ease_weights(self.history_, self.l2)
        else:
            self.weights_ = itemknn_weights(self.history_, self.neighbours, self.shrink)

        self._fit_segments(inter, segments, item_index)
        self._fit_rebuy(inter, as_of)
        return self

    def _fit_segments(self, inter: Any, segments: Any, item_index: pd.Index) -> None:
        self.segments_ = np.array([], dtype=str)
        self.segment_customers_ = np.array([], dtype=np.int64)
        self.segment_popularity_ = np.zeros((0, len(self.items_)))
        self.customer_segment_ = {}
        if segments is not None:
            (
                self.customer_segment_,
                self.segments_,
                self.segment_customers_,
                self.segment_popularity_,
            ) = segment_popularity(inter, segments, item_index)

    def _fit_rebuy(self, inter: Any, as_of: DateLike | None) -> None:
        last = inter.last_purchase.max().execute()
        self.as_of_ = as_date(as_of) if as_of is not None else as_date(last) + dt.timedelta(days=1)
        self.rebuy_candidates_ = rebuy_candidates(inter, self.rebuy_min_purchases)

    # --- recommend ------------------------------------------------------------------
    def recommend(
        self,
        customer_ids: Iterable[Any] | None = None,
        k: int | None = None,
        exclude_seen: bool = True,
        opt_out: Any = None,
        *,
        mode: str = "new",
        as_of: DateLike | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` products per customer.

        Parameters
        ----------
        customer_ids
            Customers to recommend for; default every customer with history and
            every customer of the segments table.  Unknown ids get the popular
            list.
        k
            List length (default ``self.k``).
        exclude_seen
            Leave out products the customer has already bought ("new to them").
        opt_out
            Customers with the "no personalised recommendations" flag: a set or
            list of ids, or a boolean Series indexed by id.  They get the global
            list (``reason="opt_out"``).
        mode
            ``"new"`` (default) the model's list; ``"rebuy"`` only products due
            to be re-bought (none for opted-out customers or customers without
            history); ``"mix"`` due re-buys first, then the model's list.
        as_of
            "Today" for the re-buy rule (default ``as_of_``).

        Returns
        -------
        pandas.DataFrame with ``customer_id, rank, product_id, score, reason,
        because`` (``because``: the bought product that contributed most to a
        personal recommendation, else null), sorted by customer then rank.
        """
        self._check_fitted()
        k = self.k if k is None else k
        _positive_int(k, "k")
        if mode not in MODES:
            raise ConfigError(f"recommend: mode must be one of {', '.join(MODES)}, got {mode!r}")
        ids = self._customer_list(customer_ids)
        opted = _opt_out_set(opt_out)
        is_opt = pd.Index(ids).isin(list(opted))
        rows = pd.Index(self.customers_).get_indexer(ids)
        nnz = np.diff(self.history_.indptr)
        has_hist = (rows >= 0) & ~is_opt
        has_hist[has_hist] = nnz[rows[has_hist]] > 0

        parts: list[pd.DataFrame] = []
        # a re-buy list is personal by nature: nothing for opted-out or new customers
        if is_opt.any() and mode != "rebuy":
            parts.append(self._popular(ids[is_opt], self._global_scores(), k, "opt_out"))
        rest = ~is_opt & ~has_hist
        if rest.any() and mode != "rebuy":
            parts.extend(self._fallback(ids[rest], k))
        if has_hist.any():
            pids, prow = ids[has_hist], rows[has_hist]
            if mode == "new":
                parts.append(self._personal(pids, prow, k, exclude_seen))
            else:
                due = self.rebuy(pids, as_of=as_of, k=k)
                parts.append(due)
                if mode == "mix":
                    parts.append(self._personal(pids, prow, k, exclude_seen=True))
        out = _concat(parts)
        if mode == "mix":
            out = rebuys_first(out, k)
        return in_given_order(out, ids)

    def rebuy(
        self,
        customer_ids: Iterable[Any] | None = None,
        *,
        as_of: DateLike | None = None,
        k: int | None = None,
    ) -> pd.DataFrame:
        """Products due to be re-bought, best timed first.

        The rule is in :mod:`kehu.analytics.recommend.rebuy`.
        """
        self._check_fitted()
        k = self.k if k is None else k
        _positive_int(k, "k")
        day = self.as_of_ if as_of is None else as_date(as_of, "as_of")
        c = self.rebuy_candidates_
        if customer_ids is not None:
            c = c[c["customer_id"].isin(_id_array(customer_ids))]
        return due_rebuys(c, day, k, self.rebuy_max_overdue)

    # --- building blocks (also used by evaluation) ----------------------------------
    def _customer_list(self, customer_ids: Iterable[Any] | None) -> np.ndarray:
        if customer_ids is None:
            known = set(self.customers_) | set(self.customer_segment_)
            return np.array(sorted(known), dtype=object)
        return _id_array(customer_ids)

    def _global_scores(self) -> np.ndarray:
        return self.item_customers_.astype(float)

    def _segment_rows(self, ids: np.ndarray) -> np.ndarray:
        """Per customer: row index into ``segment_popularity_`` (-1 = none usable)."""
        seg = pd.Series(ids, dtype=object).map(self.customer_segment_).to_numpy(dtype=object)
        idx = pd.Index(self.segments_).get_indexer(seg)
        big = self.segment_customers_ >= self.min_segment_customers
        ok = idx >= 0
        ok[ok] = big[idx[ok]]
        return np.where(ok, idx, -1)

    def _fallback(self, ids: np.ndarray, k: int) -> list[pd.DataFrame]:
        seg_idx = self._segment_rows(ids)
        parts = []
        if (seg_idx < 0).any():
            parts.append(self._popular(ids[seg_idx < 0], self._global_scores(), k, "popular"))
        for s in np.unique(seg_idx[seg_idx >= 0]):
            parts.append(
                self._popular(ids[seg_idx == s], self.segment_popularity_[s], k, "segment_popular")
            )
        return parts

    def _popular(self, ids: np.ndarray, scores: np.ndarray, k: int, reason: str) -> pd.DataFrame:
        """The same non-personal list for every customer of ``ids``."""
        top = _top_k(scores[None, :], k)[0]
        top = top[top >= 0]
        top = top[scores[top] > 0]  # a product nobody bought is not "popular"
        n = len(top)
        return pd.DataFrame(
            {
                "customer_id": np.repeat(ids, n),
                "rank": np.tile(np.arange(1, n + 1), len(ids)),
                "product_id": np.tile(self.items_[top].astype(object), len(ids)),
                "score": np.tile(scores[top], len(ids)),
                "reason": reason,
                "because": None,
            }
        )

    def _personal(
        self, ids: np.ndarray, rows: np.ndarray, k: int, exclude_seen: bool
    ) -> pd.DataFrame:
        parts = []
        wt = self.weights_.T if isinstance(self.weights_, np.ndarray) else self.weights_.T.tocsr()
        for start in range(0, len(rows), self.batch_size):
            x = self.history_[rows[start : start + self.batch_size]]
            prod = x @ self.weights_
            scores = np.asarray(prod.toarray() if sp.issparse(prod) else prod, dtype=np.float64)
            if exclude_seen:
                scores[x.nonzero()] = -np.inf
            top = _top_k(scores, k)
            parts.append(
                self._personal_frame(ids[start : start + self.batch_size], x, scores, top, wt)
            )
        return _concat(parts)

    def _personal_frame(self, ids, x, scores, top, wt) -> pd.DataFrame:
        b, kk = top.shape
        valid = top >= 0
        safe = np.where(valid, top, 0)
        score = np.take_along_axis(scores, safe, axis=1)
        valid &= np.isfinite(score)
        because = np.full((b, kk), -1)
        for r in range(kk):  # k passes over the batch, not a loop over customers
            contrib = sp.csr_matrix(x.multiply(wt[safe[:, r]]))
            best = np.asarray(contrib.argmax(axis=1)).ravel()
            strength = np.asarray(contrib.max(axis=1).todense()).ravel()
            because[:, r] = np.where(strength > 0, best, -1)
        cust = np.repeat(ids, kk)[valid.ravel()]
        rank = np.tile(np.arange(1, kk + 1), b)[valid.ravel()]
        items = safe.ravel()[valid.ravel()]
        bec = because.ravel()[valid.ravel()]
        sc = score.ravel()[valid.ravel()]
        reason = np.where(sc > 0, "personal", "popular") if self.model == "itemknn" else "personal"
        return pd.DataFrame(
            {
                "customer_id": cust,
                "rank": rank,
                "product_id": self.items_[items].astype(object),
                "score": sc,
                "reason": reason,
                "because": np.where(bec >= 0, self.items_[np.maximum(bec, 0)].astype(object), None),
            }
        )

    # --- persistence (kehu.analytics.estimator) -----------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        dense = isinstance(self.weights_, np.ndarray)
        w = self.weights_ if dense else sp.csr_matrix(self.weights_)
        c = self.rebuy_candidates_
        state = {
            "as_of": self.as_of_.isoformat(),
            "dense_weights": dense,
            "customer_segment": self.customer_segment_,
        }
        arrays: dict[str, np.ndarray] = {
            "items": self.items_.astype(str),
            "item_customers": self.item_customers_,
            "customers": self.customers_.astype(str),
            "h_indptr": self.history_.indptr,
            "h_indices": self.history_.indices,
            "segments": self.segments_.astype(str),
            "segment_customers": self.segment_customers_,
            "segment_popularity": self.segment_popularity_,
            "rb_customer": c["customer_id"].to_numpy().astype(str),
            "rb_product": c["product_id"].to_numpy().astype(str),
            "rb_purchases": c["purchases"].to_numpy(dtype=np.int64),
            "rb_interval": c["interval_days"].to_numpy(dtype=float),
            "rb_last": c["last_purchase"].to_numpy(dtype="datetime64[s]"),
        }
        if dense:
            arrays["w"] = w
        else:
            arrays.update(w_data=w.data, w_indices=w.indices, w_indptr=w.indptr)
        return state, arrays

    def _restore(self, state: dict[str, Any], z: dict[str, np.ndarray]) -> None:
        self.items_ = z["items"].astype(object).astype(str)
        self.item_customers_ = z["item_customers"]
        self.customers_ = z["customers"]
        n_c, n_i = len(self.customers_), len(self.items_)
        ind = z["h_indices"]
        self.history_ = sp.csr_matrix(
            (np.ones(len(ind), dtype=np.float32), ind, z["h_indptr"]), shape=(n_c, n_i)
        )
        if state["dense_weights"]:
            self.weights_ = z["w"]
        else:
            self.weights_ = sp.csr_matrix(
                (z["w_data"], z["w_indices"], z["w_indptr"]), shape=(n_i, n_i)
            )
        self.segments_ = z["segments"]
        self.segment_customers_ = z["segment_customers"]
        self.segment_popularity_ = z["segment_popularity"]
        self.customer_segment_ = state["customer_segment"]
        self.rebuy_candidates_ = pd.DataFrame(
            {
                "customer_id": z["rb_customer"].astype(object),
                "product_id": z["rb_product"].astype(object),
                "purchases": z["rb_purchases"],
                "interval_days": z["rb_interval"],
                "last_purchase": z["rb_last"],
            }
        )
        self.as_of_ = dt.date.fromisoformat(state["as_of"])
