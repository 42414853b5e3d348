"""Personal-information protection (个人信息保护法): masking, consents, export, erasure.

* Phone numbers, e-mail addresses and WeChat ids are masked for roles without
  ``pii.view`` (``13812345678`` -> ``138****5678``).
* Consents are records per purpose; the latest record of a purpose is its
  state, and a withdrawal is a new record (the history is kept).
* One person's data can be exported and erased on request (PIPL articles 45
  and 47).  Both are driven by one list of where personal data live: the
  ``info={"personal": <kind>}`` markers on the store's columns
  (:func:`personal_columns`); every other text, JSON or date column is listed
  in :data:`NOT_PERSONAL` with the reason, and a test keeps the two complete.

The kinds of personal column (:data:`KINDS`):

``field``
    an attribute of the row's own person (a customer's phone, a contact's
    WeChat id, a member's birthday): cleared on the person's rows.
``text``
    free text that may name anyone (call notes, feedback, audit changes):
    cleared on the person's rows, and the person's values are replaced by
    ``[erased]`` wherever they appear in other rows.
``mention``
    text no one person owns (load records, alert messages, errors, a
    campaign's description and filter): the person's values are replaced in
    every row.

A row is the person's when it refers to the customer (``customer_id``) or,
through a required foreign key, to a row that does (ledger entries through
the account, order lines through the order); audit rows are the person's
when they are about the customer or about one of their rows
(:data:`AUDIT_ENTITIES`).  Erasure keeps the rows, the figures and who
changed which field when; it removes the values.  See ``docs/privacy.md``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import io
import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Date, Engine, String, Table, Text, cast, delete, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from kehu.atomic import atomic_path
from kehu.exceptions import ConfigError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.scope import scoped_customer
from kehu.store.models import (
    CONSENT_PURPOSES,
    Base,
    Consent,
    Customer,
    Feedback,
    utcnow,
)

log = logging.getLogger("kehu.privacy")

PII_FIELDS = ("phone", "email", "wechat")

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


# --- masking and consents ---------------------------------------------------------------------


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` -> ``138****5678``; short numbers keep only their last two digits."""
    if phone is None:
        return None
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 13 and digits.startswith("86"):  # +86 mobile number
        digits = digits[2:]
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    if not digits:
        return "****"
    return "*" * max(len(digits) - 2, 2) + digits[-2:]


def mask_email(email: str | None) -> str | None:
    if email is None:
        return None
    user, _, domain = email.partition("@")
    return f"{user[:1]}***@{domain}" if domain else "***"


