"""Password hashing (Argon2id) and checking; other modules reach the hasher through this module."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


#: Argon2 parameters -> a hash of a random password, checked for unknown user names
_dummy_hashes: dict[tuple, str] = {}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    """A hash of a random password made with the current hasher's parameters.

    Checked in place of a user's hash for unknown names; made once per set of
    parameters (the hasher can be replaced, e.g. by a cheaper one in tests).
    """
    h = _hasher
    params = (h.type, h.time_cost, h.memory_cost, h.parallelism, h.hash_len, h.salt_len)
    found = _dummy_hashes.get(params)
    if found is None:
        found = _dummy_hashes[params] = h.hash(secrets.token_urlsafe(24))
    return found
