"""Loyalty: earning rules, redemption, FIFO expiry, reversals with debt, tiers, rewards,
the append-only ledger and concurrent postings (SQLite and PostgreSQL).

The sample's orders: C1 O101..O104 each 1,000 yuan (O101 = 10 x P1 at 60 + 4 x P2
at 100, P1 is 饮料 and P2 食品), C2 O201 50, C3 O301 100, C4 O401..O405 800 each.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from kehu.exceptions import ConflictError, ForbiddenError, NotFoundError, SchemaError
from kehu.services import loyalty as svc
from kehu.services.access import SYSTEM, Actor
from kehu.store.models import Customer, LedgerEntry, LoyaltyAccount, Order, OrderLine, Product

#: the sample of kehu.testing, written directly (no file import: fast)
ORDERS = [
    ("O101", "C1", "2024-06-01 10:00:00", [("P1", 10, 60.0), ("P2", 4, 100.0)]),
    ("O102", "C1", "2024-06-10 10:00:00", [("P1", 10, 100.0)]),
    ("O103", "C1", "2024-06-20 10:00:00", [("P2", 10, 100.0)]),
    ("O104", "C1", "2024-06-25 10:00:00", [("P1", 20, 50.0)]),
    ("O201", "C2", "2024-01-05 09:00:00", [("P1", 1, 50.0)]),
    ("O301", "C3", "2024-06-28 12:00:00", [("P2", 1, 100.0)]),
    *[(f"O40{i}", "C4", f"2024-0{1 + i // 4}-0{i}", [("P1", 8, 100.0)]) for i in range(1, 6)],
]
REPS = {"C1": "王伟", "C2": "王伟", "C3": "李娜", "C4": "李娜"}


def write_orders(session, orders=ORDERS) -> None:
    ids = dict(session.execute(select(Customer.code, Customer.id)).all())
    for no, code, when, lines in orders:
        session.add(
            Order(
                order_no=no,
                customer_id=ids[code],
                order_time=dt.datetime.fromisoformat(when),
                amount=sum(q * p for _c, q, p in lines),
                content_hash=no,
                lines=[
                    OrderLine(line_no=i, product_code=c, quantity=q, price=p, amount=q * p)
                    for i, (c, q, p) in enumerate(lines, start=1)
                ],
            )
        )


@pytest.fixture
def store(store_factory):
    """Customers C1..C4 of two reps, products P1 (饮料) and P2 (食品), and the orders."""
    with store_factory() as s, s.begin():
        s.add_all(Customer(code=c, sales_rep=r) for c, r in REPS.items())
        s.add_all([Product(code="P1", category="饮料"), Product(code="P2", category="食品")])
        s.flush()
        write_orders(s)
    return store_factory


WANG = Actor(user_id=None, username="wang", role="rep", rep_name="王伟")  # C1, C2
ANALYST = Actor(user_id=None, username="ana", role="analyst")


def _account(s, code) -> LoyaltyAccount:
    cid = s.scalar(select(Customer.id).where(Customer.code == code))
    return s.scalar(
        select(LoyaltyAccount)
        .where(LoyaltyAccount.customer_id == cid)
        .execution_options(populate_existing=True)
    )


def _consistent(s, code):
    acc = _account(s, code)
    assert svc.check_account(s, acc) == []
    return acc


def test_earn_once_per_order(store):
    with store() as s:
        p = svc.earn_for_order(s, actor=SYSTEM, order_no="O101")
        assert (p.created, p.entry.points, p.entry.kind) == (True, 1000, "earn")
        assert p.entry.expires_on == dt.date(2024, 6, 1) + dt.timedelta(days=730)
        s.commit()
        again = svc.earn_for_order(s, actor=SYSTEM, order_no="O101")
        assert (again.created, again.entry.id) == (False, p.entry.id)
        s.commit()
        acc = _consistent(s, "C1")
        assert (acc.balance, acc.lifetime_points) == (1000, 1000)
        with pytest.raises(NotFoundError):
            svc.earn_for_order(s, actor=SYSTEM, order_no="nope")


def test_category_multiplier_exclusion_rate_and_tier_factor(store):
    rules = svc.ProgramRules(
        points_per_yuan=0.5, category_multipliers={"食品": 2.0}, excluded_products=["P1"]
    )
    with store() as s:
        # O101: P1 (600 yuan) excluded, P2 400 yuan x 2 -> 800 x 0.5 = 400
        assert svc.earn_for_order(s, actor=SYSTEM, order_no="O101", rules=rules).entry.points == 400
        svc.recompute_tiers(s, actor=SYSTEM, as_of=dt.date(2024, 7, 1))  # C4: 4,000 -> 银卡
        # O401: 8 x P1 excluded entirely -> 0 points, still recorded once
        assert svc.earn_for_order(s, actor=SYSTEM, order_no="O401", rules=rules).entry.points == 0
        # 银卡 factor 1.2: O402 800 yuan x 1 x 1.2 = 960
        assert svc.earn_for_order(s, actor=SYSTEM, order_no="O402").entry.points == 960
        s.commit()
        _consistent(s, "C4")


def test_rules_are_validated_and_versioned(store):
    with store() as s:
        assert svc.current_rules(s).tiers[0].name == "普通"
        with pytest.raises(SchemaError, match="strictly increase"):
            svc.set_rules(s, actor=SYSTEM, rules={"tiers": [{"name": "a", "threshold": 5}]})
        with pytest.raises(SchemaError, match="points_per_yuan"):
            svc.set_rules(s, actor=SYSTEM, rules={"points_per_yuan": -1})
        with pytest.raises(ForbiddenError):
            svc.set_rules(s, actor=WANG, rules={})
        svc.set_rules(s, actor=SYSTEM, rules={"points_per_yuan": 2})
        s.commit()
        assert svc.current_rules(s).points_per_yuan == 2
        assert svc.earn_for_order(s, actor=SYSTEM, order_no="O301").entry.points == 200


def test_redeem_never_below_zero_and_idempotent(store):
    with store() as s:
        svc.earn_for_order(s, actor=SYSTEM, order_no="O301")  # C3: 100
        with pytest.raises(ConflictError, match="has 100 points"):
            svc.redeem(s, actor=SYSTEM, code="C3", points=101)
        r = svc.redeem(s, actor=SYSTEM, code="C3", points=60, request_id="r1")
        assert (r.entry.points, r.entry.balance_after) == (-60, 40)
        assert not svc.redeem(s, actor=SYSTEM, code="C3", points=60, request_id="r1").created
        with pytest.raises(ConflictError, match="posted with 60"):
            svc.redeem(s, actor=SYSTEM, code="C3", points=10, request_id="r1")
        for bad in (0, -5, 1.5):
            with pytest.raises(SchemaError):
                svc.redeem(s, actor=SYSTEM, code="C3", points=bad)
        s.commit()
        assert _consistent(s, "C3").balance == 40


def test_refund_reverses_proportionally_then_cancel_the_rest(store):
    with store() as s:
        svc.earn_for_order(s, actor=SYSTEM, order_no="O101")
        svc.earn_for_order(s, actor=SYSTEM, order_no="O102")
        r = svc.reverse_order(s, actor=SYSTEM, order_no="O101", refund_amount=250, refund_id="R1")
        assert (r.entry.points, r.entry.debt) == (-250, 0)
        assert not svc.reverse_order(
            s, actor=SYSTEM, order_no="O101", refund_amount=250, refund_id="R1"
        ).created
        c = svc.reverse_order(s, actor=SYSTEM, order_no="O101")
        assert c.entry.points == -750  # what is left of the 1,000 earned
        # nothing more to reverse: a later refund reverses zero
        late = svc.reverse_order(s, actor=SYSTEM, order_no="O101", refund_amount=10, refund_id="R2")
        assert late.entry.points == 0
        with pytest.raises(SchemaError, match="refund_id"):
            svc.reverse_order(s, actor=SYSTEM, order_no="O102", refund_amount=10)
        with pytest.raises(SchemaError, match="exceeds"):
            svc.reverse_order(s, actor=SYSTEM, order_no="O102", refund_amount=5000, refund_id="x")
        with pytest.raises(ConflictError, match="earned no points"):
            svc.reverse_order(s, actor=SYSTEM, order_no="O103")
        s.commit()
        assert _consistent(s, "C1").balance == 1000


def test_reversal_of_spent_points_becomes_debt_settled_by_next_earning(store):
    with store() as s:
        svc.earn_for_order(s, actor=SYSTEM, order_no="O101")  # +1000
        svc.redeem(s, actor=SYSTEM, code="C1", points=900)  # 100 left
        r = svc.reverse_order(s, actor=SYSTEM, order_no="O101")  # wants 1000
        assert (r.entry.points, r.entry.debt, r.extra) == (
            -100,
            900,
            {"reversed": 1000, "debt": 900},
        )
        acc = _consistent(s, "C1")
        assert (acc.balance, acc.debt) == (0, 900)
        e = svc.earn_for_order(s, actor=SYSTEM, order_no="O102")  # +1000, settles 900
        assert e.entry.points == 1000
        assert (e.settlement.points, e.settlement.debt, e.settlement.kind) == (
            -900,
            -900,
            "reverse",
        )
        s.commit()
        acc = _consistent(s, "C1")
        assert (acc.balance, acc.debt) == (100, 0)


def test_expiry_takes_oldest_points_first(store):
    rules = svc.ProgramRules(expiry_days=30)
    with store() as s:
        for no in ("O101", "O102", "O103"):  # expire 07-01, 07-10, 07-20
            svc.earn_for_order(s, actor=SYSTEM, order_no=no, rules=rules)
        svc.redeem(s, actor=SYSTEM, code="C1", points=1500)  # lot 1 gone, lot 2 half
        acc = _account(s, "C1")
        assert [lot.remaining for lot in svc.lots(s, acc.id)] == [0, 500, 1000]
        got = svc.expire_points(s, actor=SYSTEM, as_of=dt.date(2024, 7, 10))
        assert got == {"accounts": 1, "points": 500}
        assert svc.expire_points(s, actor=SYSTEM, as_of=dt.date(2024, 7, 10))["points"] == 0
        assert svc.expire_points(s, actor=SYSTEM, as_of=dt.date(2024, 7, 15))["points"] == 0
        assert svc.expire_points(s, actor=SYSTEM, as_of=dt.date(2024, 7, 20))["points"] == 1000
        s.commit()
        acc = _consistent(s, "C1")
        assert acc.balance == 0
        kinds = s.scalars(
            select(LedgerEntry.kind)
            .where(LedgerEntry.account_id == acc.id)
            .order_by(LedgerEntry.id)
        ).all()
        assert kinds == ["earn", "earn", "earn", "redeem", "expire", "expire"]
        with pytest.raises(ForbiddenError):
            svc.expire_points(s, actor=WANG, as_of=dt.date(2024, 7, 20))


def test_summary_shows_lots_and_next_expiry(store):
    rules = svc.ProgramRules(expiry_days=30)
    with store() as s:
        svc.earn_for_order(s, actor=SYSTEM, order_no="O101", rules=rules)
        svc.earn_for_order(s, actor=SYSTEM, order_no="O102", rules=rules)
        svc.redeem(s, actor=SYSTEM, code="C1", points=300)
        got = svc.account_summary(s, actor=ANALYST, code="C1", as_of=dt.date(2024, 6, 15))
        assert got["balance"] == 1700 and got["consistent"]
        assert got["next_expiry"] == {"date": dt.date(2024, 7, 1), "points": 700}
        assert svc.account_summary(s, actor=SYSTEM, code="C2")["enrolled"] is False


def test_tiers_by_spend_and_by_growth(store):
    with store() as s:
        got = svc.recompute_tiers(s, actor=SYSTEM, as_of=dt.date(2024, 7, 1))
        # C1 4,000 and C4 4,000 -> 银卡; C2 50 and C3 100 -> 普通
        assert got["counts"] == {"普通": 2, "银卡": 2, "金卡": 0, "白金": 0, "钻石": 0}
        assert (_account(s, "C1").tier, _account(s, "C2").tier) == ("银卡", "普通")
        # a window of 30 days leaves C4 (last order 2024-02-10) at 普通
        svc.recompute_tiers(
            s, actor=SYSTEM, as_of=dt.date(2024, 7, 1), rules=svc.ProgramRules(tier_window_days=30)
        )
        assert (_account(s, "C1").tier, _account(s, "C4").tier) == ("银卡", "普通")
        growth = svc.ProgramRules(
            tier_basis="growth",
            tiers=[{"name": "普通", "threshold": 0}, {"name": "VIP", "threshold": 150}],
        )
        svc.earn_for_order(s, actor=SYSTEM, order_no="O301")  # C3: 100 points, no tier
        svc.reward_referral(s, actor=SYSTEM, referrer_code="C3", referred_code="C2")  # +500
        got = svc.recompute_tiers(s, actor=SYSTEM, as_of=dt.date.today(), rules=growth)
        assert _account(s, "C3").tier == "VIP" and got["counts"]["VIP"] == 1


def test_referral_and_birthday_rewards_once(store):
    with store() as s:
        p = svc.reward_referral(s, actor=SYSTEM, referrer_code="C1", referred_code="C2")
        assert (p.entry.kind, p.entry.points) == ("referral", 500)
        assert not svc.reward_referral(
            s, actor=SYSTEM, referrer_code="C1", referred_code="C2"
        ).created
        with pytest.raises(ConflictError, match="someone else"):
            svc.reward_referral(s, actor=SYSTEM, referrer_code="C3", referred_code="C2")
        with pytest.raises(SchemaError):
            svc.reward_referral(s, actor=SYSTEM, referrer_code="C1", referred_code="C1")
        svc.enroll(s, actor=SYSTEM, code="C3", birthday=dt.date(1990, 7, 15))
        svc.enroll(s, actor=SYSTEM, code="C4", birthday=dt.date(1985, 3, 2))
        assert svc.birthday_rewards(s, actor=SYSTEM, as_of=dt.date(2024, 7, 1)) == 1
        assert svc.birthday_rewards(s, actor=SYSTEM, as_of=dt.date(2024, 7, 20)) == 0
        assert svc.birthday_rewards(s, actor=SYSTEM, as_of=dt.date(2025, 7, 1)) == 1
        s.commit()
        assert _consistent(s, "C3").balance == 400


def test_rep_scope_and_roles(store):
    with store() as s:
        assert svc.earn_for_order(s, actor=WANG, order_no="O101").created
        with pytest.raises(NotFoundError):
            svc.earn_for_order(s, actor=WANG, order_no="O301")  # 李娜's customer
        with pytest.raises(NotFoundError):
            svc.redeem(s, actor=WANG, code="C3", points=1)
        with pytest.raises(NotFoundError):
            svc.account_summary(s, actor=WANG, code="C4")
        with pytest.raises(NotFoundError):
            svc.reward_referral(s, actor=WANG, referrer_code="C1", referred_code="C3")
        with pytest.raises(ForbiddenError):
            svc.redeem(s, actor=ANALYST, code="C1", points=1)
        assert svc.account_summary(s, actor=ANALYST, code="C1")["balance"] == 1000
        entries, total = svc.ledger(s, actor=WANG, code="C1")
        assert total == 1 and entries[0].posted_by is None


def test_cancelled_order_earns_nothing(store):
    from kehu.store.models import Order

    with store() as s:
        s.scalar(select(Order).where(Order.order_no == "O301")).status = "cancelled"
        with pytest.raises(ConflictError, match="cancelled"):
            svc.earn_for_order(s, actor=SYSTEM, order_no="O301")


def test_ledger_rows_cannot_be_changed(store):
    with store() as s:
        svc.earn_for_order(s, actor=SYSTEM, order_no="O101")
        s.commit()
    with store() as s, pytest.raises(DBAPIError, match="append-only"):
        s.execute(text("UPDATE loyalty_ledger SET points = 5"))
    with store() as s:
        assert s.scalar(select(LedgerEntry.points)) == 1000


# --- concurrency: threads, each with its own session -------------------------------------------


def _in_threads(n, work):
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # collected and asserted by the caller
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_redemptions_exactly_as_many_as_the_balance_allows(store):
    with store() as s:
        svc.earn_for_order(s, actor=SYSTEM, order_no="O101")  # 1,000
        s.commit()

    def redeem(i):
        with store() as s:
            try:
                svc.redeem(s, actor=SYSTEM, code="C1", points=100, request_id=f"t{i}")
                s.commit()
                return "ok"
            except ConflictError:
                s.rollback()
                return "short"

    results = _in_threads(20, redeem)
    assert results.count("ok") == 10 and results.count("short") == 10, results
    with store() as s:
        acc = _consistent(s, "C1")
        assert acc.balance == 0
        assert s.scalar(select(LedgerEntry.id).where(LedgerEntry.balance_after < 0)) is None


def test_concurrent_earn_of_one_order_posts_once(store):
    def earn(_i):
        with store() as s:
            p = svc.earn_for_order(s, actor=SYSTEM, order_no="O102")
            s.commit()
            return p.created

    results = _in_threads(8, earn)
    assert results.count(True) == 1 and results.count(False) == 7, results
    with store() as s:
        assert _consistent(s, "C1").balance == 1000


def test_concurrent_mixed_postings_lose_nothing(store):
    orders = ["O101", "O102", "O103", "O104"]

    def work(i):
        with store() as s:
            if i < 4:
                svc.earn_for_order(s, actor=SYSTEM, order_no=orders[i])
            elif i == 4:
                svc.reward_referral(s, actor=SYSTEM, referrer_code="C1", referred_code="C2")
            else:  # enrolment races with the postings on creating the account
                svc.enroll(s, actor=SYSTEM, code="C1")
            s.commit()
            return "ok"

    assert _in_threads(8, work) == ["ok"] * 8
    with store() as s:
        assert _consistent(s, "C1").balance == 4000 + 500


def test_manual_adjustment_needs_a_manager_and_a_reason_and_is_audited(store):
    from kehu.store.models import AuditLog

    manager = Actor(user_id=None, username="boss", role="manager")
    with store() as s:
        svc.earn_for_order(s, actor=SYSTEM, order_no="O301")  # C3: 100
        with pytest.raises(ForbiddenError):
            svc.adjust(s, actor=WANG, code="C1", points=50, reason="goodwill")
        with pytest.raises(SchemaError, match="reason"):
            svc.adjust(s, actor=manager, code="C3", points=50, reason="  ")
        for bad in (0, 1.5, True, 10**10):
            with pytest.raises(SchemaError):
                svc.adjust(s, actor=manager, code="C3", points=bad, reason="x")
        up = svc.adjust(
            s, actor=manager, code="C3", points=50, reason="late delivery", request_id="a1"
        )
        assert (up.entry.kind, up.entry.points, up.entry.balance_after) == ("adjust", 50, 150)
        assert up.entry.note == "late delivery" and up.entry.expires_on is not None
        assert not svc.adjust(
            s, actor=manager, code="C3", points=50, reason="x", request_id="a1"
        ).created
        with pytest.raises(ConflictError, match="posted with 50"):
            svc.adjust(s, actor=manager, code="C3", points=-50, reason="x", request_id="a1")
        with pytest.raises(ConflictError, match="cannot take away 151"):
            svc.adjust(s, actor=manager, code="C3", points=-151, reason="wrong order")
        down = svc.adjust(s, actor=manager, code="C3", points=-30, reason="double posting")
        assert (down.entry.points, down.entry.balance_after) == (-30, 120)
        with pytest.raises(NotFoundError):
            svc.adjust(s, actor=manager, code="NOPE", points=5, reason="x")
        s.commit()
        assert _consistent(s, "C3").balance == 120
        logged = s.scalars(select(AuditLog).where(AuditLog.action == "loyalty.adjust")).all()
        assert [r.changes["points"] for r in logged] == [50, -30]
