"""Where personal data live: the marked columns, what is not personal and why.

And where one person's rows are in each table (:func:`_link`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from sqlalchemy import JSON, Date, String, Table, Text, cast, or_, select
from sqlalchemy.sql import ColumnElement

from kehu.exceptions import ConfigError
from kehu.store.models import (
    Base,
)

#: the kinds of personal column (see the module's docstring)
KINDS = {
    "field": "an attribute of the row's own person: cleared on their rows",
    "text": "free text that may name anyone: cleared on the person's rows, "
    "their values replaced in every other row",
    "mention": "text no one person owns: the person's values replaced in every row",
}


#: what replaces a person's value that cannot simply be emptied
ERASED = "[erased]"


#: every text, JSON and date column that is *not* personal data, with the reason;
#: a column of those types must be here or carry ``info={"personal": ...}``
NOT_PERSONAL: dict[str, str] = {
    # customers: the business's own key and coarse, non-identifying attributes kept for figures
    "customers.code": "the source system's customer id: the business's own key",
    "customers.country": "coarse region, kept for regional figures",
    "customers.province": "coarse region, kept for regional figures",
    "customers.city": "coarse region, kept for regional figures",
    "customers.region": "sales region (大区)",
    "customers.area_type": "urban / rural class of the area",
    "customers.channel": "sales channel",
    "customers.size": "business size class",
    "customers.sales_rep": "the rep in charge (staff, not the customer)",
    "customers.distributor": "the distributor's id (a business)",
    "customer_contacts.role": "the contact's function (owner, buyer ...); the rows are deleted",
    "customer_tags.tag": "labels the team gives (classes, programmes)",
    "consents.purpose": "one of the fixed purposes",
    "consents.source": "how consent was given (form, phone call, import)",
    # staff accounts: personal data of employees, not of customers, managed with the users
    "roles.name": "role name",
    "roles.description": "role description",
    "users.username": "staff account",
    "users.display_name": "staff account",
    "users.role": "staff account",
    "users.rep_name": "staff account",
    "users.password_hash": "staff account",
    "api_tokens.kind": "token kind",
    "api_tokens.name": "token label chosen by staff",
    "api_tokens.token_hash": "keyed hash of a token",
    "users.language": "interface language chosen by staff",
    "targets.month": "the month a sales target is for",
    "targets.dimension": "what a sales target is set for",
    "targets.name": "the rep, region, channel or distributor a target is for",
    "targets.set_by": "the staff member who set a target",
    "login_throttle.key": "staff sign-in throttling",
    "audit_log.username": "the staff member who acted",
    "audit_log.action": "what was done",
    "audit_log.entity": "kind of thing changed",
    "audit_log.entity_id": "id of the thing changed (a customer's is its code)",
    # products and orders: figures, tied to the customer by id only
    "products.code": "product",
    "products.name": "product",
    "products.category": "product",
    "products.category2": "product",
    "products.brand": "product",
    "products.pack_size": "product",
    "products.source_hash": "digest of product values",
    "orders.order_no": "order id (or <customer code>@<time>)",
    "orders.channel": "sales channel",
    "orders.store_id": "the selling store",
    "orders.status": "order status",
    "orders.source": "file or api",
    "orders.content_hash": "digest of customer code, time and lines",
    "customer_months.month": "a calendar month (YYYY-MM) of the sales figures kept from orders",
    "order_lines.product_code": "product",
    "order_lines.status": "line status",
    "load_runs.fingerprint": "digest of file paths, sizes and options",
    "load_runs.status": "load status",
    "load_runs.counts": "counts per kind",
    # follow-ups, feedback and surveys: classes and states (the texts are personal)
    "interactions.kind": "call, visit ...",
    "tasks.kind": "call, visit ...",
    "tasks.due_date": "a work date",
    "tasks.status": "task state",
    "tasks.source": "manual or revisit:<run>:<classifier>:<class>",
    "feedback.channel": "app, phone ...",
    "feedback.category": "category (a class)",
    "feedback.category_source": "model or user",
    "feedback.sentiment": "sentiment class",
    "feedback.status": "handling state",
    "survey_answers.survey": "nps or csat",
    # loyalty: points and tiers are figures
    "loyalty_accounts.tier": "tier class",
    "loyalty_accounts.tier_since": "date of the tier change",
    "loyalty_ledger.key": "posting key (kind, order, account, customer code)",
    "loyalty_ledger.kind": "posting kind",
    "loyalty_ledger.expires_on": "expiry date of points",
    "loyalty_rules.rules": "programme rules",
    # campaigns: shared settings and states
    "campaigns.name": "campaign name chosen by staff",
    "campaigns.channel": "sms, wechat, email",
    "campaigns.status": "campaign state",
    "campaigns.webhook_url": "the sender's endpoint",
    "campaigns.audience": "counts of the audience build",
    "campaign_members.group": "treatment or control",
    "campaign_members.send_status": "delivery state",
    # classification: classes, scores and run settings
    "classification_runs.status": "run state",
    "classification_runs.as_of": "analysis date",
    "classification_runs.classifiers": "classifier parameters and thresholds",
    "classification_runs.settings": "run settings",
    "classification_runs.migration": "class-to-class counts",
    "classification_runs.owner": "host:pid of the process running",
    "classification_results.as_of": "analysis date",
    "classification_results.rfm8": "class",
    "classification_results.segment": "class",
    "classification_results.freq_tier": "class",
    "classification_results.spend_tier": "class",
    "classification_results.abc": "class",
    "classification_results.lifecycle": "class",
    "classification_results.last_purchase": "derived from the orders, kept with them",
    "classification_results.scores": "model scores",
    "alerts.kind": "alert kind",
    "alerts.classifier": "classifier name",
    "alerts.from_class": "class",
    "alerts.to_class": "class",
}


#: audit ``entity`` -> the table whose rows it names; an audit row about one of the
#: person's rows is the person's (a ``customer`` row names the customer by code)
AUDIT_ENTITIES = {
    "customer": "customers",
    "interaction": "interactions",
    "task": "tasks",
    "feedback": "feedback",
    "survey_answer": "survey_answers",
}


#: audit entities that are never about one customer
AUDIT_ENTITIES_NOT_PERSONAL = {
    "user": "staff accounts",
    "api_token": "staff tokens",
    "classification_run": "a run over every customer",
    "campaign": "a campaign (its members are separate rows)",
    "load_run": "a file load",
    "order": "an order: figures, tied to the customer by code",
    "feedback_model": "the category model",
    "loyalty": "programme rules and tier runs",
    "target": "a month's target for a rep, region, channel or distributor",
}


#: fields whose values name a person: searched for in every text on erasure
IDENTIFIERS = ("name", "phone", "email", "wechat")


#: keys in audit changes that hold personal values without being a column's name
AUDIT_KEYS = ("reason",)  # loyalty.adjust: the ledger note


#: tables whose rows are deleted on erasure rather than cleared
DELETED_ON_ERASURE = ("customer_contacts",)


#: files kept in the workspace that quote people's values: glob -> what they are
#: (the feedback category model is handled apart: it is retrained)
WORKSPACE_FILES = {
    "load-*-rejects.csv": "a file load's rejects (services.store_load): each row quotes a cell",
}


_CHECKED_TYPES = (String, Text, JSON, Date)


@dataclasses.dataclass(frozen=True)
class PersonalColumn:
    """One column that holds personal data, from its ``info`` marker."""

    table: str
    column: str
    kind: str
    #: what the person's own rows get instead of the value (``None``: NULL); for a
    #: JSON column, what replaces the values of personal keys (``None``: the key goes)
    erased: Any = None
    #: JSON only: keys cleared on the person's rows besides the personal field names
    keys: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"


@functools.cache
def personal_columns() -> tuple[PersonalColumn, ...]:
    """Every column marked ``info={"personal": kind}`` on the store's tables."""
    out = []
    for table in Base.metadata.sorted_tables:
        for col in table.columns:
            kind = col.info.get("personal")
            if kind is None:
                continue
            if kind not in KINDS:
                raise ConfigError(f"{table.name}.{col.name}: unknown personal kind {kind!r}")
            keys = tuple(col.info.get("keys", ()))
            out.append(PersonalColumn(table.name, col.name, kind, col.info.get("erased"), keys))
    return tuple(out)


