"""The store's tables (SQLAlchemy 2 declarative models), one module per domain."""

from kehu.store.models.base import Base, utcnow
from kehu.store.models.campaigns import Campaign, CampaignMember
from kehu.store.models.classification import Alert, ClassificationResult, ClassificationRun
from kehu.store.models.customers import (
    CONSENT_PURPOSES,
    MASTER_FIELDS,
    Consent,
    Contact,
    Customer,
    CustomerTag,
)
from kehu.store.models.engagement import Feedback, Interaction, SurveyAnswer, Task
from kehu.store.models.loyalty import LedgerEntry, LoyaltyAccount
from kehu.store.models.orders import CustomerMonth, LoadRun, Order, OrderLine, Product
from kehu.store.models.people import (
    ROLES,
    TARGET_DIMENSIONS,
    ApiToken,
    AuditLog,
    LoginThrottle,
    Role,
    Target,
    User,
)

__all__ = [
    "CONSENT_PURPOSES",
    "MASTER_FIELDS",
    "ROLES",
    "TARGET_DIMENSIONS",
    "Alert",
    "ApiToken",
    "AuditLog",
    "Base",
    "Campaign",
    "CampaignMember",
    "ClassificationResult",
    "ClassificationRun",
    "Consent",
    "Contact",
    "Customer",
    "CustomerMonth",
    "CustomerTag",
    "Feedback",
    "Interaction",
    "LedgerEntry",
    "LoadRun",
    "LoginThrottle",
    "LoyaltyAccount",
    "Order",
    "OrderLine",
    "Product",
    "Role",
    "SurveyAnswer",
    "Target",
    "Task",
    "User",
    "utcnow",
]
