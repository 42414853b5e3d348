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

from kehu.services.privacy.consents import (
    PII_FIELDS,
    consent_history,
    current_consents,
    has_consent,
    mask_customer,
    mask_email,
    mask_phone,
    record_consent,
)
from kehu.services.privacy.erasure import Erasure, anonymise_person, drop_old_versions
from kehu.services.privacy.export import export_person
from kehu.services.privacy.places import (
    AUDIT_ENTITIES,
    AUDIT_ENTITIES_NOT_PERSONAL,
    ERASED,
    IDENTIFIERS,
    KINDS,
    NOT_PERSONAL,
    PersonalColumn,
    personal_columns,
    personal_tables,
    unlisted_columns,
)
from kehu.store.models import CONSENT_PURPOSES

__all__ = [
    "AUDIT_ENTITIES",
    "AUDIT_ENTITIES_NOT_PERSONAL",
    "CONSENT_PURPOSES",
    "ERASED",
    "IDENTIFIERS",
    "KINDS",
    "NOT_PERSONAL",
    "PII_FIELDS",
    "Erasure",
    "PersonalColumn",
    "anonymise_person",
    "consent_history",
    "current_consents",
    "drop_old_versions",
    "export_person",
    "has_consent",
    "mask_customer",
    "mask_email",
    "mask_phone",
    "personal_columns",
    "personal_tables",
    "record_consent",
    "unlisted_columns",
]
