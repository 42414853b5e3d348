"""The per-customer summary every purchase model takes, computed in the engine.

The contract (as in lifetimes and PyMC-Marketing), one row per customer whose
first purchase falls on or before the end of the calibration period:

=================  =========================================================
column             meaning
=================  =========================================================
customer_id        string
frequency          repeat purchase days: distinct purchase days - 1
recency            age at the last purchase: last - first purchase day
T                  age at the end of calibration: calibration_end - first
monetary_value     mean value of the repeat purchase days (0 when none)
=================  =========================================================

Times are in ``unit`` (days / 7 for weeks), counted in whole days.  Several
purchases on one day count once and their amounts add up.  Returns are netted
as in :mod:`kehu.analytics.rfm`: a return line is never a purchase, but its
(negative) amount counts in the value of the day it happened, so returns made
after the first purchase day reduce the repeat spend; a customer whose returns
exceed their repeat purchases gets a ``monetary_value`` of 0.

With ``observation_end`` the holdout columns are added: ``frequency_holdout``
(purchase days in ``(calibration_end, observation_end]``),
``monetary_value_holdout`` (their mean net value, 0 when none) and
``duration_holdout`` (the holdout length in ``unit``).  Both end dates are
inclusive, as in lifetimes' ``calibration_and_holdout_data``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.datatypes as idt
import ibis.expr.types as ir

from kehu.analytics.rfm import DateLike, as_date
from kehu.analytics.schema import ORDER_REQUIRED, require_columns, to_table
from kehu.exceptions import SchemaError

#: the per-customer contract of the purchase models, in order
SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")
#: added by :func:`clv_summary` when ``observation_end`` is given
HOLDOUT_COLUMNS = ("frequency_holdout", "monetary_value_holdout", "duration_holdout")

#: days per named time unit
UNITS = {"day": 1.0, "week": 7.0}


def unit_days(unit: str | float) -> float:
    """Length in days of ``unit`` ("day", "week" or a positive number of days)."""
    if isinstance(unit, str):
        if unit not in UNITS:
            raise SchemaError(
                f"unit must be one of {', '.join(UNITS)} or a number of days, got {unit!r}"
            )
        return UNITS[unit]
    days = float(unit)
    if not days > 0:
        raise SchemaError(f"unit must be a positive number of days, got {unit!r}")
    return days


def clv_summary(
    orders: Any,
    *,
    calibration_end: DateLike | None = None,
    observation_end: DateLike | None = None,
    unit: str | float = "week",
) -> ir.Table:
    """Per-customer ``frequency, recency, T, monetary_value`` (and holdout columns).

    Parameters
    ----------
    orders
        Order lines in the canonical schema (an Ibis table or a pandas/polars/
        Arrow frame); needs ``customer_id``, ``order_time`` and ``amount``;
        ``is_return`` is used when present (else a negative amount is a return).
    calibration_end
        Last day of the calibration period (inclusive); default the day of the
        last order.
    observation_end
        Last day of the holdout period (inclusive); when given, the holdout
        columns are added.
    unit
        Time unit of ``recency``, ``T`` and ``duration_holdout``: "week"
        (days / 7, the default), "day" or a number of days.

    Returns
    -------
    An Ibis table with :data:`SUMMARY_COLUMNS` (plus :data:`HOLDOUT_COLUMNS`).

    Raises
    ------
    SchemaError
        A required column is missing, the dates are out of order, or nobody
        bought anything on or before ``calibration_end``.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-02"]),
    ...     "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> clv_summary(orders, calibration_end="2024-01-15").to_pandas()
      customer_id  frequency  recency         T  monetary_value
    0           a          1      1.0  2.000000            20.0
    1           b          0      0.0  1.857143             0.0
    """
    t = to_table(orders, "orders")
    require_columns(t, ORDER_REQUIRED, "orders")
    days = unit_days(unit)
    ret = t.is_return.fill_null(False) if "is_return" in t.columns else t.amount < 0
    cal, obs = _period_ends(t, calibration_end, observation_end)
    _check_calibration_purchase(t, ret, cal)
    end = obs or cal
    lines = t.mutate(_ret=ret).filter(
        t.customer_id.notnull(),
        t.order_time < ibis.timestamp(dt.datetime.combine(end + dt.timedelta(days=1), dt.time())),
    )
    cal_day = ibis.date(cal)
    # one row per customer and day: several purchases on a day count once
    daily = lines.group_by(
        customer_id=lines.customer_id.cast(idt.string), day=lines.order_time.date()
    ).agg(value=lines.amount.cast(idt.float64).sum(), bought=(~lines._ret).any())
    g = _customer_days(daily, cal_day, holdout=obs is not None)
    g = g.filter(g.first <= cal_day)
    frequency = (g.purchases - 1).cast(idt.int64)
    g = g.mutate(
        frequency=frequency,
        recency=g.last.delta(g.first, unit="day").cast(idt.float64) / days,
        T=cal_day.delta(g.first, unit="day").cast(idt.float64) / days,
        monetary_value=_mean_value(_repeat_value(g), frequency),
    )
    if obs is None:
        return g.select(*SUMMARY_COLUMNS).order_by("customer_id")
    g = g.mutate(
        frequency_holdout=g.holdout_purchases.cast(idt.int64),
        monetary_value_holdout=_mean_value(g.holdout_value, g.holdout_purchases),
        duration_holdout=ibis.literal((obs - cal).days / days, idt.float64),
    )
    return g.select(*SUMMARY_COLUMNS, *HOLDOUT_COLUMNS).order_by("customer_id")


def _period_ends(
    t: ir.Table, calibration_end: DateLike | None, observation_end: DateLike | None
) -> tuple[dt.date, dt.date | None]:
    """The calibration and holdout end days; the calibration defaults to the last order's."""
    kept = t.filter(t.customer_id.notnull())
    if calibration_end is None:
        last = kept.order_time.max().execute()
        if last is None or last != last:
            raise SchemaError("orders: there are no orders of identified customers to summarise")
        cal = as_date(last)
    else:
        cal = as_date(calibration_end, "calibration_end")
    obs = as_date(observation_end, "observation_end") if observation_end is not None else None
    if obs is not None and obs <= cal:
        raise SchemaError(
            f"observation_end ({obs}) must be after calibration_end ({cal}): "
            "the holdout period would be empty"
        )
    return cal, obs