def mask_customer(row: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """``row`` with its personal fields masked unless the actor may see them."""
    if actor.can("pii.view"):
        return row
    out = dict(row)
    if out.get("phone") is not None:
        out["phone"] = mask_phone(out["phone"])
    if out.get("email") is not None:
        out["email"] = mask_email(out["email"])
    if out.get("wechat") is not None:
        out["wechat"] = "****"
    return out


def current_consents(customer: Customer) -> dict[str, dict[str, Any]]:
    """Purpose -> its latest record (``granted``, ``recorded_at``, ``source``)."""
    state: dict[str, dict[str, Any]] = {}
    for c in sorted(customer.consents, key=lambda c: (c.recorded_at, c.id)):
        state[c.purpose] = {"granted": c.granted, "recorded_at": c.recorded_at, "source": c.source}
    return state


def record_consent(
    session: Session,
    *,
    actor: Actor,
    code: str,
    purpose: str,
    granted: bool,
    source: str | None = None,
    note: str | None = None,
) -> Consent:
    """Record a consent or its withdrawal (``granted=False``) for one purpose."""
    require(actor, "consents.write")
    if purpose not in CONSENT_PURPOSES:
        raise SchemaError(f"unknown purpose {purpose!r}; purposes: {', '.join(CONSENT_PURPOSES)}")
    customer = scoped_customer(session, actor=actor, code=code)
    row = Consent(
        customer_id=customer.id,
        purpose=purpose,
        granted=bool(granted),
        source=source,
        note=note,
        recorded_by=actor.user_id,
    )
    customer.consents.append(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="consent.grant" if granted else "consent.withdraw",
        entity="customer",
        entity_id=code,
        changes={"purpose": purpose, "granted": bool(granted), "source": source},
    )
    return row


def consent_history(session: Session, *, actor: Actor, code: str) -> list[Consent]:
    customer = scoped_customer(session, actor=actor, code=code)
    return sorted(customer.consents, key=lambda c: (c.recorded_at, c.id))


def has_consent(customer: Customer, purpose: str) -> bool:
    """Whether the latest record of ``purpose`` grants it (no record: no consent)."""
    state = current_consents(customer).get(purpose)
    return bool(state and state["granted"])


# --- where personal data live -----------------------------------------------------------------


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


# --- the person's values and where they appear -----------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Needle:
    """One value of the person: LIKE patterns to find rows, a regex to replace it."""

    patterns: tuple[str, ...]
    regex: re.Pattern[str]


def _like(text: str) -> str:
    return "%" + text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _escaped(text: str) -> str:
    """How a JSON column stores ``text`` (non-ASCII as ``\\uXXXX``)."""
    return json.dumps(text)[1:-1]


def _needle(value: str) -> _Needle | None:
    """Search and replacement for one value; ``None`` when too short to be told apart."""
    value = value.strip()
    if not value or value in (ERASED, _table("customers").c.name.info.get("erased")):
        return None
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 7 and not re.search(r"[^\d\s()+\-.]", value):
        # a phone number, however it was typed: digits with optional separators, so rows
        # are found by the last four digits and the regex decides
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        body = r"[\s\-.]?".join(digits)
        regex = re.compile(rf"(?<!\d)(?:\+?86[\s\-.]?)?{body}(?!\d)")
        return _Needle((_like(digits[-4:]),), regex)
    if (value.isascii() and len(value) < 3) or len(value) < 2:
        return None
    forms = {value, _escaped(value)}
    alts = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    # ASCII values only as whole words: "Li" must not take a bite of "Lisbon"
    regex = rf"(?<![\w.@])(?:{alts})(?![\w@])" if value.isascii() else f"(?:{alts})"
    return _Needle(tuple(sorted(_like(f) for f in forms)), re.compile(regex, re.IGNORECASE))


def _leaves(value: Any, keys: Iterable[str]) -> Iterable[str]:
    """String values under ``keys`` anywhere in a JSON value."""
    keys = set(keys)
    if isinstance(value, dict):
        for k, v in value.items():
            if k in keys:
                yield from _strings(v)
            else:
                yield from _leaves(v, keys)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, keys)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _known_values(session: Session, person: _Person) -> list[_Needle]:
    """The person's identifying values: current ones and every earlier one in the audit log."""
    values: set[str] = set()
    for col in personal_columns():
        if col.kind != "field" or col.column not in IDENTIFIERS:
            continue
        table = _table(col.table)
        where = _link(table, person)
        values.update(v for v in session.scalars(select(table.c[col.column]).where(where)) if v)
    log_table = _table("audit_log")
    for changes in session.scalars(
        select(log_table.c.changes).where(_audit_link(log_table, person))
    ):
        values.update(_leaves(changes, IDENTIFIERS))
    needles = [_needle(v) for v in sorted(values, key=len, reverse=True)]
    return [n for n in needles if n is not None]


def _scrub(value: Any, needles: list[_Needle]) -> Any:
    """``value`` with each of the person's values replaced by ``[erased]`` (JSON walked)."""
    if isinstance(value, str):
        for n in needles:
            value = n.regex.sub(ERASED, value)
        return value
    if isinstance(value, dict):
        return {_scrub(k, needles): _scrub(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, needles) for v in value]
    return value


