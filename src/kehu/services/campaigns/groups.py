"""The control group: a stable random split that depends only on the seed and the audience."""

from __future__ import annotations

import hashlib
import math

GROUPS = ("treatment", "control")


def assignment_key(seed: int, code: str) -> str:
    """The stable random key of a member: the control group is the lowest keys."""
    return hashlib.sha256(f"{seed}:{code}".encode()).hexdigest()


def split_groups(codes: list[str], share: float, seed: int) -> dict[str, str]:
    """Customer id -> ``"treatment"`` or ``"control"``; exactly ``round(share x n)`` in control."""
    ordered = sorted(codes, key=lambda c: (assignment_key(seed, c), c))
    n_control = math.floor(share * len(ordered) + 0.5)
    return {c: ("control" if i < n_control else "treatment") for i, c in enumerate(ordered)}
