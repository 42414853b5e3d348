"""One role check: every service asks :func:`kehu.services.access.require` for a permission."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import kehu.services
from kehu.exceptions import ForbiddenError
from kehu.services.access import PERMISSIONS, ROLE_PERMISSIONS, Actor, require

#: the services, packages included (loyalty/, privacy/ ... are packages)
SERVICES = Path(kehu.services.__file__).parent
#: a role compared by name outside access.py: a second, drifting permission table
ROLE_TEST = re.compile(r"actor\.role\s*(==|!=|not in|in)\b|frozenset\(\{\s*\"(admin|manager)\"")


def test_no_service_keeps_its_own_role_sets():
    offenders = [
        f"{path.relative_to(SERVICES)}:{n}: {line.strip()}"
        for path in sorted(SERVICES.rglob("*.py"))
        if path.name != "access.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ROLE_TEST.search(line)
    ]
    assert offenders == []


def test_every_permission_is_checked_somewhere():
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in SERVICES.rglob("*.py") if p.name != "access.py"
    )
    assert [p for p in PERMISSIONS if f'"{p}"' not in source] == []


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("rep", ["followups.write", "feedback.write", "loyalty.post"], ["campaigns.read"]),
        ("service", ["feedback.write", "loyalty.post"], ["loyalty.manage", "campaigns.manage"]),
        ("analyst", ["campaigns.read", "refresh.run"], ["feedback.write", "campaigns.manage"]),
        ("manager", ["campaigns.manage", "loyalty.manage"], ["users.manage"]),
    ],
)
def test_roles_keep_their_rights(role, allowed, refused):
    actor = Actor(user_id=1, username="u", role=role, rep_name="王伟")
    for permission in allowed:
        require(actor, permission)
    for permission in refused:
        with pytest.raises(ForbiddenError, match=f"role '{role}' may not"):
            require(actor, permission)
    assert set(ROLE_PERMISSIONS["admin"]) == set(PERMISSIONS)
