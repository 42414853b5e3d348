"""The churn risk model: calibrated gradient boosting on a time split.

The time split, in one picture (``h`` = ``horizon_days``)::

    fit(orders, cutoff=c)        features from lines before c | labels: any purchase in [c, c+h)
    predict(orders, as_of=d)     features from lines before d | risk of no purchase in [d, d+h)

So ``fit`` needs the data to reach ``c + h - 1``; by default ``c`` is the
latest such date (the day after the last order, minus ``h``).  For an honest
evaluation, predict at a later ``d >= c + h`` whose horizon is observed too
(:func:`kehu.analytics.churn.evaluate_churn` does exactly that), so that no
label of the training set overlaps the test period.

``fit`` stacks ``snapshots`` monthly snapshots: the features and labels at
``c``, ``c - 30``, ``c - 60`` days (``snapshot_days`` apart).  Their labels
all end before ``c + h``, so the rule above still holds; a customer appears
once per snapshot, in different states, which gives the booster about three
times as many examples of rare states (the long-silent customers at the top
of the ranking).  Snapshots before the first order are skipped.

The classifier is scikit-learn's ``HistGradientBoostingClassifier`` (it takes
the missing values of the features as they are), wrapped in
``CalibratedClassifierCV`` (sigmoid by default, or isotonic; 5 folds that
keep each customer's snapshots together): each fold's booster is calibrated
on the customers it did not see and the risk is the mean of the calibrated
folds.  Sigmoid (Platt) calibration is a strictly increasing map of each
booster's score, so it keeps the booster's ranking; isotonic calibration is a
step function that ties many customers (see ``bench/README.md``).
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any, Self

import numpy as np
import pandas as pd

from kehu.analytics.churn.features import (
    CHURN_FEATURES,
    _check_days,
    churn_dataset,
    churn_features,
    data_end,
)
from kehu.analytics.churn.persist import estimator_state, rebuild_estimator
from kehu.analytics.churn.reasons import REASON_GROUPS, reason_texts, top_reasons
from kehu.analytics.estimator import SavedEstimator
from kehu.analytics.rfm import DateLike, as_date
from kehu.exceptions import ConfigError, SchemaError

MODELS = ("hgb",)
CALIBRATIONS = ("sigmoid", "isotonic")
#: fewer training customers than this: one thread (OpenMP start-up and
#: contention with other processes cost more than the work itself)
_SMALL = 50_000


class ChurnModel(SavedEstimator):
    """Risk that a customer makes no purchase in the next ``horizon_days``.

    Parameters
    ----------
    horizon_days
        Length of the churn window, in days.
    model
        The classifier: ``"hgb"`` (scikit-learn histogram gradient boosting).
    calibration
        ``"sigmoid"`` (Platt) or ``"isotonic"`` calibration of the probabilities.
    trend_days
        Length of the recent and prior windows of the trend features.
    snapshots, snapshot_days
        :meth:`fit` learns from this many cut-offs, ``snapshot_days`` apart,
        ending at the training cut-off (1: the cut-off alone).
    cv
        Folds of the calibration (each fold's model is calibrated on the rest).
    random_state
        Seed of the boosting and of the folds.

    Attributes
    ----------
    estimator_ : sklearn CalibratedClassifierCV
    features_ : list of str
        The features used (those of :data:`CHURN_FEATURES` with any value in training).
    reference_ : dict
        Median of every feature at the training cut-off: the "typical
        customer" of the reasons.
    cutoff_ : datetime.date
        The training cut-off.
    n_customers_, churn_rate_ : int, float
        Customers at the training cut-off and their share who churned.
    n_rows_ : int
        Training rows: customers summed over the snapshots.

    Notes
    -----
    :meth:`save` writes the file of :mod:`kehu.analytics.estimator` (no
    pickle): each calibration fold's trees as scikit-learn's node arrays and
    its calibrator's numbers; :meth:`load` rebuilds the same scikit-learn
    objects from them, so the risks after a round trip are identical.

    Examples
    --------
    >>> model = ChurnModel(horizon_days=90).fit(orders, cutoff="2011-06-01")  # doctest: +SKIP
    >>> model.predict(orders, as_of="2011-12-10", language="zh")  # doctest: +SKIP
    """

    fitted_attribute = "estimator_"
    fit_call = "fit(orders, cutoff=...)"
    noun = "churn model"

    def __init__(
        self,
        horizon_days: int = 90,
        model: str = "hgb",
        calibration: str = "sigmoid",
        *,
        trend_days: int = 90,
        snapshots: int = 3,
        snapshot_days: int = 30,
        cv: int = 5,
        random_state: int | None = 0,
    ):
        self.horizon_days = horizon_days
        self.model = model
        self.calibration = calibration
        self.trend_days = trend_days
        self.snapshots = snapshots
        self.snapshot_days = snapshot_days
        self.cv = cv
        self.random_state = random_state

    # --- fitting -----------------------------------------------------------------------------
    def _check_params(self) -> None:
        _check_days(self.horizon_days, "horizon_days")
        _check_days(self.trend_days, "trend_days")
        _check_days(self.snapshot_days, "snapshot_days")
        if isinstance(self.snapshots, bool) or not isinstance(self.snapshots, int):
            raise ConfigError(f"snapshots must be a whole number >= 1, got {self.snapshots!r}")
        if self.snapshots < 1:
            raise ConfigError(f"snapshots must be a whole number >= 1, got {self.snapshots!r}")
        if self.model not in MODELS:
            raise ConfigError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.calibration not in CALIBRATIONS:
            raise ConfigError(
                f"calibration must be one of {', '.join(CALIBRATIONS)}, got {self.calibration!r}"
            )
        if isinstance(self.cv, bool) or not isinstance(self.cv, int) or self.cv < 2:
            raise ConfigError(f"cv must be a whole number of folds >= 2, got {self.cv!r}")

    def fit(
        self,
        orders: Any,
        *,
        cutoff: DateLike | None = None,
        products: Any = None,
        customers: Any = None,
    ) -> Self:
        """Learn from the features at ``cutoff`` and who bought in the ``horizon_days`` after.

        With ``snapshots > 1``, also from the features and labels at the
        ``snapshots - 1`` earlier cut-offs ``snapshot_days`` apart (those
        before anyone bought are skipped); every label ends before
        ``cutoff + horizon_days``.

        Parameters
        ----------
        orders
            Order lines in the canonical schema.
        cutoff
            Training cut-off; default the latest one whose horizon is observed.
        products, customers
            Optional masters (see :func:`~kehu.analytics.churn.churn_dataset`).

        Raises
        ------
        SchemaError
            The horizon after ``cutoff`` is not observed, nobody bought before
            it, or the customers all churned (or none did), so there is
            nothing to learn.
        """
        self._check_params()
        if cutoff is None:
            cutoff = data_end(orders) - dt.timedelta(days=self.horizon_days)
        day = as_date(cutoff, "cutoff")
        frames = []
        for k in range(self.snapshots):  # a few cut-offs, not rows
            when = day - dt.timedelta(days=k * self.snapshot_days)
            try:
                data = churn_dataset(
                    orders,
                    cutoff=when,
                    horizon_days=self.horizon_days,
                    products=products,
                    customers=customers,
                    trend_days=self.trend_days,
                )
            except SchemaError:
                if k == 0:  # the cut-off itself must have customers
                    raise
                break  # earlier snapshots have even fewer
            frames.append(data.assign(snapshot=pd.Timestamp(when)))
        return self.fit_dataset(pd.concat(frames, ignore_index=True), cutoff=day)

    def fit_dataset(self, data: pd.DataFrame, *, cutoff: DateLike | None = None) -> Self:
        """Fit on a ready :func:`~kehu.analytics.churn.churn_dataset` (features and ``churned``).

        ``data`` may stack several cut-offs with a ``snapshot`` column (the
        cut-off date): the typical customer, ``n_customers_`` and
        ``churn_rate_`` are then those of the latest one.  With a
        ``customer_id`` column, the calibration folds keep each customer's
        rows together.
        """
        self._check_params()
        missing = [c for c in (*CHURN_FEATURES, "churned") if c not in data.columns]
        if missing:
            raise SchemaError(f"churn data set is missing column(s) {', '.join(missing)}")
        data = data.reset_index(drop=True)
        latest = (
            (data["snapshot"] == data["snapshot"].max()).to_numpy()
            if "snapshot" in data.columns
            else np.ones(len(data), dtype=bool)
        )
        y = data["churned"].to_numpy(dtype="int64")
        counts = np.bincount(y, minlength=2)
        if counts.min() < self.cv:
            raise SchemaError(
                f"cannot learn churn from {len(y)} customer rows (all snapshots) of whom "
                f"{counts[1]} churned and {counts[0]} did not: each needs at least {self.cv} "
                "rows (cv folds)"
            )
        x = self._matrix(data, CHURN_FEATURES)
        # a feature with no value at all (e.g. categories without a product master) is dropped
        usable = [c for c in CHURN_FEATURES if np.isfinite(x[c]).any()]
        x = x[usable]
        groups = data["customer_id"].astype(str).to_numpy() if "customer_id" in data else None
        self.estimator_ = self._make_estimator(x, y, groups)
        with self._threads(len(x)):
            self.estimator_.fit(x, y)
        self.features_ = usable
        # the typical customer at the cut-off (a median, so NaN-only features stay NaN)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.reference_ = {c: float(np.nanmedian(x.loc[latest, c])) for c in usable}
        self.cutoff_ = as_date(cutoff, "cutoff") if cutoff is not None else None
        self.n_customers_ = int(latest.sum())
        self.churn_rate_ = float(y[latest].mean())
        self.n_rows_ = len(y)
        return self

    def _make_estimator(self, x: pd.DataFrame, y: np.ndarray, groups: np.ndarray | None):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

        # set before looking at any test cut-off: shallow trees, a slow learning
        # rate and an L2 penalty suit a few thousand customers with noisy labels
        booster = HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=200,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            random_state=self.random_state,
        )
        if groups is None or len(np.unique(groups)) == len(groups):
            folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
            split = list(folds.split(x, y))
        else:
            # a customer's snapshots stay in one fold: calibrating a booster on
            # the same customer at another date would flatter it
            folds = StratifiedGroupKFold(self.cv, shuffle=True, random_state=self.random_state)
            split = list(folds.split(x, y, groups))
        return CalibratedClassifierCV(booster, method=self.calibration, cv=split)

    @staticmethod
    def _threads(n_rows: int):
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=1 if n_rows < _SMALL else None, user_api="openmp")

    @staticmethod
    def _matrix(data: pd.DataFrame, columns) -> pd.DataFrame:
        x = data[list(columns)].astype("float64")
        # an infinite ratio carries no more than "very large"; the trees need finite values
        return x.replace([np.inf, -np.inf], np.nan).reset_index(drop=True)

    # --- prediction --------------------------------------------------------------------------
    def risk(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probability of each row of a feature table."""
        self._check_fitted()
        missing = [c for c in self.features_ if c not in features.columns]
        if missing:
            raise SchemaError(f"churn features are missing column(s) {', '.join(missing)}")
        if features.empty:
            return np.empty(0)
        x = self._matrix(features, self.features_)
        with self._threads(len(x)):
            return self.estimator_.predict_proba(x)[:, 1]

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per customer and reason group: risk minus the risk with the group set to typical.

        See :mod:`kehu.analytics.churn.reasons` for the method.  Columns are
        the groups of :data:`~kehu.analytics.churn.reasons.REASON_GROUPS` that
        have a feature in the model; positive values raise the risk.
        """
        return self._attribute(features)[1]

    def _attribute(self, features: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """The risk and the group contributions, from one stacked prediction."""
        self._check_fitted()
        missing = [c for c in self.features_ if c not in features.columns]
        if missing:
            raise SchemaError(f"churn features are missing column(s) {', '.join(missing)}")
        x = self._matrix(features, self.features_)
        groups = {g: [c for c in cols if c in self.features_] for g, cols in REASON_GROUPS.items()}
        groups = {g: cols for g, cols in groups.items() if cols}
        n = len(x)
        if n == 0:
            return np.empty(0), pd.DataFrame(columns=list(groups), dtype=float)
        typical = pd.DataFrame([self.reference_])[self.features_].astype("float64")
        typical = typical.loc[typical.index.repeat(n)].reset_index(drop=True)
        # one stacked prediction: the customers; per group, the customers with the
        # group made typical, and the typical customer with the group made theirs
        variants = [x, typical]
        for cols in groups.values():
            v = x.copy()
            v[cols] = typical[cols]
            w = typical.copy()
            w[cols] = x[cols]
            variants += [v, w]
        with self._threads(n * len(variants)):
            p = self.estimator_.predict_proba(pd.concat(variants, ignore_index=True))[:, 1]
        p = p.reshape(len(variants), n)
        base, ref = p[0], p[1]
        out = {
            g: 0.5 * ((base - p[2 + 2 * k]) + (p[3 + 2 * k] - ref)) for k, g in enumerate(groups)
        }
        return base, pd.DataFrame(out, columns=list(groups))

    def predict(
        self,
        orders: Any,
        as_of: DateLike | None = None,
        *,
        products: Any = None,
        language: str = "en",
        max_reasons: int = 3,
    ) -> pd.DataFrame:
        """Churn risk and its main reasons for every customer who bought before ``as_of``.

        Parameters
        ----------
        orders
            Order lines in the canonical schema.
        as_of
            The date to score at (exclusive); default the day after the last order.
        products
            Optional product master, as in training.
        language
            ``"en"`` or ``"zh"``: the language of ``churn_reasons``.
        max_reasons
            At most this many reasons per customer.

        Returns
        -------
        A pandas DataFrame ``customer_id, churn_risk, churn_reasons``, highest
        risk first.  ``churn_reasons`` names the feature groups that raise the
        customer's risk most, by at least one percentage point, joined by
        ``"; "`` (``"；"`` in Chinese); empty when none does.
        """
        self._check_fitted()
        if language not in ("en", "zh"):
            raise ConfigError(f"language must be 'en' or 'zh', got {language!r}")
        if isinstance(max_reasons, bool) or not isinstance(max_reasons, int) or max_reasons < 1:
            raise ConfigError(f"max_reasons must be a whole number >= 1, got {max_reasons!r}")
        day = as_date(as_of, "as_of") if as_of is not None else data_end(orders)
        f = churn_features(
            orders,
            as_of=day,
            horizon_days=self.horizon_days,
            products=products,
            trend_days=self.trend_days,
        )
        return self.explain(f, language=language, max_reasons=max_reasons)

    def explain(
        self, features: pd.DataFrame, *, language: str = "en", max_reasons: int = 3
    ) -> pd.DataFrame:
        """:meth:`predict` on a ready feature table (:func:`churn_features` output)."""
        self._check_fitted()
        risk, contrib = self._attribute(features)
        texts = reason_texts(
            features, self.reference_, language=language, trend_days=self.trend_days
        )
        reasons = top_reasons(
            contrib, texts[contrib.columns], max_reasons=max_reasons, language=language
        )
        out = pd.DataFrame(
            {
                "customer_id": features["customer_id"].astype(str).to_numpy(),
                "churn_risk": risk,
                "churn_reasons": reasons.to_numpy(),
            }
        )
        out = out.sort_values(["churn_risk", "customer_id"], ascending=[False, True])
        return out.reset_index(drop=True)

    # --- persistence (kehu.analytics.estimator) -----------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted state: each fold's trees as node arrays and its calibrator's numbers."""
        import sklearn

        folds, arrays = estimator_state(self.estimator_, self.calibration)
        state = {
            "sklearn": sklearn.__version__,
            "classes": self.estimator_.classes_.tolist(),
            "folds": folds,
            "features_": self.features_,
            "reference_": self.reference_,
            "cutoff_": self.cutoff_.isoformat() if self.cutoff_ is not None else None,
            "n_customers_": self.n_customers_,
            "churn_rate_": self.churn_rate_,
            "n_rows_": self.n_rows_,
        }
        return state, arrays

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Rebuild the calibrated boosters from their node arrays; they predict as before.

        See :mod:`kehu.analytics.churn.persist`: the trees are scikit-learn's own
        ``TreePredictor`` objects made from the saved nodes, so the prediction runs
        the same code on the same numbers.
        """
        self.estimator_ = rebuild_estimator(state, arrays, self.calibration, self.cv)
        self.features_ = [str(c) for c in state["features_"]]
        self.reference_ = {str(c): float(v) for c, v in state["reference_"].items()}
        cutoff = state["cutoff_"]
        self.cutoff_ = dt.date.fromisoformat(cutoff) if cutoff is not None else None
        self.n_customers_ = int(state["n_customers_"])
        self.churn_rate_ = float(state["churn_rate_"])
        self.n_rows_ = int(state["n_rows_"])

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        if hasattr(self, "estimator_"):
            return f"ChurnModel({inner}; fitted at {self.cutoff_} on {self.n_customers_})"
        return f"ChurnModel({inner})"
