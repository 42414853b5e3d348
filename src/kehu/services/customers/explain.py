"""One customer's current classes: explained by the run's own rules, scored, with the playbook."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.names import CLASS_COLUMNS, LABELLED_CLASS_COLUMNS
from kehu.services.refresh import RESULT_COLUMNS
from kehu.store.models import ClassificationResult, Customer

#: the result's own columns shown as the customer's scores (the classifiers' scores follow)
SCORE_COLUMNS = tuple(c for c in RESULT_COLUMNS if c not in CLASS_COLUMNS)


def current_classes(
    session: Session, run, customer: Customer, lang: str
) -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, Any]]]:
    """``(classes, scores, recommendations)`` of the customer in the current run, empty if none."""
    result = None
    if run is not None:
        result = session.scalar(
            select(ClassificationResult).where(
                ClassificationResult.run_id == run.id,
                ClassificationResult.customer_id == customer.id,
            )
        )
    if result is None:
        return [], {}, []
    classes = explain_result(run.classifiers, result.values, lang=lang)
    scores = {k: getattr(result, k) for k in SCORE_COLUMNS}
    scores.update(result.scores or {})
    return classes, scores, _recommendations(result, lang)


def explain_result(
    records: list[dict[str, Any]], values: dict[str, Any], *, lang: str = "zh"
) -> list[dict[str, Any]]:
    """Each classifier's class of one customer with its explanation.

    The classifiers are rebuilt from the run's records (parameters and fitted
    state), so the explanation is the one the run's own rules give.
    """
    from kehu.analytics.classify import build

    out = []
    for rec in records:
        name = rec.get("classifier")
        try:
            clf = build(name, **(rec.get("params") or {}))
            for key, value in (rec.get("state") or {}).items():
                setattr(clf, key, value)
            clf.fitted_ = True
            ex = clf.explain(values).to_dict()
            reason = ex["reason_zh"] if lang == "zh" else ex["reason"]
            out.append(
                {
                    "classifier": name,
                    "version": rec.get("version"),
                    "label": ex["label"],
                    "reason": reason,
                    "inputs": ex["inputs"],
                    "thresholds": ex["thresholds"],
                }
            )
        except Exception:  # an explanation must never break the customer page
            out.append(
                {
                    "classifier": name,
                    "version": rec.get("version"),
                    "label": values.get(name),
                    "reason": None,
                    "inputs": {},
                    "thresholds": rec.get("thresholds") or {},
                }
            )
    return out


@functools.cache
def _playbook():
    from kehu.analytics.playbook import Playbook

    return Playbook.default()  # read once: parsing the YAML per request was the slow part


def _recommendations(result: ClassificationResult, lang: str) -> list[dict[str, Any]]:
    book = _playbook()
    out = []
    for col in LABELLED_CLASS_COLUMNS:
        value = getattr(result, col)
        entry = book.for_class(col, value, lang) if value is not None else None
        if entry:
            out.append({"classifier": col, "class": value, **entry})
    return out
