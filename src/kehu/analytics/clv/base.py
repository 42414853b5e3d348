"""The small shared base of the CLV models: data checks, the fit, errors.

A model keeps its ``__init__`` arguments untouched; :meth:`CLVModel.fit` finds
the maximum-likelihood parameters on a per-customer summary
(:data:`~kehu.analytics.clv.summary.SUMMARY_COLUMNS`) and sets ``params_``,
``se_``, ``log_likelihood_`` and ``n_customers_``.

The optimisation runs over the logarithms of the (positive) parameters, on
the mean log-likelihood, with the model's gradient.  Customers with identical
summaries are grouped and weighted (in the engine when the summary is an Ibis
table, so only the distinct rows reach Python), so a likelihood evaluation
costs one pass over the distinct rows.  Standard errors come from the inverse of a numerical
Hessian (central differences of the gradient) in log space, carried to the
natural parameters by the delta method (exact at the optimum).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import optimize
from threadpoolctl import threadpool_limits

from kehu.analytics.estimator import SavedEstimator
from kehu.exceptions import SchemaError


class ConvergenceWarning(UserWarning):
    """The optimiser stopped before the gradient vanished."""


def as_frame(
    data: Any, columns: Sequence[str], what: str, weights: np.ndarray | None = None
) -> pd.DataFrame:
    """``data`` (pandas, polars, Arrow or an Ibis table) as pandas, columns checked.

    Raises :class:`SchemaError` naming the missing columns, and when a column
    has missing or negative values (counted with ``weights`` when the rows
    are distinct rows standing for several customers).
    """
    if hasattr(data, "to_pandas") and not isinstance(data, pd.DataFrame):
        data = data.to_pandas()
    if not isinstance(data, pd.DataFrame):
        raise SchemaError(
            f"{what}: expected a per-customer summary table, got {type(data).__name__}"
        )
    missing = [c for c in columns if c not in data.columns]
    if missing:
        found = ", ".join(map(str, data.columns)) or "(none)"
        raise SchemaError(
            f"{what} is missing column(s) {', '.join(missing)}; columns found: {found}"
        )
    for c in columns:
        if c == "customer_id":
            continue
        values = pd.to_numeric(data[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        count = _counter(weights)
        bad = ~np.isfinite(values)
        if bad.any():
            raise SchemaError(
                f"{what}: column {c} has {count(bad)} missing or non-numeric value(s)"
            )
        if (values < 0).any():
            raise SchemaError(f"{what}: column {c} has {count(values < 0)} negative value(s)")
    return data


def _counter(weights: np.ndarray | None):
    """How many customers a boolean mask over (possibly distinct, weighted) rows stands for."""
    if weights is None:
        return lambda mask: int(mask.sum())
    return lambda mask: int(weights[mask].sum())


def distinct_rows(table: Any, columns: Sequence[str], what: str) -> pd.DataFrame:
    """Distinct rows of ``columns`` of an Ibis table with their count ``_n``, grouped in the engine.

    A million customers have far fewer distinct summaries (times are whole days), so only
    those travel to Python.
    """
    missing = [c for c in columns if c not in table.columns]
    if missing:
        found = ", ".join(table.columns) or "(none)"
        raise SchemaError(
            f"{what} is missing column(s) {', '.join(missing)}; columns found: {found}"
        )
    grouped = table.group_by(list(columns)).agg(_n=table.count())
    # sorted in the engine, so that group_rows finds them distinct and sorted and has no work
    return grouped.order_by(list(columns)).to_pandas()


def column(data: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(data[name]).to_numpy(dtype=float)


def check_horizon(t: Any, what: str = "t") -> np.ndarray:
    """A positive horizon (scalar or array) as floats, else :class:`SchemaError`."""
    arr = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise SchemaError(
            f"{what} must be a positive time horizon (in the summary's unit), got {t!r}"
        )
    return arr


def group_rows(
    *columns: np.ndarray, weights: np.ndarray | None = None
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Distinct rows of the given columns, sorted, and how many customers have each.

    A hash group-by (pandas) rather than ``np.unique(axis=0)``, which sorts the rows as
    opaque byte strings and takes seconds at a million rows.
    """
    if weights is not None and _distinct_and_sorted(columns):
        return columns, np.asarray(weights, dtype=float)
    keys = list(range(len(columns)))
    frame = pd.DataFrame(dict(zip(keys, columns, strict=True)))
    frame["_w"] = 1.0 if weights is None else weights
    sums = frame.groupby(keys, sort=True)["_w"].sum()
    index = sums.index
    if len(keys) == 1:
        distinct = (index.to_numpy(dtype=float),)
    else:
        distinct = tuple(index.get_level_values(k).to_numpy(dtype=float) for k in keys)
    return distinct, sums.to_numpy(dtype=float)


