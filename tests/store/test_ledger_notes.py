"""Migration 0006: the English sentences earlier code wrote into ledger notes are cleared,
a reversal keeps its reason; what the system did is read from the entry (``loyalty.about``)."""

from __future__ import annotations

import importlib

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from kehu.services.loyalty import about
from kehu.store.models import Customer, LedgerEntry, LoyaltyAccount

#: (key, kind, points, debt, note as the earlier code wrote it, note after 0006)
OLD = [
    ("earn:order:SO:1", "earn", 960, 0, "order SO:1: 800.00 yuan x 1.0 x 1.2", None),
    ("settle:earn:order:SO:1", "reverse", -60, -60, "settles 60 points of debt from …", None),
    (
        "reverse:order:SO:1:cancel",
        "reverse",
        -900,
        60,
        "cancellation of order SO:1; 60 points already spent, recorded as debt: 客户退货",
        "客户退货",
    ),
    ("reverse:order:SO:1:R7", "reverse", -100, 0, "refund 80.0 of order SO:1", None),
    (
        "reverse:order:SO:1:R8",
        "reverse",
        -10,
        0,
        "refund 8.0 of order SO:1: damaged: box",
        "damaged: box",
    ),
    ("birthday:1:2024", "birthday", 100, 0, "birthday 2024", None),
    ("expire:1:2024-06-30", "expire", -5, 0, "points expired by 2024-06-30", None),
    ("referral:C9", "referral", 200, 0, "referred C9", None),
    ("adjust:1:abc", "adjust", 50, 0, "补录活动积分", "补录活动积分"),
    ("redeem:1:def", "redeem", -50, 0, None, None),
]


def _migrate(engine) -> None:
    migration = importlib.import_module("kehu.store.migrations.versions.0006_ledger_notes")
    with engine.begin() as con, Operations.context(MigrationContext.configure(con)):
        migration.upgrade()


def test_system_sentences_are_cleared_and_reasons_kept(store_factory, store_engine):
    with store_factory() as s, s.begin():
        customer = Customer(code="C1")
        s.add(customer)
        s.flush()
        account = LoyaltyAccount(customer_id=customer.id)
        s.add(account)
        s.flush()
        for key, kind, points, debt, note, _after in OLD:
            s.add(
                LedgerEntry(
                    account_id=account.id,
                    key=key,
                    kind=kind,
                    points=points,
                    balance_after=0,
                    debt=debt,
                    note=note,
                )
            )
    _migrate(store_engine)
    _migrate(store_engine)  # a second run changes nothing
    with store_factory() as s:
        got = dict(s.execute(select(LedgerEntry.key, LedgerEntry.note)).all())
    assert got == {key: after for key, *_, after in OLD}


def test_about_reads_what_the_system_did_from_the_entry():
    def entry(key, kind, points=1, debt=0):
        return LedgerEntry(key=key, kind=kind, points=points, debt=debt)

    assert about(entry("earn:order:SO:1", "earn")) == {"what": "earn", "order": "SO:1"}
    assert about(entry("reverse:order:SO:1:cancel", "reverse", -9, 3)) == {
        "what": "cancel",
        "order": "SO:1",
        "debt": 3,
    }
    assert about(entry("reverse:order:SO:1:R7", "reverse", -9)) == {
        "what": "refund",
        "order": "SO:1",
        "refund": "R7",
        "debt": 0,
    }
    assert about(entry("settle:earn:order:SO:1", "reverse", -60, -60)) == {
        "what": "settle",
        "points": 60,
    }
    assert about(entry("birthday:4:2024", "birthday")) == {"what": "birthday", "when": "2024"}
    assert about(entry("expire:4:2024-06-30", "expire")) == {"what": "expire", "when": "2024-06-30"}
    assert about(entry("referral:C9", "referral")) == {"what": "referral", "customer": "C9"}
    assert about(entry("adjust:4:abc", "adjust")) == {"what": "manual"}
    assert about(entry("redeem:4:abc", "redeem")) == {"what": "manual"}