def _check_calibration_purchase(t: ir.Table, ret: ir.BooleanValue, cal: dt.date) -> None:
    """Refuse an empty calibration period early, so the summary never runs twice."""
    next_day = ibis.timestamp(dt.datetime.combine(cal + dt.timedelta(days=1), dt.time()))
    # a cheap probe (the engine stops at the first match) instead of running the summary twice
    probe = t.filter(t.customer_id.notnull(), ~ret, t.order_time < next_day).limit(1)
    if probe.count().execute() == 0:
        raise SchemaError(
            f"orders: no customer bought anything on or before calibration_end {cal}: "
            "the calibration period is empty"
        )


def _customer_days(daily: ir.Table, cal_day: ir.DateValue, *, holdout: bool) -> ir.Table:
    """One window-free pass per customer over their days: what the summary columns need.

    The repeat value is the value of the calibration days after the first purchase day:
    purchase days contribute their sum minus the first day's value (arg_min); the rare
    return-only days are collected as (day, value) pairs and those after the first purchase
    day are added afterwards (:func:`_repeat_value`), so nothing is joined.
    """
    in_cal = daily.day <= cal_day
    buy_cal = daily.bought & in_cal
    aggregates = {
        "first": daily.day.min(where=daily.bought),
        "purchases": daily.day.count(where=buy_cal),
        "last": daily.day.max(where=buy_cal),
        "bought_value": daily.value.sum(where=buy_cal),
        "first_value": daily.value.argmin(daily.day, where=daily.bought),
        "returns_only": ibis.struct({"day": daily.day, "value": daily.value}).collect(
            where=~daily.bought & in_cal
        ),
    }
    if holdout:  # without a holdout there are no later days to count
        aggregates["holdout_purchases"] = daily.day.count(where=~in_cal & daily.bought)
        aggregates["holdout_value"] = daily.value.sum(where=~in_cal)
    return daily.group_by("customer_id").agg(**aggregates)


def _repeat_value(g: ir.Table) -> ir.FloatingValue:
    """Net value of the calibration days after the first purchase day, rounding residue zeroed."""
    late = g.returns_only.filter(lambda d: d.day > g.first).map(lambda d: d.value).sums()
    # most customers have no return-only day: skip the list functions for them
    late_returns = ibis.ifelse(g.returns_only.isnull(), 0.0, late.fill_null(0.0))
    repeat_value = g.bought_value - g.first_value + late_returns
    # the subtraction leaves a rounding residue where repeat purchases are exactly returned
    # (0.1 + 0.2 - 0.1 - 0.2); residues that small are zero, as summing the days gives
    scale = g.bought_value.abs() + g.first_value.abs() + late_returns.abs()
    return ibis.ifelse(repeat_value.abs() <= 1e-12 * scale, 0.0, repeat_value)


def _mean_value(total: ir.NumericValue, count: ir.IntegerValue) -> ir.FloatingValue:
    """``total / count``, 0 where there is no purchase or the net value is negative."""
    mean = total.fill_null(0.0) / count.cast(idt.float64).nullif(0.0)
    return ibis.greatest(mean.fill_null(0.0), 0.0).cast(idt.float64)
