"""Evaluation helpers: hand-computed baselines and reports."""

from __future__ import annotations

import numpy as np
import pytest

from kehu.analytics.feedback import FeedbackClassifier
from kehu.analytics.feedback.evaluate import (
    cross_validate,
    lexicon_sentiment_report,
    rating_baseline,
    split_report,
)
from kehu.exceptions import SchemaError


def test_rating_baseline_most_frequent_label_per_rating():
    ratings = [1, 1, 1, 5, 5, 3, 3]
    labels = ["late", "late", "broken", "ok", "ok", "broken", "late"]
    # rating 3 is a tie (broken 1, late 1): first in sort order; unseen rating 4: overall majority
    out = rating_baseline(ratings, labels, [1, 5, 3, 4])
    assert list(out) == ["late", "ok", "broken", "late"]


def test_lexicon_report_hand_computed():
    texts = ["很新鲜", "不新鲜", "今天下雨", "太慢了"]
    report = lexicon_sentiment_report(texts, [1, 0, 1, 1])
    # predictions: positive, negative, neutral, negative
    assert report["n"] == 4
    assert report["coverage"] == pytest.approx(3 / 4)
    assert report["accuracy_decided"] == pytest.approx(2 / 3)
    assert report["accuracy"] == pytest.approx(2 / 4)
    # negative: P=1/2, R=1 -> 2/3; positive: P=1, R=1/3 -> 1/2
    assert report["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    with pytest.raises(SchemaError, match="position 1"):
        lexicon_sentiment_report(["a", "b"], [1, 2])
    with pytest.raises(SchemaError, match="2 texts but 1 labels"):
        lexicon_sentiment_report(["a", "b"], [1])


def _toy(n_per_class=12):
    texts, labels, ratings = [], [], []
    for i in range(n_per_class):
        texts += [f"菜烂了{i}", f"送货慢{i}", f"太贵了{i}"]
        labels += ["freshness", "delivery", "price"]
        ratings += [1, 1, 2]
    return texts, labels, ratings


def test_split_report_on_separable_data():
    texts, labels, _ = _toy()
    report = split_report(FeedbackClassifier(), texts, labels, test_size=0.25, seed=1)
    assert (report["n_train"], report["n_test"]) == (27, 9)
    assert report["accuracy"] == 1.0 and report["macro_f1"] == 1.0
    assert report["per_class_f1"] == {"delivery": 1.0, "freshness": 1.0, "price": 1.0}


def test_cross_validate_against_baselines():
    texts, labels, ratings = _toy()
    cv = cross_validate(FeedbackClassifier(), texts, labels, ratings=ratings, folds=3, seed=0)
    assert set(cv) == {"model", "majority", "rating"}
    assert cv["model"]["macro_f1"] == 1.0
    assert len(cv["model"]["fold_macro_f1"]) == 3
    # majority: one class of three predicted, F1 = 2*(1/3)/(1/3+1) = 0.5 for it, 0 for the others
    assert cv["majority"]["macro_f1"] == pytest.approx(0.5 / 3)
    # rating 2 is always price; rating 1 is a tie broken to "delivery"
    assert cv["rating"]["per_class_f1"]["price"] == 1.0
    assert cv["rating"]["per_class_f1"]["freshness"] == 0.0
    assert np.isclose(cv["rating"]["per_class_f1"]["delivery"], 2 * 0.5 / 1.5)
    no_rating = cross_validate(FeedbackClassifier(), texts, labels, folds=3)
    assert set(no_rating) == {"model", "majority"}
    with pytest.raises(SchemaError, match="ratings"):
        cross_validate(FeedbackClassifier(), texts, labels, ratings=[1, 2], folds=3)
