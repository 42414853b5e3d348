"""Follow-ups: interactions, tasks and their transitions, revisit rules, overdue lists."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from kehu.config import Settings
from kehu.exceptions import ConfigError, ConflictError, ForbiddenError, NotFoundError, SchemaError
from kehu.services import followups as fu
from kehu.services.access import SYSTEM, Actor
from kehu.services.refresh import refresh
from kehu.store.models import AuditLog, Customer, Task, User, utcnow

AS_OF = dt.date(2024, 7, 1)
ANALYST = Actor(user_id=None, username="ana", role="analyst")


@pytest.fixture
def store(loaded_store):
    """The sample with reps 王伟 (C1, C2) and 李娜 (C3, C4) as users 1 and 2."""
    with loaded_store() as s, s.begin():
        for name, rep in (("wang", "王伟"), ("li", "李娜"), ("boss", None)):
            role = "rep" if rep else "manager"
            s.add(User(username=name, role=role, rep_name=rep, password_hash="x"))
    return loaded_store


def _actor(factory, name):
    with factory() as s:
        u = s.scalar(select(User).where(User.username == name))
        return Actor(user_id=u.id, username=u.username, role=u.role, rep_name=u.rep_name)


def _tasks(factory):
    with factory() as s:
        rows = s.execute(
            select(Customer.code, Task.kind, Task.due_date, Task.owner_id, Task.status)
            .join(Customer, Customer.id == Task.customer_id)
            .order_by(Customer.code, Task.id)
        )
        return [tuple(r) for r in rows]


def test_refresh_creates_revisit_tasks_once(store):
    wang, li = _actor(store, "wang"), _actor(store, "li")
    first = refresh(store, as_of=AS_OF)
    today = utcnow().date()
    # sample classes: C1 重要价值 (visit, 30 days), C2 一般挽留 (no rule),
    # C3 一般发展 (wechat, 30 days), C4 重要保持 (call, 14 days); owners are the reps
    expected = [
        ("C1", "visit", today + dt.timedelta(days=30), wang.user_id, "open"),
        ("C3", "wechat", today + dt.timedelta(days=30), li.user_id, "open"),
        ("C4", "call", today + dt.timedelta(days=14), li.user_id, "open"),
    ]
    assert first.tasks == 3
    assert _tasks(store) == expected
    with store() as s:
        sources = set(s.scalars(select(Task.source)))
        assert f"revisit:rfm8:重要价值客户:visit:1:{first.run_id}" in sources
    # a second refresh of the same data creates no duplicate
    second = refresh(store, as_of=AS_OF)
    assert second.tasks == 0
    assert _tasks(store) == expected


def test_done_task_waits_its_window_cancelled_task_comes_back(store):
    refresh(store, as_of=AS_OF)
    with store() as s, s.begin():
        c1, c4 = (
            s.scalar(select(Task.id).join(Customer).where(Customer.code == code))
            for code in ("C1", "C4")
        )
        fu.update_task(s, actor=SYSTEM, task_id=c1, status="done")
        fu.update_task(s, actor=SYSTEM, task_id=c4, status="cancelled")
    got = refresh(store, as_of=AS_OF)
    # C1 was visited just now (within its 30 days): no new task; C4's was cancelled: a new one
    assert got.tasks == 1
    codes = [(code, status) for code, _k, _d, _o, status in _tasks(store)]
    assert codes == [
        ("C1", "done"),
        ("C3", "open"),
        ("C4", "cancelled"),
        ("C4", "open"),
    ]


def test_custom_rules_and_no_rules(store):
    rules = fu.revisit_rules_from_config(
        {"rfm8": {"一般挽留客户": {"kind": "call", "due_days": 3, "title": "挽回电话"}}}
    )
    assert rules == (fu.RevisitRule("rfm8", "一般挽留客户", "call", 3, "挽回电话"),)
    assert refresh(store, as_of=AS_OF, revisit_rules=()).tasks == 0
    got = refresh(store, as_of=AS_OF, revisit_rules=rules)
    assert got.tasks == 1
    [(code, kind, due, _owner, status)] = _tasks(store)
    assert (code, kind, due, status) == ("C2", "call", utcnow().date() + dt.timedelta(3), "open")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "expected a mapping"),
        ({"nope": {}}, "unknown classifier 'nope'"),
        ({"rfm8": {"x": {"kind": "fax", "due_days": 1}}}, "kind: 'fax'"),
        ({"rfm8": {"x": {"kind": "call", "due_days": -1}}}, "due_days"),
        ({"rfm8": {"x": {"kind": "call", "due_days": True}}}, "due_days"),
        ({"rfm8": {"x": {"due_days": 1, "when": 2}}}, "unknown key"),
    ],
)
def test_bad_rule_config(raw, message):
    with pytest.raises(ConfigError, match=message):
        fu.revisit_rules_from_config(raw)


def test_rules_from_yaml(tmp_path):
    path = tmp_path / "revisit.yaml"
    path.write_text("lifecycle:\n  at_risk: {kind: visit, due_days: 7}\n", encoding="utf-8")
    [rule] = fu.load_revisit_rules(path)
    assert (rule.classifier, rule.class_name, rule.kind, rule.due_days) == (
        "lifecycle",
        "at_risk",
        "visit",
        7,
    )
    with pytest.raises(ConfigError, match="not found"):
        fu.load_revisit_rules(tmp_path / "missing.yaml")


def test_task_transitions_and_audit(store):
    wang = _actor(store, "wang")
    with store() as s, s.begin():
        t = fu.create_task(s, actor=wang, code="C1", title=" 送样品 ", due_date=AS_OF)
        assert (t["title"], t["owner_id"], t["status"]) == ("送样品", wang.user_id, "open")
        done = fu.update_task(s, actor=wang, task_id=t["id"], status="done")
        assert done["status"] == "done" and done["done_at"] is not None
        with pytest.raises(ConflictError, match="done; it can become open, not cancelled"):
            fu.update_task(s, actor=wang, task_id=t["id"], status="cancelled")
        again = fu.update_task(s, actor=wang, task_id=t["id"], status="open")
        assert (again["status"], again["done_at"]) == ("open", None)
        with pytest.raises(SchemaError, match="status 'later'"):
            fu.update_task(s, actor=wang, task_id=t["id"], status="later")
        with pytest.raises(SchemaError, match="title"):
            fu.create_task(s, actor=wang, code="C1", title="  ")
        actions = s.scalars(select(AuditLog.action).where(AuditLog.entity == "task")).all()
        assert actions == ["task.create", "task.update", "task.update"]


def test_rep_scope_on_tasks_and_interactions(store):
    wang, li = _actor(store, "wang"), _actor(store, "li")
    with store() as s, s.begin():
        t = fu.create_task(s, actor=wang, code="C2", title="回访")
        i = fu.record_interaction(s, actor=wang, code="C2", kind="call", notes="没人接")
        # 李娜 cannot reach 王伟's customer C2 by any path
        with pytest.raises(NotFoundError):
            fu.create_task(s, actor=li, code="C2", title="x")
        with pytest.raises(NotFoundError):
            fu.get_task(s, actor=li, task_id=t["id"])
        with pytest.raises(NotFoundError):
            fu.update_task(s, actor=li, task_id=t["id"], status="done")
        with pytest.raises(NotFoundError):
            fu.get_interaction(s, actor=li, interaction_id=i["id"])
        with pytest.raises(NotFoundError):
            fu.record_interaction(s, actor=li, code="C2", kind="visit")
        assert fu.list_tasks(s, actor=li) == ([], 0)
        assert fu.list_interactions(s, actor=li) == ([], 0)
        # a rep assigns tasks only to themselves
        with pytest.raises(ForbiddenError):
            fu.create_task(s, actor=wang, code="C1", title="x", owner_id=li.user_id)
        # analysts read but do not write follow-ups
        with pytest.raises(ForbiddenError):
            fu.record_interaction(s, actor=ANALYST, code="C1", kind="call")
        assert fu.list_tasks(s, actor=ANALYST)[1] == 1


def test_interaction_closes_its_task(store):
    wang = _actor(store, "wang")
    with store() as s, s.begin():
        t = fu.create_task(s, actor=wang, code="C1", title="电话回访", kind="call")
        other = fu.create_task(s, actor=wang, code="C2", title="x")
        with pytest.raises(NotFoundError, match=f"no task {other['id']} for customer 'C1'"):
            fu.record_interaction(s, actor=wang, code="C1", kind="call", task_id=other["id"])
        with pytest.raises(SchemaError, match="kind 'fax'"):
            fu.record_interaction(s, actor=wang, code="C1", kind="fax")
        i = fu.record_interaction(
            s,
            actor=wang,
            code="C1",
            kind="call",
            outcome="下单 20 箱",
            task_id=t["id"],
            complete_task=True,
            occurred_at=dt.datetime(2024, 7, 2, 9, 30),
        )
        assert (i["customer_id"], i["user_id"], i["task_id"]) == ("C1", wang.user_id, t["id"])
        assert fu.get_task(s, actor=wang, task_id=t["id"])["status"] == "done"
        changed = fu.update_interaction(s, actor=wang, interaction_id=i["id"], notes="老板在")
        assert (changed["notes"], changed["outcome"]) == ("老板在", "下单 20 箱")
        items, total = fu.list_interactions(s, actor=wang, code="C1", kind="call")
        assert total == 1 and items[0]["occurred_at"] == dt.datetime(2024, 7, 2, 9, 30)


def test_overdue_lists_per_rep(store):
    wang, li = _actor(store, "wang"), _actor(store, "li")
    today = dt.date(2024, 7, 10)
    with store() as s, s.begin():
        for code, actor, due in (
            ("C1", wang, dt.date(2024, 7, 1)),
            ("C2", wang, dt.date(2024, 7, 5)),
            ("C1", wang, dt.date(2024, 7, 10)),  # due today: not overdue
            ("C3", li, dt.date(2024, 7, 9)),
            ("C4", li, None),  # no due date: never overdue
        ):
            fu.create_task(s, actor=actor, code=code, title=f"{code} {due}", due_date=due)
        closed = fu.create_task(s, actor=li, code="C4", title="x", due_date=dt.date(2024, 1, 1))
        fu.update_task(s, actor=li, task_id=closed["id"], status="done")
    with store() as s:
        groups = fu.overdue_by_owner(s, actor=SYSTEM, today=today)
        assert [(g["username"], g["overdue"], g["oldest_due"]) for g in groups] == [
            ("wang", 2, dt.date(2024, 7, 1)),
            ("li", 1, dt.date(2024, 7, 9)),
        ]
        assert [t["customer_id"] for t in groups[0]["tasks"]] == ["C1", "C2"]
        assert all(t["overdue"] for t in groups[0]["tasks"])
        mine = fu.overdue_by_owner(s, actor=li, today=today)
        assert [(g["username"], g["overdue"]) for g in mine] == [("li", 1)]
        items, total = fu.list_tasks(s, actor=wang, overdue=True, today=today)
        assert total == 2 and [t["due_date"].day for t in items] == [1, 5]
        assert fu.overdue_by_owner(s, actor=SYSTEM, today=dt.date(2024, 1, 1)) == []


def test_bad_paging(store):
    with store() as s:
        with pytest.raises(SchemaError, match="page starts at 1"):
            fu.list_tasks(s, actor=SYSTEM, page=0)
        with pytest.raises(SchemaError, match="page_size"):
            fu.list_interactions(s, actor=SYSTEM, page_size=10_000)


def test_revisit_rules_from_the_settings_file(store, tmp_path):
    from kehu.config import load_config
    from kehu.store.models import ClassificationRun

    path = tmp_path / "kehu.yaml"
    path.write_text(
        "revisit:\n  rfm8:\n    重要保持客户: {kind: wechat, due_days: 7, title: 一周内微信问候}\n",
        encoding="utf-8",
    )
    got = refresh(store, as_of=AS_OF, settings=load_config(path))
    assert got.tasks == 1
    [(code, kind, due, _owner, _status)] = _tasks(store)
    assert (code, kind, due) == ("C4", "wechat", utcnow().date() + dt.timedelta(7))
    # an empty section means no rules; a bad one stops before a run is recorded
    assert refresh(store, as_of=AS_OF, settings=Settings(revisit={})).tasks == 0
    with store() as s:
        runs = s.scalar(select(func.count(ClassificationRun.id)))
    with pytest.raises(ConfigError, match=r"revisit\.rfm8\.x\.kind"):
        refresh(store, as_of=AS_OF, settings=Settings(revisit={"rfm8": {"x": {"kind": "fax"}}}))
    with store() as s:
        assert s.scalar(select(func.count(ClassificationRun.id))) == runs


def test_example_config_is_valid(tmp_path, capsys):
    from kehu.cli.main import main
    from kehu.config import load_config

    assert main(["config-example"]) == 0
    path = tmp_path / "kehu.yaml"
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    settings = load_config(path)
    rules = fu.revisit_rules_from_config(settings.revisit)
    assert [r.classifier for r in rules] == ["rfm8", "lifecycle"]
