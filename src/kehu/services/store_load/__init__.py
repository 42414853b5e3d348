"""Bring customer, product and order files into the store, idempotently.

The files go through the same importers as ``kehu analyze``
(:mod:`kehu.warehouse`); the rows they keep are then written to the store by
natural key -- customer id, product id, order id:

* a key not in the store is **inserted**;
* a key whose values equal those of the last load is **unchanged** (so
  re-running a load changes nothing, even after people edited the customer in
  the application since);
* a key whose values changed is **updated** -- unless the stored customer or
  product was also edited in the application since the last load, or an order
  moved to another customer: that is a **conflict**, reported and left as it is;
* a row the import cannot read or that breaks the bounds of
  :mod:`kehu.warehouse.rules` (dates, amounts, text lengths) is **rejected**,
  and so is, whole, every order that had such a line: a load never rewrites a
  stored order from part of its lines, the stored version is kept.

Orders name their customer: a customer id the store does not have yet is
created with the order (as ``POST /orders`` does), so no order is stored
unlinked; an order stored unlinked by an older load is linked by the next load
once its customer exists.

Every rejected or set-aside row is listed, with file, row, column, reason and
value, in the load's rejects file (``rejects_dir``) and counted per reason in
the summary.

Rows are compared by digests computed in DuckDB (one expression for the file
side and the store side).  The work is split into batches of ``batch_size``
keys, each written in its own transaction together with the load's progress
(:class:`~kehu.store.models.LoadRun`), so an interrupted load resumes from its
first unfinished batch when run again with the same files and options.
"""

from kehu.services.store_load.load import load_files
from kehu.services.store_load.orders import OrderResult, add_order, get_order
from kehu.services.store_load.rejects import REJECT_COLUMNS
from kehu.services.store_load.staging import CUSTOMER_FIELDS, PRODUCT_FIELDS
from kehu.services.store_load.summary import LoadSummary

__all__ = [
    "CUSTOMER_FIELDS",
    "PRODUCT_FIELDS",
    "REJECT_COLUMNS",
    "LoadSummary",
    "OrderResult",
    "add_order",
    "get_order",
    "load_files",
]