def _distinct_and_sorted(columns: Sequence[np.ndarray]) -> bool:
    """Whether the rows are strictly increasing in lexicographic order (no NaN)."""
    if not columns or columns[0].size < 2:
        return True
    greater = np.zeros(columns[0].size - 1, dtype=bool)
    tied = np.ones_like(greater)
    for c in columns:
        greater |= tied & (c[1:] > c[:-1])
        tied &= c[1:] == c[:-1]
    return bool(greater.all())


def value_weights(x: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of ``x`` and the total weight of each.

    The terms of a likelihood that depend on the frequency alone (log-gamma, digamma) are
    then evaluated once per distinct frequency (a few hundred) instead of once per row.
    Rows from :func:`group_rows` are sorted, so the runs are found without sorting again.
    """
    if x.size and np.all(x[1:] >= x[:-1]):
        starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
        return x[starts], np.add.reduceat(weights, starts)
    distinct, index = np.unique(x, return_inverse=True)
    return distinct, np.bincount(index, weights=weights, minlength=distinct.size)


class CLVModel(SavedEstimator):
    """Base class; subclasses set :attr:`param_names` and implement the hooks.

    :meth:`save` and :meth:`load` (from :class:`~kehu.analytics.estimator.SavedEstimator`)
    keep the parameters, their standard errors and the fit statistics.
    """

    fitted_attribute = "params_"
    fit_call = "fit(summary)"
    noun = "CLV model"

    #: names of the parameters, in the order of the optimisation vector
    param_names: ClassVar[tuple[str, ...]]
    #: columns of the summary the model needs
    requires: ClassVar[tuple[str, ...]]
    #: start of the optimisation (natural scale)
    start: ClassVar[tuple[float, ...]]

    def __init__(self, *, tol: float = 1e-10, max_iter: int = 2000):
        self.tol = tol
        self.max_iter = max_iter

    # --- the estimator protocol -------------------------------------------------------------
    def fit(self, data: Any) -> Self:
        """Fit the parameters by maximum likelihood on a per-customer summary.

        ``data`` is a pandas (polars, Arrow) frame or an Ibis table, such as the
        one :func:`~kehu.analytics.clv.summary.clv_summary` returns; a table is
        grouped into its distinct rows in the engine.
        """
        what = f"{type(self).__name__} input"
        weights = None
        if isinstance(data, ir.Table):
            data = distinct_rows(data, self.requires, what)
            weights = data["_n"].to_numpy(dtype=float)
        frame = as_frame(data, self.requires, what, weights)
        stats = self._statistics(frame, weights)
        if stats is None or stats[-1].sum() == 0:
            raise SchemaError(f"{type(self).__name__}: no customers to fit the model on")
        *arrays, weights = stats
        total = weights.sum()

        def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
            theta = np.exp(z)
            ll, grad = self._loglik_grad(theta, *arrays, weights=weights)
            # chain rule to log space; the mean keeps the scale independent of n
            return -ll / total, -grad * theta / total

        z0 = np.log(np.asarray(self.start, dtype=float))
        # One BLAS thread: the work is dot products of a few hundred thousand numbers, where
        # BLAS threads only fight the engine's threads for the cores (3-5x slower on two cores).
        with threadpool_limits(1, user_api="blas"):
            res = optimize.minimize(
                objective,
                z0,
                jac=True,
                method="L-BFGS-B",
                bounds=[(-20.0, 20.0)] * len(z0),
                options={"maxiter": self.max_iter, "ftol": self.tol * 1e-3, "gtol": self.tol},
            )
            z = res.x
            self._finish(z, res, objective, arrays, weights, total)
        return self

    def _finish(self, z, res, objective, arrays, weights, total) -> None:
        """Convergence check, parameters, log-likelihood and standard errors at the optimum."""
        gnorm = float(np.max(np.abs(objective(z)[1])))
        self.converged_ = bool(gnorm < 1e-4)
        if not self.converged_:
            warnings.warn(
                f"{type(self).__name__}: the optimiser stopped with gradient {gnorm:.2g} "
                f"({res.message}); the estimates may be unreliable",
                ConvergenceWarning,
                stacklevel=3,  # the caller of fit
            )
        theta = np.exp(z)
        self.params_ = dict(zip(self.param_names, map(float, theta), strict=True))
        self.log_likelihood_ = float(self._loglik_grad(theta, *arrays, weights=weights)[0])
        self.se_ = self._standard_errors(z, objective, total)
        self.n_customers_ = int(total)

    def _standard_errors(self, z: np.ndarray, objective, total: float) -> dict[str, float]:
        k = len(z)
        h = 1e-4
        hess = np.empty((k, k))
        for i in range(k):
            step = np.zeros(k)
            step[i] = h
            hess[i] = (objective(z + step)[1] - objective(z - step)[1]) / (2 * h)
        hess = (hess + hess.T) / 2 * total  # of the total negative log-likelihood
        try:
            cov = np.linalg.inv(hess)
            var = np.diag(cov)
        except np.linalg.LinAlgError:
            var = np.full(k, np.nan)
        se = np.exp(z) * np.sqrt(np.where(var > 0, var, np.nan))
        return dict(zip(self.param_names, map(float, se), strict=True))

    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and 95% intervals, one row per parameter."""
        self._check_fitted()
        coef = pd.Series(self.params_)
        se = pd.Series(self.se_)
        return pd.DataFrame(
            {"coef": coef, "se": se, "lower_95": coef - 1.96 * se, "upper_95": coef + 1.96 * se}
        )

    # --- persistence (kehu.analytics.estimator) -----------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {
            "params": self.params_,
            "se": self.se_,
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "converged": self.converged_,
        }
        return state, {}

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.params_ = {p: float(state["params"][p]) for p in self.param_names}
        self.se_ = {p: float(state["se"].get(p, np.nan)) for p in self.param_names}
        self.log_likelihood_ = float(state["log_likelihood"])
        self.n_customers_ = int(state["n_customers"])
        self.converged_ = bool(state.get("converged", True))

    # --- helpers for subclasses ----------------------------------------------------------------
    def _theta(self) -> tuple[float, ...]:
        self._check_fitted()
        return tuple(self.params_[p] for p in self.param_names)

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}(fitted: {inner})"
        return f"{type(self).__name__}()"

    # --- hooks ---------------------------------------------------------------------------------
    def _statistics(
        self, data: pd.DataFrame, weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, ...] | None:
        """Grouped sufficient statistics, the weights last (``weights``: customers per row)."""
        raise NotImplementedError

    def _loglik_grad(self, theta: np.ndarray, *arrays: np.ndarray, weights: np.ndarray):
        """Total log-likelihood and its gradient in the natural parameters."""
        raise NotImplementedError


