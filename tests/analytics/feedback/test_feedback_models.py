"""The trainable FeedbackClassifier and SentimentModel on small hand-made data."""

from __future__ import annotations

import gzip
import json
import pickle

import numpy as np
import pytest

from kehu.analytics.estimator import read_model_file
from kehu.analytics.feedback import FeedbackClassifier, SentimentModel
from kehu.exceptions import (
    ConfigError,
    ModelFileError,
    NotFittedError,
    NotFoundError,
    SchemaError,
)

ZH = [
    ("菜都烂了", "freshness"),
    ("蔬菜不新鲜", "freshness"),
    ("水果烂了好几个", "freshness"),
    ("叶子都蔫了不新鲜", "freshness"),
    ("送货太慢了", "delivery"),
    ("配送慢，等了两个小时", "delivery"),
    ("送货慢得要命", "delivery"),
    ("快递太慢", "delivery"),
    ("价格太贵了", "price"),
    ("比超市贵", "price"),
    ("价格贵不划算", "price"),
    ("太贵了吧", "price"),
]
EN = [
    ("the apples were rotten", "freshness"),
    ("rotten tomatoes again", "freshness"),
    ("the lettuce was wilted and rotten", "freshness"),
    ("delivery was very late", "delivery"),
    ("late delivery again", "delivery"),
    ("the driver was two hours late", "delivery"),
    ("far too expensive", "price"),
    ("expensive compared with the shop", "price"),
    ("prices are expensive now", "price"),
]


def fit_zh(**kw):
    texts, labels = zip(*ZH, strict=True)
    return FeedbackClassifier(**kw).fit(list(texts), list(labels))


def test_fit_predict_zh():
    clf = fit_zh()
    assert clf.lang_ == "zh"
    assert list(clf.classes_) == ["delivery", "freshness", "price"]
    assert list(clf.predict(["苹果烂了", "送货好慢", "真贵"])) == ["freshness", "delivery", "price"]
    proba = clf.predict_proba(["苹果烂了", "", None])
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[0].argmax() == 1
    assert clf.predict([]).shape == (0,)


def test_fit_predict_en_auto_language():
    texts, labels = zip(*EN, strict=True)
    clf = FeedbackClassifier().fit(texts, labels)
    assert clf.lang_ == "en"
    assert list(clf.predict(["rotten pears", "it came late", "too expensive"])) == [
        "freshness",
        "delivery",
        "price",
    ]


def test_labels_fix_the_order_and_list_unseen_ones():
    clf = fit_zh(labels=["price", "freshness", "delivery", "packaging"])
    assert list(clf.classes_) == ["price", "freshness", "delivery"]
    assert clf.unseen_labels_ == ["packaging"]
    assert clf.predict_proba(["真贵"])[0].argmax() == 0


def test_top_features_and_explain():
    clf = fit_zh()
    top = clf.top_features(5)
    assert set(top) == {"delivery", "freshness", "price"}
    assert any("贵" in term for term, _ in top["price"])
    assert all(w > 0 for _, w in top["freshness"])
    why = clf.explain("苹果烂了")
    assert why and any("烂" in term for term, _ in why)


@pytest.mark.parametrize("name", ["model.json", "model.json.gz"])
def test_save_and_load_round_trip(tmp_path, name):
    clf = fit_zh()
    path = clf.save(tmp_path / name)
    doc, _ = read_model_file(path)
    assert doc["kind"] == "feedback_classifier" and doc["format"] == "kehu.model"
    loaded = FeedbackClassifier.load(path)
    texts = ["苹果烂了", "送货好慢", "真贵", "没见过的字"]
    np.testing.assert_allclose(
        loaded.predict_proba(texts), clf.predict_proba(texts), rtol=0, atol=1e-12
    )
    assert list(loaded.classes_) == list(clf.classes_)
    assert loaded.get_params() == clf.get_params()


@pytest.mark.parametrize("name", ["old.json", "old.json.gz"])
def test_the_json_of_older_versions_is_still_read(tmp_path, name):
    clf = fit_zh()
    state, arrays = clf._state()
    doc = {
        "format": "kehu.feedback.textmodel",
        "version": 1,
        "kind": "feedback_classifier",
        "params": clf.get_params(),
        **state,
        "vectorizers_": [
            {
                **spec,
                "vocabulary": arrays[f"vocabulary_{k}"].tolist(),
                "idf": arrays[f"idf_{k}"].tolist(),
            }
            for k, spec in enumerate(state["vectorizers_"])
        ],
        "coef_": clf.coef_.tolist(),
        "intercept_": clf.intercept_.tolist(),
    }
    data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    texts = ["苹果烂了", "送货好慢", "真贵"]
    loaded = FeedbackClassifier.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(texts), clf.predict_proba(texts))
    with pytest.raises(ModelFileError, match="holds a feedback_classifier"):
        SentimentModel.load(path)