def _erase_keys(value: Any, keys: frozenset[str], erased: Any) -> Any:
    """JSON with the values of ``keys`` replaced by ``erased`` (or dropped when ``None``)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in keys:
                if erased is not None:
                    out[k] = erased
            else:
                out[k] = _erase_keys(v, keys, erased)
        return out
    if isinstance(value, list):
        return [_erase_keys(v, keys, erased) for v in value]
    return value


def _by_table(kinds: tuple[str, ...]) -> dict[str, list[PersonalColumn]]:
    out: dict[str, list[PersonalColumn]] = {}
    for col in personal_columns():
        if col.kind in kinds:
            out.setdefault(col.table, []).append(col)
    return out


def _mentions(session: Session, needles: list[_Needle]):
    """``(table, column, primary key, value)`` of every text or mention holding a needle."""
    if not needles:
        return
    patterns = sorted({p for n in needles for p in n.patterns})
    for name, cols in _by_table(("text", "mention")).items():
        table = _table(name)
        (pk,) = table.primary_key.columns
        for col in cols:
            c = table.c[col.column]
            text = cast(c, Text) if isinstance(c.type, JSON) else c
            hit = or_(*[text.ilike(p, escape="!") for p in patterns])
            for key, value in session.execute(select(pk, c).where(hit)):
                if _scrub(value, needles) != value:  # the LIKE is a coarse first pass
                    yield name, col, key, value


# --- export --------------------------------------------------------------------------------------

#: export section of a table when it is not the table's name
_SECTIONS = {
    "customers": "customer",
    "customer_contacts": "contacts",
    "customer_tags": "tags",
    "loyalty_accounts": "loyalty_account",
    "classification_results": "classifications",
}
_SINGLE = ("customers", "loyalty_accounts")


#: columns holding a local wall-clock time (an order's), not the store's UTC
WALL_CLOCK_COLUMNS = frozenset({"order_time"})


def _plain(value: Any, column: str | None = None) -> Any:
    """JSON-ready: the store's naive UTC times written as RFC 3339 with ``Z``."""
    if isinstance(value, dt.datetime):
        return value.isoformat() + ("" if column in WALL_CLOCK_COLUMNS else "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _rows(session: Session, table: Table, where) -> list[dict[str, Any]]:
    (pk,) = table.primary_key.columns
    got = session.execute(select(table).where(where).order_by(pk)).mappings()
    return [{k: _plain(v, k) for k, v in r.items()} for r in got]


def export_person(
    session: Session, *, actor: Actor, code: str, workspace: Path | None = None
) -> dict[str, Any]:
    """Everything the store holds about one customer, as JSON-ready data (unmasked).

    One section per table with rows of the person (found as erasure finds
    them), ``mentions``: the other rows whose text holds one of the person's
    values (table, column and id, not the text: it is about someone else too),
    ``places``: the list of personal columns that erasure clears, and with
    ``workspace``, ``files``: the workspace files that quote the person or
    learnt from their texts (which erasure rewrites).
    """
    require(actor, "privacy.manage")
    c = scoped_customer(session, actor=actor, code=code)
    person = _Person(c.id, c.code)
    data: dict[str, Any] = {"exported_at": _plain(utcnow())}
    for table in Base.metadata.sorted_tables:
        where = _link(table, person)
        if where is None:
            continue
        rows = _rows(session, table, where)
        section = _SECTIONS.get(table.name, table.name)
        if table.name in _SINGLE:
            data[section] = rows[0] if rows else None
        elif table.name == "customer_tags":
            data[section] = sorted(r["tag"] for r in rows)
        else:
            data[section] = rows
    own = _own_keys(session, person)
    needles = _known_values(session, person)
    data["mentions"] = [
        {"table": t, "column": col.column, "id": key}
        for t, col, key, _ in _mentions(session, needles)
        if (t, key) not in own
    ]
    data["places"] = [
        {"table": p.table, "column": p.column, "kind": p.kind, "meaning": KINDS[p.kind]}
        for p in personal_columns()
    ]
    if workspace is not None:
        data["files"] = _workspace_files(Path(workspace), session, person, needles)
    audit.record(session, actor=actor, action="privacy.export", entity="customer", entity_id=code)
    return data


def _own_keys(session: Session, person: _Person) -> set[tuple[str, Any]]:
    out = set()
    for name in _by_table(("text", "mention")):
        table = _table(name)
        where = _link(table, person)
        if where is None:
            continue
        (pk,) = table.primary_key.columns
        out.update((name, k) for k in session.scalars(select(pk).where(where)))
    return out


# --- erasure -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Erasure:
    """What an erasure changed: rows per table, and what became of the category model."""

    rows: dict[str, int] = dataclasses.field(default_factory=dict)
    #: ``None``, ``"retrained"`` or ``"deleted"`` (it had learnt from the person's texts)
    category_model: str | None = None
    #: workspace files rewritten without the person's values
    files: list[str] = dataclasses.field(default_factory=list)

    @property
    def tables(self) -> list[str]:
        return sorted(self.rows)

    def _count(self, table: str, n: int = 1) -> None:
        if n:
            self.rows[table] = self.rows.get(table, 0) + n


def anonymise_person(
    session: Session,
    *,
    actor: Actor,
    code: str,
    note: str | None = None,
    workspace: Path | None = None,
) -> Erasure:
    """Erase one customer's personal data on request; figures stay, anonymous.

    On the person's rows every personal column is cleared (contacts are
    deleted; the audit rows keep who changed which field when, with the values
    replaced by ``[erased]``); in every other row, the person's names, phone
    numbers, e-mail addresses and WeChat ids -- the current ones and every
    earlier one the audit log knew -- are replaced by ``[erased]`` wherever
    they appear in a text.  Marketing is switched off and every consent
    withdrawn.  With ``workspace``, a feedback category model that had learnt
    from the erased texts is retrained without them (deleted when too few
    labels remain), and the load rejects files there are rewritten without the
    person's values.  The customer id stays (orders refer to it); the audit log
    keeps that the erasure happened, not what was erased.

    Call :func:`drop_old_versions` after the commit, so that the database
    files do not keep the old values in freed space.
    """
    require(actor, "privacy.manage")
    c = scoped_customer(session, actor=actor, code=code, for_update=True)
    session.flush()
    person = _Person(c.id, c.code)
    needles = _known_values(session, person)
    result = Erasure()
    labelled = _labelled_feedback(session, person, needles)

    # the person's own rows
    keys = _personal_keys()
    for name, cols in _by_table(("field", "text")).items():
        table = _table(name)
        where = _link(table, person)
        if where is None:  # no rows of one person (a test keeps field columns linked)
            continue
        (pk,) = table.primary_key.columns
        if name in DELETED_ON_ERASURE:
            result._count(name, session.execute(delete(table).where(where)).rowcount or 0)
            continue
        for row in session.execute(select(pk, *[table.c[x.column] for x in cols]).where(where)):
            values = {}
            for col in cols:
                old = row._mapping[col.column]
                if isinstance(table.c[col.column].type, JSON):
                    new = _erase_keys(old, keys | set(col.keys), col.erased)
                    new = _scrub(new, needles)
                elif col.kind == "text" and old is None:
                    new = None
                else:
                    new = col.erased
                if new != old:
                    values[col.column] = new
            if values:
                session.execute(update(table).where(pk == row[0]).values(**values))
                result._count(name)

    # the person's values in every other text
    for name, col, key, value in list(_mentions(session, needles)):
        table = _table(name)
        (pk,) = table.primary_key.columns
        session.execute(update(table).where(pk == key).values({col.column: _scrub(value, needles)}))
        result._count(name)

    session.execute(
        update(Customer)
        .where(Customer.id == person.id)
        .values(no_personalised_marketing=True, anonymised_at=utcnow())
    )
    session.flush()
    session.expire_all()  # the rows changed under the ORM
    c = session.get(Customer, person.id)
    for purpose in CONSENT_PURPOSES:
        c.consents.append(
            Consent(purpose=purpose, granted=False, source="erasure", recorded_by=actor.user_id)
        )
    session.flush()
    if workspace is not None:
        if labelled:
            result.category_model = _retrain_category_model(session, actor, workspace)
        result.files = _scrub_workspace(Path(workspace), person, needles)
    audit.record(
        session,
        actor=actor,
        action="privacy.anonymise",
        entity="customer",
        entity_id=code,
        changes={
            "rows": dict(sorted(result.rows.items())),
            "category_model": result.category_model,
            "files": len(result.files),
        },
        note=note,
    )
    return result


def _workspace_files(
    workspace: Path, session: Session, person: _Person, needles: list[_Needle]
) -> list[dict[str, str]]:
    """The workspace files an erasure would rewrite, with why."""
    from kehu.services.feedback import MODEL_FILE

    out = [
        {"file": path.name, "holds": WORKSPACE_FILES[pattern]}
        for pattern in WORKSPACE_FILES
        for path in sorted(workspace.glob(pattern))
        if _scrubbed_rejects(path, person.code, needles) is not None
    ]
    if (workspace / MODEL_FILE).is_file() and _labelled_feedback(session, person, needles):
        holds = "the feedback category model, which may have learnt words of the person's texts"
        out.append({"file": MODEL_FILE.as_posix(), "holds": holds})
    return out


def _scrub_workspace(workspace: Path, person: _Person, needles: list[_Needle]) -> list[str]:
    """Rewrite the workspace files that quote the person (:data:`WORKSPACE_FILES`)."""
    changed = []
    for pattern in WORKSPACE_FILES:
        for path in sorted(workspace.glob(pattern)):
            if _scrub_rejects_file(path, person.code, needles):
                changed.append(path.name)
    return changed


def _scrubbed_rejects(path: Path, code: str, needles: list[_Needle]) -> list[list[str]] | None:
    """A rejects CSV's rows without the person (``None``: it does not quote them)."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    if not rows:
        return None
    header = rows[0]
    key, value = (header.index(c) if c in header else None for c in ("key", "value"))
    out = [header]
    for row in rows[1:]:
        new = [_scrub(cell, needles) for cell in row]
        if key is not None and value is not None and len(row) == len(header) and row[key] == code:
            new[value] = ERASED  # a cell of the person's row: a name, a number, a date ...
        out.append(new)
    return None if out == rows else out


def _scrub_rejects_file(path: Path, code: str, needles: list[_Needle]) -> bool:
    """Rewrite a rejects CSV without the person: their rows' cells and their values anywhere."""
    out = _scrubbed_rejects(path, code, needles)
    if out is None:
        return False
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(out)
    with atomic_path(path) as tmp:
        tmp.write_bytes(("\ufeff" + buf.getvalue()).encode("utf-8"))  # BOM: Excel reads Chinese
    return True


def _labelled_feedback(session: Session, person: _Person, needles: list[_Needle]) -> bool:
    """Whether a text the category model may have learnt from is about to change."""
    labelled = (Feedback.category_source == "user") & Feedback.text.is_not(None)
    if session.scalar(select(Feedback.id).where(labelled, Feedback.customer_id == person.id)):
        return True
    patterns = sorted({p for n in needles for p in n.patterns})
    if not patterns:
        return False
    hit = or_(*[Feedback.text.ilike(p, escape="!") for p in patterns])
    return session.scalar(select(Feedback.id).where(labelled, hit).limit(1)) is not None


def _retrain_category_model(session: Session, actor: Actor, workspace: Path) -> str | None:
    """Retrain the workspace's category model on the scrubbed labels, or delete it."""
    from kehu.services import feedback

    if not (Path(workspace) / feedback.MODEL_FILE).is_file():
        return None
    try:
        feedback.train_category_model(session, actor=actor, workspace=workspace)
        return "retrained"
    except SchemaError:  # too few labels left: back to the lexicon categories
        feedback.delete_category_model(workspace, actor=actor)
        return "deleted"


def drop_old_versions(
    engine: Engine, tables: Iterable[str] | None = None, *, full: bool = False
) -> dict[str, Any]:
    """After an erasure's commit: let the database files forget the old values.

    SQLite overwrites freed space itself (``secure_delete``, set on every
    connection); the write-ahead log still holds the old page images until a
    checkpoint, so it is checkpointed and truncated.  PostgreSQL keeps old row
    versions until ``VACUUM``, run here on ``tables`` (default: every table
    with a personal column, since a value changed before the erasure left an
    old version behind wherever it was); it does not
    zero the freed space inside pages, which only ``full=True`` (``VACUUM
    FULL``: the tables are rewritten, and locked meanwhile) removes -- for a
    maintenance window, with the tables the erasure's audit row lists.
    Failures are logged and returned, not raised: the erasure is committed.
    """
    from kehu.store.engine import checkpoint_wal, vacuum_tables

    try:
        if engine.dialect.name == "sqlite":
            got = checkpoint_wal(engine)
            if got["busy"]:
                log.warning("after an erasure, the SQLite log was not checkpointed: readers busy")
            return {"checkpoint": got}
        if engine.dialect.name == "postgresql":
            if tables is None:
                tables = personal_tables()
            return {"vacuumed": vacuum_tables(engine, sorted(set(tables)), full=full)}
    except Exception as exc:  # reported, not raised: the erasure stands
        log.warning("after an erasure, the old row versions were not dropped: %s", exc)
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {}
