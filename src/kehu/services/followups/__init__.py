"""Follow-ups: interactions with customers, tasks, revisit rules and overdue lists.

Every function takes an :class:`~kehu.services.access.Actor`; a sales rep
reaches only the interactions and tasks of their own customers (others are
*not found*, as in :mod:`kehu.services.scope`).  Analysts read but do not
write follow-ups.

Revisit rules (:class:`RevisitRule`) turn a refresh's classes into tasks, e.g.
重要挽留客户 -> call within 3 days.  :func:`create_revisit_tasks` runs as one
``INSERT ... SELECT`` in the database and is idempotent: a customer who already
has an open task from the same rule, or finished one within the rule's window,
gets no new task, so a refresh run twice creates nothing the second time.
"""

from kehu.services.followups.interactions import (
    get_interaction,
    list_interactions,
    record_interaction,
    update_interaction,
)
from kehu.services.followups.revisits import (
    DEFAULT_REVISIT_RULES,
    RevisitRule,
    create_revisit_tasks,
    load_revisit_rules,
    revisit_rules_from_config,
)
from kehu.services.followups.tasks import (
    create_task,
    get_task,
    list_tasks,
    overdue_by_owner,
    update_task,
)
from kehu.store.models.engagement import INTERACTION_KINDS

__all__ = [
    "DEFAULT_REVISIT_RULES",
    "INTERACTION_KINDS",
    "RevisitRule",
    "create_revisit_tasks",
    "create_task",
    "get_interaction",
    "get_task",
    "list_interactions",
    "list_tasks",
    "load_revisit_rules",
    "overdue_by_owner",
    "record_interaction",
    "revisit_rules_from_config",
    "update_interaction",
    "update_task",
]
