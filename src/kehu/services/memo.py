"""Figures kept until the store changes: aggregates over every order or every result.

A page of figures (the workbench's KPIs, the channel table, class sizes) aggregates
millions of rows that change only when orders are loaded or posted, a customer changes
(a rep's scope, a group's members) or a refresh finishes.  Each process keeps the last
:data:`KEPT` answers, per actor's scope; a cheap version of the store is read on every
call (index look-ups and one small scan), and a new version is a miss, so a figure is
never older than the store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.services.access import Actor
from kehu.store.models import ClassificationRun, Customer, LoadRun, Order

T = TypeVar("T")
#: answers kept per process (each a few hundred numbers)
KEPT = 256
_kept: OrderedDict[tuple, Any] = OrderedDict()
_lock = threading.Lock()


#: what aggregates may depend on: loads (which may rewrite orders), new orders (the API),
#: changes to customers (a rep's scope, a group's members), finished runs
PARTS = {
    "loads": lambda: select(func.max(LoadRun.id)).scalar_subquery(),
    "orders": lambda: select(func.max(Order.id)).scalar_subquery(),
    "customers": lambda: select(func.max(Customer.updated_at)).scalar_subquery(),
    "runs": lambda: select(func.max(ClassificationRun.finished_at)).scalar_subquery(),
}

#: a figure over one finished run's results (its id in the key) changes with the customers only
RESULTS_DEPEND_ON = ("customers",)


def store_version(session: Session, on: tuple[str, ...] = tuple(PARTS)) -> tuple:
    """The store's version as far as the parts ``on`` go (index look-ups)."""
    return tuple(session.execute(select(*(PARTS[p]() for p in on))).one())


def forget() -> None:
    """Drop every kept answer (tests that put an earlier store back: same version, other rows)."""
    with _lock:
        _kept.clear()


def remembered(
    session: Session,
    actor: Actor,
    key: tuple,
    compute: Callable[[], T],
    on: tuple[str, ...] = tuple(PARTS),
) -> T:
    """``compute()`` once per store, store version, actor's scope and ``key``.

    ``on``: the parts of the store's version the answer depends on (:data:`PARTS`); a
    figure over one run's results, whose id is in ``key``, changes only with the customers
    (the rep's scope), not with every order posted.  The answer is shared between callers:
    they must not change it.
    """
    scope = (actor.sees_all_customers, actor.rep_name)
    full = (str(session.get_bind().url), on, store_version(session, on), scope, key)
    with _lock:
        if full in _kept:
            _kept.move_to_end(full)
            return _kept[full]
    value = compute()
    with _lock:
        _kept[full] = value
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return value