def test_save_is_atomic_and_pickles_are_refused(tmp_path):
    clf = fit_zh()
    path = clf.save(tmp_path / "model.zip")
    before = path.read_bytes()
    clf.coef_ = np.array([[object()]], dtype=object)  # cannot be written
    with pytest.raises(TypeError):
        clf.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.zip"]
    assert FeedbackClassifier.load(path).classes_.tolist() == fit_zh().classes_.tolist()
    pkl = tmp_path / "model.pkl"
    pkl.write_bytes(pickle.dumps({"format": "kehu.model"}))
    with pytest.raises(ModelFileError, match="pickle"):
        FeedbackClassifier.load(pkl)


def test_load_errors(tmp_path):
    with pytest.raises(NotFoundError, match="not found"):
        FeedbackClassifier.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    with pytest.raises(ConfigError, match="not a kehu text model"):
        FeedbackClassifier.load(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ConfigError, match="not a kehu text model"):
        FeedbackClassifier.load(other)
    sentiment = SentimentModel().fit(["好吃", "难吃", "很好吃", "太难吃"], [1, 0, 1, 0])
    path = sentiment.save(tmp_path / "sentiment.json")
    with pytest.raises(ConfigError, match="holds a sentiment_model"):
        FeedbackClassifier.load(path)


def test_not_fitted():
    clf = FeedbackClassifier()
    for call in (
        lambda: clf.predict(["x"]),
        lambda: clf.predict_proba(["x"]),
        lambda: clf.top_features(),
        lambda: clf.save("never.json"),
    ):
        with pytest.raises(NotFittedError, match="not fitted"):
            call()


def test_bad_training_input():
    with pytest.raises(SchemaError, match="2 texts but 1 labels"):
        FeedbackClassifier().fit(["a", "b"], ["x"])
    with pytest.raises(SchemaError, match="at least two different labels"):
        FeedbackClassifier().fit(["a", "b"], ["x", "x"])
    with pytest.raises(SchemaError, match="position 1 is missing"):
        FeedbackClassifier().fit(["a", "b"], ["x", None])
    with pytest.raises(ConfigError, match="label 'y' at position 1 is not one of"):
        FeedbackClassifier(labels=["x", "z"]).fit(["a", "b"], ["x", "y"])
    with pytest.raises(ConfigError, match="lang"):
        FeedbackClassifier(lang="pt").fit(["a", "b"], ["x", "y"])
    with pytest.raises(ConfigError, match="C must be positive"):
        FeedbackClassifier(C=0).fit(["a", "b"], ["x", "y"])
    with pytest.raises(ConfigError, match="class_weight"):
        FeedbackClassifier(class_weight="auto").fit(["a", "b"], ["x", "y"])


def test_clone_is_unfitted_with_same_params():
    clf = fit_zh(C=2.0)
    copy = clf.clone()
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "coef_")
    assert "C=2.0" in repr(copy)


# --- sentiment ---------------------------------------------------------------------------

SENT = [
    "很好吃",
    "非常满意",
    "送货快，好评",
    "味道不错",
    "太难吃了",
    "很失望",
    "送得太慢了",
    "差评",
]


def test_sentiment_numeric_and_named_labels():
    model = SentimentModel().fit(SENT, [1, 1, 1, 1, 0, 0, 0, 0])
    assert list(model.classes_) == ["negative", "positive"]
    assert model.unseen_labels_ == []
    assert list(model.predict(["好吃，满意", "难吃，失望"])) == ["positive", "negative"]
    score = model.score(["好吃，满意", "难吃，失望"])
    assert score[0] > 0 > score[1] and np.all(np.abs(score) <= 1)
    named = SentimentModel().fit(SENT, ["positive"] * 4 + ["negative"] * 4)
    np.testing.assert_allclose(named.predict_proba(SENT), model.predict_proba(SENT))


def test_sentiment_three_classes_from_minus_one_zero_one():
    texts = [*SENT, "还行", "一般般", "还可以"]
    model = SentimentModel().fit(texts, [1, 1, 1, 1, -1, -1, -1, -1, 0, 0, 0])
    assert list(model.classes_) == ["negative", "neutral", "positive"]
    assert model.predict_proba(["还行"]).shape == (1, 3)


def test_sentiment_bad_labels():
    with pytest.raises(ConfigError, match="0/1 or -1/0/1"):
        SentimentModel().fit(["a", "b"], [1, 2])
    with pytest.raises(ConfigError, match="mix numbers and names"):
        SentimentModel().fit(["a", "b"], [1, "negative"])
    with pytest.raises(ConfigError, match="not one of"):
        SentimentModel().fit(["a", "b"], ["good", "bad"])
    with pytest.raises(ConfigError, match="must be among"):
        SentimentModel(labels=["good", "bad"]).fit(["a", "b"], ["good", "bad"])