def personal_tables() -> list[str]:
    """The tables with at least one personal column."""
    return sorted({c.table for c in personal_columns()})


def unlisted_columns() -> list[str]:
    """Text, JSON and date columns neither marked personal nor in :data:`NOT_PERSONAL`."""
    known = {c.name for c in personal_columns()} | set(NOT_PERSONAL)
    return [
        f"{t.name}.{c.name}"
        for t in Base.metadata.sorted_tables
        for c in t.columns
        if isinstance(c.type, _CHECKED_TYPES)
        and not c.foreign_keys  # keys of other tables, decided there
        and f"{t.name}.{c.name}" not in known
    ]


@functools.cache
def _personal_keys() -> frozenset[str]:
    """Field names whose values are personal wherever they appear in JSON (audit changes)."""
    names = {
        c.column
        for c in personal_columns()
        if c.kind in ("field", "text") and not isinstance(_table(c.table).c[c.column].type, JSON)
    }
    return frozenset(names | set(AUDIT_KEYS))


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _direct_link(table: Table, customer_id: int) -> ColumnElement[bool] | None:
    if table.name == "customers":
        return table.c.id == customer_id
    for fk in table.foreign_keys:
        if fk.column.table.name == "customers":
            return fk.parent == customer_id
    return None


def _link(table: Table, person: _Person) -> ColumnElement[bool] | None:
    """Where the person's rows of ``table`` are; ``None``: the table has none."""
    if table.name == "audit_log":
        return _audit_link(table, person)
    direct = _direct_link(table, person.id)
    if direct is not None:
        return direct
    # through a required reference to a row of the person (ledger -> account, line -> order);
    # optional references (SET NULL) are associations, not ownership
    via = []
    for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
        parent = fk.column.table
        where = _direct_link(parent, person.id) if not fk.parent.nullable else None
        if where is not None:
            via.append(fk.parent.in_(select(fk.column).where(where)))
    return or_(*via) if via else None


def _audit_link(table: Table, person: _Person) -> ColumnElement[bool]:
    c = table.c
    parts = [(c.entity == "customer") & (c.entity_id == person.code)]
    for entity, name in AUDIT_ENTITIES.items():
        if name == "customers":
            continue
        rows = _table(name)
        ids = select(cast(rows.c.id, String)).where(_direct_link(rows, person.id))
        parts.append((c.entity == entity) & c.entity_id.in_(ids))
    return or_(*parts)


@dataclasses.dataclass(frozen=True)
class _Person:
    id: int
    code: str


def _by_table(kinds: tuple[str, ...]) -> dict[str, list[PersonalColumn]]:
    out: dict[str, list[PersonalColumn]] = {}
    for col in personal_columns():
        if col.kind in kinds:
            out.setdefault(col.table, []).append(col)
    return out
