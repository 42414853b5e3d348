"""The names every layer shares, one list each: customer fields, class columns, the 8 classes.

The importer, the analytics, the store, the services, the API, the pages, i18n and the
report import them from here (a test checks that no second copy appears), so that a field
added or renamed is added or renamed once.
"""

from __future__ import annotations

#: a customer's attributes as the importer reads them from master data and order lines
#: (canonical column names; ``customer_id`` is the key)
IMPORTED_CUSTOMER_FIELDS = (
    "name",
    "phone",
    "country",
    "province",
    "city",
    "district",
    "area_type",
    "channel",
    "gender",
    "age_band",
    "income_band",
    "sales_rep",
    "distributor_id",
    "signup_date",
)
#: canonical column -> the store's column, where they differ (the store keeps a distributor's
#: name, which files give as an id or a name)
STORE_NAMES = {"distributor_id": "distributor"}
#: a customer's attributes in the store: the imported ones and those only people set
#: (email, region, size), in the order forms and exports show them
STORE_CUSTOMER_FIELDS = (
    "name",
    "phone",
    "email",
    "country",
    "province",
    "city",
    "district",
    "region",
    "area_type",
    "channel",
    "size",
    "gender",
    "age_band",
    "income_band",
    "sales_rep",
    "distributor",
    "signup_date",
)

#: the class columns of the rule classifiers, in display order; ``grade`` (the tobacco-style
#: 档位) is a number, every other holds a label
CLASS_COLUMNS = ("rfm8", "segment", "freq_tier", "spend_tier", "abc", "lifecycle", "grade")
LABELLED_CLASS_COLUMNS = tuple(c for c in CLASS_COLUMNS if c != "grade")

#: the Chinese 8-class RFM values (stored in Chinese) and their English names, display order
RFM8_EN: dict[str, str] = {
    "重要价值客户": "Important value",
    "重要保持客户": "Important retention",
    "重要发展客户": "Important development",
    "重要挽留客户": "Important win-back",
    "一般价值客户": "General value",
    "一般保持客户": "General retention",
    "一般发展客户": "General development",
    "一般挽留客户": "General win-back",
}


def store_name(field: str) -> str:
    """The store's column for a canonical customer column."""
    return STORE_NAMES.get(field, field)
