"""Server settings of the store and API, read from the environment.

==================================  ===========================================  ===================
variable                            meaning                                      default
==================================  ===========================================  ===================
``KEHU_WORKSPACE``                  folder of ``kehu.db`` and ``secret.key``     current folder
``KEHU_DATABASE_URL``               SQLAlchemy URL (``postgresql://...``)        SQLite ``kehu.db``
``KEHU_SECRET_KEY``                 key for token hashes; else ``secret.key``    refused outside dev
``KEHU_ENV``                        ``development``, ``test`` or ``production``  ``development``
``KEHU_TOKEN_MINUTES``              lifetime of a login token                    480
``KEHU_TOKEN_MAX_DAYS``             longest lifetime of an API token (1-3650)    365
``KEHU_LOGIN_MAX_FAILURES``         sign-ins per user name and client address    5
                                    in a window; then 429 until it ends
``KEHU_LOGIN_CLIENT_MAX_FAILURES``  sign-ins per client address (any name)       4 x the above
``KEHU_LOGIN_USER_MAX_FAILURES``    sign-ins per user name (any address)         10 x the above
``KEHU_LOGIN_WINDOW_SECONDS``       the window of these counts                   300
``KEHU_REFRESH_MINUTES``            refresh this often inside ``kehu serve``     off
``KEHU_WEBHOOK_SECRET``             signs campaign webhook requests (16+ chars)  unsigned
==================================  ===========================================  ===================

A successful sign-in clears its (user name, address) count and gives back its
place in the other two, so only failures use them up.

Nothing is read at import time: call :meth:`StoreSettings.from_env`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kehu.exceptions import ConfigError
from kehu.writers import write_text

DB_FILE = "kehu.db"
SECRET_FILE = "secret.key"
#: only ever accepted in development
DEV_SECRET = "kehu-development-secret-do-not-use"


class StoreSettings(BaseModel):
    """Where the store is and how the API authenticates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workspace: Path = Path(".")
    database_url: str | None = None
    secret_key: str = DEV_SECRET
    environment: Literal["development", "test", "production"] = "development"
    token_minutes: int = Field(default=480, gt=0)
    token_max_days: int = Field(default=365, gt=0, le=3650)
    login_max_failures: int = Field(default=5, gt=0)
    #: None: 4 and 10 times ``login_max_failures``
    login_client_max_failures: int | None = Field(default=None, gt=0)
    login_user_max_failures: int | None = Field(default=None, gt=0)
    login_window_seconds: int = Field(default=300, gt=0)
    refresh_minutes: int | None = Field(default=None, gt=0)
    webhook_secret: str | None = Field(default=None, min_length=16)

    def __init__(self, **data: object) -> None:
        super().__init__(**data)
        # checked after validation and raised as is (pydantic would wrap a ValueError)
        if self.environment != "development" and self.secret_key == DEV_SECRET:
            raise ConfigError(
                f"KEHU_SECRET_KEY must be set in {self.environment} "
                f"(or run `kehu init` to write {self.workspace / SECRET_FILE})"
            )
        if len(self.secret_key) < 16:
            raise ConfigError("the secret key must be at least 16 characters long")

    @property
    def url(self) -> str:
        """The database URL: ``database_url`` or the workspace's SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.workspace / DB_FILE).resolve()}"

    @classmethod
    def from_env(cls, workspace: str | Path | None = None, **overrides) -> StoreSettings:
        """Settings from ``KEHU_*`` variables; ``overrides`` win over the environment."""
        env = os.environ
        ws = Path(workspace or env.get("KEHU_WORKSPACE") or ".")
        values: dict[str, object] = {"workspace": ws}
        if env.get("KEHU_DATABASE_URL"):
            values["database_url"] = env["KEHU_DATABASE_URL"]
        secret = env.get("KEHU_SECRET_KEY")
        if not secret and (ws / SECRET_FILE).is_file():
            secret = (ws / SECRET_FILE).read_text(encoding="utf-8").strip()
        if secret:
            values["secret_key"] = secret
        for key, var in (
            ("environment", "KEHU_ENV"),
            ("token_minutes", "KEHU_TOKEN_MINUTES"),
            ("token_max_days", "KEHU_TOKEN_MAX_DAYS"),
            ("login_max_failures", "KEHU_LOGIN_MAX_FAILURES"),
            ("login_client_max_failures", "KEHU_LOGIN_CLIENT_MAX_FAILURES"),
            ("login_user_max_failures", "KEHU_LOGIN_USER_MAX_FAILURES"),
            ("login_window_seconds", "KEHU_LOGIN_WINDOW_SECONDS"),
            ("refresh_minutes", "KEHU_REFRESH_MINUTES"),
            ("webhook_secret", "KEHU_WEBHOOK_SECRET"),
        ):
            if env.get(var):
                values[key] = env[var]
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ConfigError(f"server settings: {problems}") from None


def write_secret(workspace: Path) -> Path:
    """Write a new random secret key into the workspace unless one is there."""
    path = workspace / SECRET_FILE
    if not path.exists():
        write_text(path, secrets.token_urlsafe(48), mode=0o600)
    return path
