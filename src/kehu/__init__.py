"""kehu: customer classification and management (客户分类管理)."""

from kehu.analytics.rfm import rfm_summary
from kehu.exceptions import (
    ConfigError,
    ConflictError,
    DataImportError,
    FilterSyntaxError,
    KehuError,
    NotFittedError,
    NotFoundError,
    SchemaError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ConflictError",
    "DataImportError",
    "FilterSyntaxError",
    "KehuError",
    "NotFittedError",
    "NotFoundError",
    "SchemaError",
    "__version__",
    "rfm_summary",
]