class PurchaseModel(CLVModel):
    """A model of repeat purchases over the ``frequency, recency, T`` summary."""

    requires = ("frequency", "recency", "T")

    def _statistics(self, data: pd.DataFrame, weights: np.ndarray | None = None):
        x, tx, T = (column(data, c) for c in self.requires)
        count = _counter(weights)
        if np.any(tx > T + 1e-9):
            n = count(tx > T + 1e-9)
            raise SchemaError(f"{type(self).__name__} input: recency exceeds T for {n} customer(s)")
        if np.any((x > 0) & (tx <= 0)):
            n = count((x > 0) & (tx <= 0))
            raise SchemaError(
                f"{type(self).__name__} input: {n} customer(s) with repeat purchases have recency 0"
            )
        if np.any(x != np.round(x)):
            raise SchemaError(f"{type(self).__name__} input: frequency must be whole numbers")
        (x, tx, T), w = group_rows(x, tx, T, weights=weights)
        return x, tx, T, w

    def _arrays(self, data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        frame = as_frame(data, self.requires, f"{type(self).__name__} input")
        return tuple(column(frame, c) for c in self.requires)

    def predict_purchases(self, t: Any, data: Any) -> np.ndarray:
        """Expected purchases in the next ``t`` time units, per customer of ``data``."""
        self._check_fitted()
        horizon = check_horizon(t)
        return self._conditional_purchases(horizon, *self._arrays(data))

    def probability_alive(self, data: Any) -> np.ndarray:
        """Probability that each customer of ``data`` is still active at ``T``."""
        self._check_fitted()
        return self._probability_alive(*self._arrays(data))

    def expected_purchases(self, t: Any) -> np.ndarray:
        """Expected repeat purchases in ``(0, t]`` of a new customer (the population curve)."""
        self._check_fitted()
        return self._unconditional_purchases(check_horizon(t))

    def _conditional_purchases(self, t, x, tx, T) -> np.ndarray:
        raise NotImplementedError

    def _probability_alive(self, x, tx, T) -> np.ndarray:
        raise NotImplementedError

    def _unconditional_purchases(self, t) -> np.ndarray:
        raise NotImplementedError
