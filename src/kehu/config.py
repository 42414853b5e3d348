"""Typed settings of an analysis, read from a YAML file (``--config``).

Nothing is created at import time.  Each section is validated by the component
that owns it (the importer's options, each classifier's parameters, the
playbook), so the rules for a section live in one place; this module checks the
overall shape and turns every problem into one :class:`ConfigError` that names
the file and the key.

Example ``kehu.yaml``::

    as_of: 2024-07-01          # default: the day after the last order
    window_days: 730           # default: all history before as_of
    compare_days: 90           # migration is shown against as_of - 90 days
    lang: zh
    predictions: true          # p_alive, CLV, churn risk, recommendations
    import:
      map: {amount: 实收金额, customer_id: 门店编码}
      returns: net             # or exclude
      non_product: exclude     # or keep
      zero_price: exclude      # or keep
    classifiers:
      rfm8: {threshold: median, monetary: total}
      grade: {n: 30}
      cluster: {max_k: 6}
    segments:
      华东高价值: "monetary > 5000 and region = '华东'"
    playbook:
      rfm8:
        重要挽留客户: {action: 三天内电话回访并送挽回券}
    revisit:                   # the store's follow-up tasks after each refresh
      rfm8:                    # (default: four rules for the rfm8 classes; {} for none)
        重要挽留客户: {kind: call, due_days: 3, title: 三天内电话回访}
      lifecycle:
        at_risk: {kind: wechat, due_days: 7, title: 一周内微信问候}
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kehu.exceptions import ConfigError


class Settings(BaseModel):
    """An analysis's settings; every field has a working default."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    as_of: dt.date | None = None
    window_days: int | None = Field(default=None, gt=0)
    compare_days: int = Field(default=90, gt=0)
    lang: Literal["zh", "en"] = "zh"
    predictions: bool = True  # CLV, churn risk and recommendations in `analyze`
    import_: dict[str, Any] = Field(default_factory=dict, alias="import")
    classifiers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    segments: dict[str, str] = Field(default_factory=dict)
    playbook: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: follow-up rules of ``kehu refresh`` (``None``: the defaults; checked by
    #: :func:`kehu.services.followups.revisit_rules_from_config`)
    revisit: dict[str, Any] | None = None

    @field_validator("classifiers", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        # `rfm8:` with nothing under it means "defaults", not an error
        if isinstance(value, dict):
            return {k: (v if v is not None else {}) for k, v in value.items()}
        return value


def load_config(path: str | Path | None) -> Settings:
    """Read settings from a YAML file; ``None`` gives the defaults."""
    if path is None:
        return Settings()
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config files must be UTF-8 text") from None
    return settings_from_dict(raw or {}, source=str(path))


def settings_from_dict(raw: Any, source: str = "config") -> Settings:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level")
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None
