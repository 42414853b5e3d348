"""Customers: the list with filters, the 360 view, export, creation and changes.

Every function takes the :class:`~kehu.services.access.Actor` and applies the
rep-scoping rule (:mod:`kehu.services.scope`) and the masking of personal data
(:func:`kehu.services.privacy.mask_customer`) itself, so that no caller can
forget them.

- :mod:`~kehu.services.customers.selection`: the list's columns, filters and sort order
  (campaign audiences select with it too);
- :mod:`~kehu.services.customers.listing`: a page of the list, and its export;
- :mod:`~kehu.services.customers.view`: the 360 view of one customer, whose classes are
  explained by :mod:`~kehu.services.customers.explain`;
- :mod:`~kehu.services.customers.changes`: creating and changing customers, their tags.
"""

from kehu.names import CLASS_COLUMNS
from kehu.services.customers.changes import (
    EDITABLE,
    create_customer,
    get_customer,
    set_tags,
    update_customer,
)
from kehu.services.customers.explain import explain_result
from kehu.services.customers.listing import (
    MAX_EXPORT_ROWS,
    PROFILE_FIELDS,
    CustomerPage,
    export_customers,
    list_customers,
)
from kehu.services.customers.view import customer_360

__all__ = [
    "CLASS_COLUMNS",
    "EDITABLE",
    "MAX_EXPORT_ROWS",
    "PROFILE_FIELDS",
    "CustomerPage",
    "create_customer",
    "customer_360",
    "explain_result",
    "export_customers",
    "get_customer",
    "list_customers",
    "set_tags",
    "update_customer",
]
