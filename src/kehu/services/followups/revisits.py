"""Revisit rules: a refresh's classes turned into tasks by one idempotent ``INSERT ... SELECT``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, insert, literal, select
from sqlalchemy.orm import Session, aliased

from kehu.exceptions import ConfigError
from kehu.names import LABELLED_CLASS_COLUMNS
from kehu.store.models import ClassificationResult, Customer, Task, User, utcnow
from kehu.store.models.engagement import INTERACTION_KINDS

#: class columns of a run a revisit rule may name
RULE_CLASSIFIERS = LABELLED_CLASS_COLUMNS


REVISIT_PREFIX = "revisit:"


@dataclass(frozen=True)
class RevisitRule:
    """After a refresh, customers of ``class_name`` get a ``kind`` task due in ``due_days``."""

    classifier: str
    class_name: str
    kind: str
    due_days: int
    title: str

    @property
    def key(self) -> str:
        """What identifies the rule in a task's ``source``."""
        return f"{self.classifier}:{self.class_name}:{self.kind}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_REVISIT_RULES: tuple[RevisitRule, ...] = (
    RevisitRule("rfm8", "重要挽留客户", "call", 3, "三天内电话回访：重要客户正在流失"),
    RevisitRule("rfm8", "重要保持客户", "call", 14, "两周内联系召回，了解购买减少的原因"),
    RevisitRule("rfm8", "重要价值客户", "visit", 30, "每月回访重要价值客户"),
    RevisitRule("rfm8", "一般发展客户", "wechat", 30, "每月跟进一般发展客户"),
)


def revisit_rules_from_config(raw: Any, source: str = "revisit") -> tuple[RevisitRule, ...]:
    """Rules from ``{classifier: {class: {kind, due_days, title}}}`` (e.g. a YAML section).

    Raises
    ------
    ConfigError
        Naming the key that is wrong.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: expected a mapping of classifier -> class -> rule")
    rules = []
    for clf, classes in raw.items():
        if clf not in RULE_CLASSIFIERS:
            raise ConfigError(
                f"{source}: unknown classifier {clf!r}; known: {', '.join(RULE_CLASSIFIERS)}"
            )
        if not isinstance(classes, Mapping):
            raise ConfigError(f"{source}.{clf}: expected a mapping of class -> rule")
        for name, spec in classes.items():
            where = f"{source}.{clf}.{name}"
            if not isinstance(spec, Mapping):
                raise ConfigError(f"{where}: expected a mapping with kind, due_days, title")
            unknown = sorted(set(spec) - {"kind", "due_days", "title"})
            if unknown:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
            kind = spec.get("kind", "call")
            if kind not in INTERACTION_KINDS:
                raise ConfigError(f"{where}.kind: {kind!r} is not one of {INTERACTION_KINDS}")
            days = spec.get("due_days")
            if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 366:
                raise ConfigError(f"{where}.due_days: expected a whole number 0-366, got {days!r}")
            title = str(spec.get("title") or f"{name}: {kind} within {days} days")[:200]
            rules.append(RevisitRule(clf, str(name), kind, days, title))
    return tuple(rules)


def load_revisit_rules(path: str | Path) -> tuple[RevisitRule, ...]:
    """Rules from a YAML file laid out as :func:`revisit_rules_from_config` reads."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"revisit rules file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return revisit_rules_from_config(raw or {}, source=str(path))


def create_revisit_tasks(
    session: Session,
    *,
    run_id: int,
    rules: Iterable[RevisitRule] = DEFAULT_REVISIT_RULES,
    today: dt.date | None = None,
) -> int:
    """Create the rules' tasks for the classes of run ``run_id``; return how many.

    The owner is the active sales rep whose ``rep_name`` the customer carries
    (none when no such user exists).  Skipped: customers with an open task
    from the same rule, or one finished less than ``due_days`` days ago.
    """
    today = today or utcnow().date()
    now = utcnow()
    created = 0
    for rule in rules:
        column = getattr(ClassificationResult, rule.classifier)
        prefix = f"{REVISIT_PREFIX}{rule.key}:"
        t = aliased(Task)
        same_rule = and_(
            t.customer_id == ClassificationResult.customer_id,
            t.source.startswith(prefix, autoescape=True),
        )
        recently_done = and_(
            t.status == "done",
            t.done_at >= dt.datetime.combine(today, dt.time()) - dt.timedelta(days=rule.due_days),
        )
        owner = (
            select(func.min(User.id))
            .where(User.role == "rep", User.is_active, User.rep_name == Customer.sales_rep)
            .scalar_subquery()
        )
        src = (
            select(
                ClassificationResult.customer_id,
                owner,
                literal(rule.title, String),
                literal(rule.kind, String),
                literal(today + dt.timedelta(days=rule.due_days)),
                literal("open", String),
                literal(prefix, String)
                + cast(ClassificationResult.customer_id, String)
                + literal(f":{run_id}", String),
                literal(now),
                literal(now),
            )
            .join(Customer, Customer.id == ClassificationResult.customer_id)
            .where(
                ClassificationResult.run_id == run_id,
                column == rule.class_name,
                ~exists().where(same_rule, (t.status == "open") | recently_done),
            )
        )
        stmt = insert(Task).from_select(
            [
                "customer_id",
                "owner_id",
                "title",
                "kind",
                "due_date",
                "status",
                "source",
                "created_at",
                "updated_at",
            ],
            src,
        )
        # RETURNING counts on both databases (psycopg reports no rowcount for INSERT ... SELECT)
        created += len(session.execute(stmt.returning(Task.id)).all())
    return created
