"""The playbook: the recommended treatment of each customer class (差异化管理).

The defaults live in ``playbook.yaml`` beside this module so that a user can
copy the file, edit a few entries and load it back; only the entries written
in the user's file change (:meth:`Playbook.from_config`).  Each entry has an
``action``, a ``channel``, a ``cadence`` and an ``offer``, in Chinese and English.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kehu.exceptions import ConfigError
from kehu.i18n import LANGS, canonical, check_lang, label

FIELDS = ("action", "channel", "cadence", "offer")

#: classifiers whose classes are named by the user, so a config may add new ones
OPEN_CLASSIFIERS = ("custom_segment", "cluster_label")

Entries = dict[str, dict[str, dict[str, dict[str, str]]]]


class Playbook:
    """Recommended treatment per (classifier, class, language).

    Parameters
    ----------
    entries
        ``{classifier: {class: {lang: {field: text}}}}`` with the fields of
        :data:`FIELDS` and the languages of :data:`kehu.i18n.LANGS`.

    Examples
    --------
    >>> pb = Playbook.default()
    >>> pb.for_class("freq_tier", "medium", "en")["action"]
    'Lift frequency with coupons'
    """

    def __init__(self, entries: Entries):
        self.entries = entries

    # --- construction ---------------------------------------------------------------
    @classmethod
    def default(cls) -> Playbook:
        """The defaults shipped with kehu (``kehu/analytics/playbook.yaml``)."""
        text = resources.files("kehu.analytics").joinpath("playbook.yaml").read_text("utf-8")
        return cls(yaml.safe_load(text))

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any] | None, base: Playbook | None = None
    ) -> Playbook:
        """The defaults (or ``base``) with the entries of ``config`` written over them.

        ``config`` has the layout of the YAML file; under a class, either
        ``zh``/``en`` mappings of fields or the fields directly (then both
        languages get the same text).  Raises :class:`ConfigError` for an unknown
        classifier, class, language or field, naming it and what is allowed.
        """
        merged = copy.deepcopy((base or cls.default()).entries)
        if config is None:
            return cls(merged)
        if not isinstance(config, Mapping):
            raise ConfigError(
                f"playbook: expected a mapping of classifiers, got {type(config).__name__}"
            )
        for clf, classes in config.items():
            if clf not in merged and clf not in OPEN_CLASSIFIERS:
                known = ", ".join([*merged, *OPEN_CLASSIFIERS])
                raise ConfigError(f"playbook: unknown classifier {clf!r}; known: {known}")
            if not isinstance(classes, Mapping):
                raise ConfigError(f"playbook.{clf}: expected a mapping of classes")
            target = merged.setdefault(clf, {})
            for cls_name, entry in classes.items():
                key = canonical(clf, str(cls_name))
                if key not in target and clf not in OPEN_CLASSIFIERS:
                    raise ConfigError(
                        f"playbook.{clf}: unknown class {cls_name!r}; known: {', '.join(target)}"
                    )
                target[key] = _merge_entry(target.get(key), entry, f"playbook.{clf}.{cls_name}")
        return cls(merged)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Playbook:
        """Defaults overridden by a YAML file (see :meth:`from_config`)."""
        try:
            config = yaml.safe_load(Path(path).read_text("utf-8"))
        except OSError as exc:
            raise ConfigError(f"playbook file {path}: cannot read it ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"playbook file {path}: not valid YAML ({exc})") from None
        return cls.from_config(config)

    # --- lookup -------------------------------------------------------------------------
    def for_class(self, column: str, value: Any, lang: str = "zh") -> dict[str, str] | None:
        """The treatment of class ``value`` of classifier ``column``, or ``None``."""
        check_lang(lang)
        classes = self.entries.get(column)
        if classes is None and column == "rfm8_en":
            classes = self.entries.get("rfm8")
        if not classes or value is None:
            return None
        entry = classes.get(canonical(column, str(value))) or classes.get(str(value))
        if entry is None:
            return None
        return dict(entry[lang])

    def classifiers(self) -> list[str]:
        return list(self.entries)

    def to_dict(self) -> Entries:
        return copy.deepcopy(self.entries)

    def to_yaml(self) -> str:
        """The whole playbook as YAML, ready to be edited and loaded back."""
        return yaml.safe_dump(self.entries, allow_unicode=True, sort_keys=False)

    def to_frame(self, lang: str = "zh"):
        """A pandas frame: classifier, class (display name), action, channel, cadence, offer."""
        import pandas as pd

        check_lang(lang)
        rows = [
            {"classifier": clf, "class": label(clf, name, lang), **entry[lang]}
            for clf, classes in self.entries.items()
            for name, entry in classes.items()
        ]
        return pd.DataFrame(rows, columns=["classifier", "class", *FIELDS])

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in self.entries.items())
        return f"Playbook({sizes})"


def _merge_entry(old: Mapping[str, Any] | None, new: Any, where: str) -> dict[str, dict[str, str]]:
    if not isinstance(new, Mapping):
        raise ConfigError(f"{where}: expected a mapping of languages or fields")
    out = {lang: dict((old or {}).get(lang, {})) for lang in LANGS}
    if set(new) <= set(FIELDS):  # fields given directly: the same text in both languages
        new = {lang: new for lang in LANGS}
    for lang, fields in new.items():
        if lang not in LANGS:
            raise ConfigError(
                f"{where}: unknown key {lang!r}; expected languages {', '.join(LANGS)} "
                f"or fields {', '.join(FIELDS)}"
            )
        if not isinstance(fields, Mapping):
            raise ConfigError(f"{where}.{lang}: expected a mapping of fields")
        for name, value in fields.items():
            if name not in FIELDS:
                raise ConfigError(
                    f"{where}.{lang}: unknown field {name!r}; expected {', '.join(FIELDS)}"
                )
            out[lang][name] = "" if value is None else str(value)
    for lang in LANGS:  # a class added to an open classifier may leave fields out
        for name in FIELDS:
            out[lang].setdefault(name, "")
    return out
