"""Customer classifiers and their registry.

Every classifier works on the per-customer feature table
(:func:`kehu.analytics.features.customer_features`) and adds its column(s)::

    rfm8        rfm8, rfm8_en        Chinese 8-class RFM model      (rfm8.py)
    segment     segment              international named segments   (segments.py)
    freq_tier   freq_tier            purchase-frequency tier        (tiers.py)
    spend_tier  spend_tier           spend tier                     (tiers.py)
    abc         abc, value_decile    ABC / Pareto classes, deciles  (value.py)
    lifecycle   lifecycle            new / won back / active ...    (lifecycle.py)
    grade       grade, grade_score   tobacco-style grades 1..N      (grades.py)
    cluster     cluster, cluster_label   behavioural clusters       (clusters.py)
    custom      custom_segment       user-written filters           (rules.py)

``CLASSIFIERS`` lists them in the default pipeline order; ``build`` makes one
from its name and parameters, and ``classify`` runs several in order.  The
cluster and custom-segment classifiers are imported only when asked for.

Examples
--------
>>> from kehu.analytics.classify import classify
>>> table, fitted = classify(features, params={"rfm8": {"threshold": "median"}})  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import ibis.expr.types as ir

from kehu.analytics.classify.base import Classifier, Explanation
from kehu.analytics.classify.grades import Grade, apply_published, starting_grade
from kehu.analytics.classify.lifecycle import Lifecycle
from kehu.analytics.classify.rfm8 import RFM8
from kehu.analytics.classify.segments import NamedSegments
from kehu.analytics.classify.tiers import FrequencyTier, SpendTier
from kehu.analytics.classify.value import ABC
from kehu.exceptions import ConfigError
from kehu.names import CLASS_COLUMNS

#: What ``kehu classify`` runs by default: the rule-based classifiers, in order.
RULE_CLASSIFIERS = CLASS_COLUMNS

_RULES: dict[str, type[Classifier]] = {
    "rfm8": RFM8,
    "segment": NamedSegments,
    "freq_tier": FrequencyTier,
    "spend_tier": SpendTier,
    "abc": ABC,
    "lifecycle": Lifecycle,
    "grade": Grade,
}
# written separately and imported lazily: name -> (module, class)
_LAZY = {
    "cluster": ("kehu.analytics.classify.clusters", "Clusters"),
    "custom": ("kehu.analytics.classify.rules", "CustomSegments"),
}
NAMES = (*RULE_CLASSIFIERS, *_LAZY)

#: name -> classifier class, in the default pipeline order (resolved on access
#: by the module ``__getattr__`` below; the annotation documents the type)
CLASSIFIERS: dict[str, type[Classifier]]


def _load(name: str) -> type[Classifier]:
    if name in _RULES:
        return _RULES[name]
    if name in _LAZY:
        module, cls = _LAZY[name]
        try:
            return getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"classifier {name!r} is not available: {exc}") from exc
    raise ConfigError(f"unknown classifier {name!r}; valid classifiers: {', '.join(NAMES)}")


def __getattr__(attr: str) -> Any:
    # CLASSIFIERS resolves the lazy entries on first use, so importing this
    # package never imports the cluster and rule modules (and their deps).
    if attr == "CLASSIFIERS":
        registry = dict(_RULES)
        for name in _LAZY:
            try:
                registry[name] = _load(name)
            except ConfigError:
                continue  # not installed/written: leave it out of the listing
        return registry
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def build(name: str, **params: Any) -> Classifier:
    """Make the classifier called ``name`` with ``params``.

    Raises :class:`~kehu.exceptions.ConfigError` for an unknown name (listing
    the valid ones), for unknown parameters (listing the accepted ones) and for
    invalid values.
    """
    cls = _load(name)
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ConfigError(
            f"{name}: unknown parameter(s) {', '.join(unknown)}; "
            f"valid parameters: {', '.join(accepted) or '(none)'}"
        )
    try:
        return cls(**params)
    except TypeError as exc:  # e.g. a value of a type the constructor cannot use
        raise ConfigError(f"{name}: invalid parameters {params!r}: {exc}") from exc


def classify(
    features: ir.Table,
    names: Sequence[str] = RULE_CLASSIFIERS,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[ir.Table, list[Classifier]]:
    """Fit and apply several classifiers in order.

    Parameters
    ----------
    features
        The per-customer feature table; materialise it first (e.g.
        ``features.cache()``) since every classifier's fit reads it.
    names
        Classifier names, applied in this order.
    params
        Per-classifier parameters: name -> keyword arguments.

    Returns
    -------
    The features with every classifier's columns added, and the fitted
    classifiers (for :meth:`~Classifier.record` and :meth:`~Classifier.explain`).

    The rule classifiers are fitted on ``features``; the cluster and custom
    classifiers on the table built so far (so a custom segment may refer to
    ``rfm8``, say).
    """
    params = dict(params or {})
    stray = sorted(set(params) - set(names))
    if stray:
        raise ConfigError(
            f"parameters given for classifier(s) not run: {', '.join(stray)}; "
            f"running: {', '.join(names)}"
        )
    dupes = sorted({n for n in names if list(names).count(n) > 1})
    if dupes:
        raise ConfigError(f"classifier(s) listed twice: {', '.join(dupes)}")
    fitted = [build(n, **dict(params.get(n) or {})) for n in names]  # fail before any work
    table = features
    for name, clf in zip(names, fitted, strict=True):
        # the rule classifiers read only feature columns: fitting them on the
        # plain features keeps each fit query small
        clf.fit(features if name in _RULES else table)
        table = clf.transform(table)
    return table, fitted


__all__ = [
    "ABC",
    "NAMES",
    "RFM8",
    "RULE_CLASSIFIERS",
    "Classifier",
    "Explanation",
    "FrequencyTier",
    "Grade",
    "Lifecycle",
    "NamedSegments",
    "SpendTier",
    "apply_published",
    "build",
    "classify",
    "starting_grade",
]
