"""Evaluation of the feedback models: accuracy and macro-F1 against named baselines.

- :func:`lexicon_sentiment_report`: the default lexicon on labelled texts;
- :func:`split_report`: a model on a stratified, seeded train/test split;
- :func:`cross_validate`: a model in stratified k-fold cross-validation next
  to the majority-class baseline and, given ratings, a rating-only baseline
  (the most frequent label of each rating value in the training folds).

Each returns a plain dict of floats and lists, ready for a report or a test.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from kehu.analytics.feedback.classify import classify_feedback
from kehu.analytics.feedback.text import clean
from kehu.analytics.feedback.textmodel import TextModel
from kehu.exceptions import SchemaError

_BINARY = {0: "negative", 1: "positive", "negative": "negative", "positive": "positive"}


def lexicon_sentiment_report(
    texts: Iterable[Any], labels: Iterable[Any], lang: str | None = None
) -> dict[str, Any]:
    """Accuracy of :func:`classify_feedback`'s sentiment on texts labelled positive/negative.

    ``labels`` are 0/1 or ``"negative"``/``"positive"``.  The lexicon may
    answer ``neutral``; ``coverage`` is the share it decides, ``accuracy_decided``
    its accuracy there, and ``accuracy`` / ``macro_f1`` count every neutral
    answer as wrong (the strict figures).
    """
    from sklearn.metrics import accuracy_score, f1_score

    docs = list(texts)
    y = _binary(labels)
    _same_length(docs, y)
    pred = classify_feedback(docs, lang=lang)["sentiment"].to_numpy(dtype=object)
    decided = pred != "neutral"
    return {
        "n": len(y),
        "coverage": float(decided.mean()) if len(y) else 0.0,
        "accuracy_decided": float(accuracy_score(y[decided], pred[decided]))
        if decided.any()
        else 0.0,
        "accuracy": float(np.mean(pred == y)) if len(y) else 0.0,
        "macro_f1": float(
            f1_score(y, pred, labels=["negative", "positive"], average="macro", zero_division=0)
        ),
    }


def split_report(
    model: TextModel,
    texts: Iterable[Any],
    labels: Iterable[Any],
    *,
    test_size: float = 0.2,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit a copy of ``model`` on a stratified split and score it on the held-out part."""
    from sklearn.model_selection import train_test_split

    x, y = _arrays(texts, labels, model)
    train, test = train_test_split(
        np.arange(len(y)), test_size=test_size, stratify=y, random_state=seed
    )
    fitted = model.clone().fit(x[train], y[train])
    return {"n_train": len(train), "n_test": len(test), **_scores(y[test], fitted.predict(x[test]))}


def cross_validate(
    model: TextModel,
    texts: Iterable[Any],
    labels: Iterable[Any],
    *,
    ratings: Iterable[Any] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Stratified k-fold macro-F1 of ``model`` and of the baselines.

    Returns ``{"model": ..., "majority": ..., "rating": ...}`` (``rating`` only
    with ``ratings``), each with ``macro_f1`` (mean over folds), ``fold_macro_f1``,
    and ``accuracy`` / ``per_class_f1`` of the pooled out-of-fold predictions.
    """
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    x, y = _arrays(texts, labels, model)
    r = None if ratings is None else np.asarray(list(ratings), dtype=object)
    if r is not None and len(r) != len(y):
        raise SchemaError(f"{len(r)} ratings but {len(y)} labels; give one rating per text")
    names = ["model", "majority"] + ([] if r is None else ["rating"])
    pooled = {k: np.empty(len(y), dtype=object) for k in names}
    per_fold: dict[str, list[float]] = {k: [] for k in names}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(y)), y):
        majority = pd.Series(y[train]).value_counts().index[0]
        preds = {
            "model": model.clone().fit(x[train], y[train]).predict(x[test]),
            "majority": np.full(len(test), majority, dtype=object),
        }
        if r is not None:
            preds["rating"] = rating_baseline(r[train], y[train], r[test])
        for k, p in preds.items():
            pooled[k][test] = p
            per_fold[k].append(float(f1_score(y[test], p, average="macro", zero_division=0)))
    return {
        k: {
            "macro_f1": float(np.mean(per_fold[k])),
            "fold_macro_f1": per_fold[k],
            **{s: v for s, v in _scores(y, pooled[k]).items() if s != "macro_f1"},
        }
        for k in names
    }


def rating_baseline(
    train_ratings: Iterable[Any], train_labels: Iterable[Any], ratings: Iterable[Any]
) -> np.ndarray:
    """Predict the most frequent training label of each rating value (ties: first in sort order)."""
    frame = pd.DataFrame({"r": list(train_ratings), "y": list(train_labels)})
    counts = frame.groupby(["r", "y"]).size().reset_index(name="n")
    counts = counts.sort_values(["r", "n", "y"], ascending=[True, False, True], kind="stable")
    best = counts.drop_duplicates("r").set_index("r")["y"]
    majority = frame["y"].value_counts().index[0] if len(frame) else None
    out = pd.Series(list(ratings), dtype=object).map(best)
    return out.where(out.notna(), majority).to_numpy(dtype=object)


def _scores(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    classes = sorted(set(y), key=str)
    per_class = f1_score(y, pred, labels=classes, average=None, zero_division=0)
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "macro_f1": float(np.mean(per_class)),
        "per_class_f1": {c: float(f) for c, f in zip(classes, per_class, strict=True)},
    }


def _arrays(texts: Iterable[Any], labels: Iterable[Any], model: TextModel):
    x = np.array([clean(t) for t in texts], dtype=object)
    y = np.array(model._encode_labels(list(labels)), dtype=object)
    _same_length(x, y)
    return x, y


def _binary(labels: Iterable[Any]) -> np.ndarray:
    out = []
    for i, v in enumerate(labels):
        key = v.item() if isinstance(v, np.generic) else v
        if key not in _BINARY:
            raise SchemaError(
                f"sentiment label {v!r} at position {i} is not 0/1 or negative/positive"
            )
        out.append(_BINARY[key])
    return np.array(out, dtype=object)


def _same_length(texts, labels) -> None:
    if len(texts) != len(labels):
        raise SchemaError(f"{len(texts)} texts but {len(labels)} labels; give one label per text")
