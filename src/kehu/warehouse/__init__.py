"""Where order data lives: DuckDB connections and importers for CSV, Excel and Parquet.

>>> from kehu.warehouse import connect, import_orders, ImportOptions
>>> con = connect(None)                                        # doctest: +SKIP
>>> res = import_orders("订单.csv", con=con,                    # doctest: +SKIP
...                     options=ImportOptions.from_strings(["amount=实收金额"]))
>>> res.summary.describe("zh")                                 # doctest: +SKIP
"""

from kehu.warehouse.connect import connect
from kehu.warehouse.headers import match_columns, normalize_header
from kehu.warehouse.importer import (
    ImportResult,
    import_customers,
    import_orders,
    import_products,
)
from kehu.warehouse.options import ImportOptions
from kehu.warehouse.summary import FileSummary, ImportSummary

__all__ = [
    "FileSummary",
    "ImportOptions",
    "ImportResult",
    "ImportSummary",
    "connect",
    "import_customers",
    "import_orders",
    "import_products",
    "match_columns",
    "normalize_header",
]
