"""Who is acting, what each role may do, and the errors of access control.

Every service takes an :class:`Actor` and checks it here, so that the rules
hold for every caller (API, CLI, web) alike.  A sales rep's scope is the
customers whose ``sales_rep`` equals the rep's ``rep_name``: out-of-scope
customers are reported as *not found*, exactly as missing ones.  The whole
rule, including what a create under a taken id answers, is in
:mod:`kehu.services.scope`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kehu.exceptions import ForbiddenError

#: permission -> meaning
PERMISSIONS = {
    "customers.read_all": "read every customer (otherwise only one's own)",
    "customers.write": "create and change customers in one's scope",
    "customers.assign": "change a customer's sales rep",
    "customers.export": "export customer lists",
    "pii.view": "see phone numbers and other personal data unmasked",
    "orders.write": "post orders",
    "refresh.run": "run a classification refresh",
    "runs.read": "read classification runs and alerts",
    "consents.write": "record consents and their withdrawal",
    "privacy.manage": "export or anonymise one person's data",
    "audit.read": "read the audit log",
    "users.manage": "create users and change roles",
    "followups.write": "record interactions and follow-up tasks",
    "feedback.write": "record feedback and survey answers",
    "loyalty.post": "post loyalty points and enrol members",
    "loyalty.manage": "change the loyalty programme, run its jobs and adjust points",
    "campaigns.read": "read campaigns, their lists and results",
    "campaigns.manage": "create, build, send and launch campaigns",
    "targets.manage": "set monthly sales and active-customer targets",
}

#: what the people who work with customers may record (analysts only read)
_FIELD_WORK = frozenset({"followups.write", "feedback.write", "loyalty.post"})

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "manager": frozenset(PERMISSIONS) - {"users.manage"},
    "rep": _FIELD_WORK
    | {"customers.write", "customers.export", "pii.view", "orders.write", "runs.read"}
    | {"consents.write"},
    "service": _FIELD_WORK | {"customers.read_all", "pii.view", "runs.read", "consents.write"},
    "analyst": frozenset(
        {"customers.read_all", "customers.export", "refresh.run", "runs.read", "campaigns.read"}
    ),
}


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf a service acts."""

    user_id: int | None
    username: str
    role: str
    rep_name: str | None = None

    @property
    def permissions(self) -> frozenset[str]:
        return ROLE_PERMISSIONS.get(self.role, frozenset())

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def sees_all_customers(self) -> bool:
        return self.can("customers.read_all")

    @property
    def is_rep(self) -> bool:
        """A sales rep: sees their own customers and owns their own tasks."""
        return self.role == "rep"


#: the actor of command-line work (loads, scheduled refreshes)
SYSTEM = Actor(user_id=None, username="system", role="admin")


def require(actor: Actor, permission: str) -> None:
    """Raise :class:`ForbiddenError` unless ``actor`` has ``permission``."""
    if not actor.can(permission):
        raise ForbiddenError(
            f"role {actor.role!r} may not {PERMISSIONS.get(permission, permission)}"
        )
