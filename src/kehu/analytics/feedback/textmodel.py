"""The trainable text model shared by the category and sentiment models.

TF-IDF n-grams and a logistic regression: a linear model whose weights can
be read back ("烂" pushes towards *freshness*), fast to fit on a team's few
thousand labelled texts, and with probabilities that are the model's own
(log-loss) output rather than a score calibrated afterwards.

Saved models are the one file format of :mod:`kehu.analytics.estimator`
(JSON and numpy arrays): the vocabulary, the idf weights and the
coefficients, never pickled code, so a model file from anyone can be loaded
safely.  The JSON files of older versions are still read.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from kehu.analytics.estimator import SavedEstimator
from kehu.analytics.feedback.text import clean, detect_language, normalise, strip_accents
from kehu.exceptions import ConfigError, ModelFileError, SchemaError

#: the format of the JSON files older kehu versions wrote (still read by :meth:`TextModel.load`)
_JSON_FORMAT = "kehu.feedback.textmodel"

#: (analyzer, ngram_range) per language family
_ANALYZERS: dict[str, list[tuple[str, tuple[int, int]]]] = {
    "zh": [("char", (1, 3))],
    "en": [("word", (1, 2)), ("char_wb", (2, 5))],
}


def _prep_zh(text: str) -> str:
    return normalise(text, "zh")


def _prep_en(text: str) -> str:
    return strip_accents(normalise(text, "en"))


_PREPROCESSORS = {"zh": _prep_zh, "en": _prep_en}


class TextModel(SavedEstimator):
    """TF-IDF + logistic regression text classifier (base of the feedback models).

    Parameters
    ----------
    labels
        Allowed labels in output order; ``None`` takes the sorted labels of ``fit``.
    lang
        ``"zh"`` (character 1-3-grams), ``"en"`` (words 1-2 and characters
        2-5, for any space-delimited language) or ``"auto"``: the language of
        most training texts.
    C
        Inverse regularisation strength of the logistic regression.
    class_weight
        ``"balanced"`` weighs classes inversely to their frequency (better
        macro-F1 on skewed labels, probabilities shifted towards rare
        classes); ``None`` keeps the probabilities calibrated to the data.
    min_df
        Minimum number of texts an n-gram must appear in; ``None`` is 2 from
        200 training texts on and 1 below.
    max_features
        Cap on the n-grams kept per analyzer (the most frequent).
    """

    kind: ClassVar[str] = "text_model"
    noun = "text model"
    fitted_attribute = "coef_"
    fit_call = "fit(texts, labels) or load(path)"

    def __init__(
        self,
        labels: Sequence[Any] | None = None,
        *,
        lang: str = "auto",
        C: float = 4.0,
        class_weight: str | None = "balanced",
        min_df: int | None = None,
        max_features: int | None = 200_000,
    ):
        self.labels = labels
        self.lang = lang
        self.C = C
        self.class_weight = class_weight
        self.min_df = min_df
        self.max_features = max_features

    def clone(self) -> Self:
        """An unfitted copy with the same parameters."""
        return type(self)(**self.get_params())

    # --- fitting ---------------------------------------------------------------------
    def fit(self, texts: Iterable[Any], labels: Iterable[Any]) -> Self:
        """Learn the vocabulary and the weights from ``texts`` and their ``labels``."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self._check_params()
        docs = [clean(t) for t in texts]
        y = self._encode_labels(list(labels))
        if len(docs) != len(y):
            raise SchemaError(f"{len(docs)} texts but {len(y)} labels; give one label per text")
        allowed = self._allowed_labels()
        if allowed is not None:
            bad = [(i, v) for i, v in enumerate(y) if v not in allowed]
            if bad:
                i, v = bad[0]
                raise ConfigError(
                    f"label {v!r} at position {i} is not one of the allowed labels "
                    f"{list(allowed)} ({len(bad)} such labels)"
                )
            classes = [c for c in allowed if c in set(y)]
        else:
            classes = sorted(set(y), key=str)
        if len(classes) < 2:
            raise SchemaError(f"need at least two different labels to train, got {classes}")

        lang = self.lang
        if lang == "auto":
            zh = sum(detect_language(d) == "zh" for d in docs)
            lang = "zh" if zh * 2 >= len(docs) else "en"
        min_df = self.min_df if self.min_df is not None else (2 if len(docs) >= 200 else 1)
        vectorizers = [
            TfidfVectorizer(
                analyzer=analyzer,
                ngram_range=ngrams,
                preprocessor=_PREPROCESSORS[lang],
                min_df=min_df,
                max_features=self.max_features,
                sublinear_tf=True,
                dtype=np.float32,
            )
            for analyzer, ngrams in _ANALYZERS[lang]
        ]
        x = _stack([v.fit_transform(docs) for v in vectorizers])
        index = {c: k for k, c in enumerate(classes)}
        # saga suits L2-normalised TF-IDF rows: 5-10x faster than lbfgs here, same optimum
        model = LogisticRegression(
            C=self.C, class_weight=self.class_weight, solver="saga", max_iter=1000, random_state=0
        )
        model.fit(x, np.array([index[v] for v in y]))

        self.lang_ = lang
        self.classes_ = np.array(classes, dtype=object)
        self.unseen_labels_ = [c for c in (self.labels or ()) if c not in index]
        self.vectorizers_ = vectorizers
        self.coef_ = model.coef_.astype(np.float64)
        self.intercept_ = model.intercept_.astype(np.float64)
        return self

    # --- prediction --------------------------------------------------------------------
    def predict_proba(self, texts: Iterable[Any]) -> np.ndarray:
        """Class probabilities, one row per text, columns in ``classes_`` order."""
        z = self._decision(texts)
        if self.coef_.shape[0] == 1:  # binary: one weight vector for classes_[1]
            p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, texts: Iterable[Any]) -> np.ndarray:
        """The most probable label of each text."""
        proba = self.predict_proba(texts)
        return self.classes_[proba.argmax(axis=1)]

    def top_features(self, n: int = 10) -> dict[Any, list[tuple[str, float]]]:
        """The ``n`` n-grams that push hardest towards each class, with their weights."""
        self._check_fitted()
        names = self._feature_names()
        coef = self.coef_
        if coef.shape[0] == 1:
            coef = np.vstack([-coef[0], coef[0]])
        out = {}
        for k, label in enumerate(self.classes_):
            top = np.argsort(-coef[k], kind="stable")[:n]
            out[label] = [(names[j], round(float(coef[k, j]), 4)) for j in top]
        return out

    def explain(self, text: Any, n: int = 5) -> list[tuple[str, float]]:
        """The n-grams of ``text`` that contributed most to its predicted class."""
        x = self._transform([text])
        k = int(self.predict_proba([text])[0].argmax())
        coef = self.coef_
        w = coef[0] * (1 if k == 1 else -1) if coef.shape[0] == 1 else coef[k]
        row = x.getrow(0).tocoo()
        contrib = row.data * w[row.col]
        names = self._feature_names()
        order = np.argsort(-contrib, kind="stable")[:n]
        return [(names[row.col[j]], round(float(contrib[j]), 4)) for j in order if contrib[j] > 0]

    # --- persistence (kehu.analytics.estimator) ------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {
            "lang_": self.lang_,
            "classes_": list(self.classes_),
            "unseen_labels_": self.unseen_labels_,
            "vectorizers_": [
                {"analyzer": v.analyzer, "ngram_range": list(v.ngram_range)}
                for v in self.vectorizers_
            ],
        }
        arrays = {"coef_": self.coef_, "intercept_": self.intercept_}
        for k, v in enumerate(self.vectorizers_):
            arrays[f"vocabulary_{k}"] = v.get_feature_names_out().astype(str)
            arrays[f"idf_{k}"] = v.idf_
        return state, arrays

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.lang_ = state["lang_"]
        self.classes_ = np.array(state["classes_"], dtype=object)
        self.unseen_labels_ = list(state["unseen_labels_"])
        self.vectorizers_ = []
        for k, spec in enumerate(state["vectorizers_"]):
            vocab = {str(term): j for j, term in enumerate(arrays[f"vocabulary_{k}"])}
            v = TfidfVectorizer(
                analyzer=spec["analyzer"],
                ngram_range=tuple(spec["ngram_range"]),
                preprocessor=_PREPROCESSORS[self.lang_],
                vocabulary=vocab,
                sublinear_tf=True,
                dtype=np.float32,
            )
            v.idf_ = np.asarray(arrays[f"idf_{k}"], dtype=np.float64)
            self.vectorizers_.append(v)
        self.coef_ = np.asarray(arrays["coef_"], dtype=np.float64)
        self.intercept_ = np.asarray(arrays["intercept_"], dtype=np.float64)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save`, or the JSON file of an older kehu.

        Older versions saved text models as JSON (gzip-compressed for ``.gz``):
        plain data, so still read, e.g. a workspace's trained category model.
        """
        path = Path(path)
        if path.is_file():
            with path.open("rb") as fh:
                head = fh.read(4)
            if head != b"PK\x03\x04":
                return cls._load_json(path)
        return super().load(path)

    @classmethod
    def _load_json(cls, path: Path) -> Self:
        """A model from the JSON of older kehu versions (the same state, written as lists)."""
        raw = path.read_bytes()
        try:
            doc = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"{path} is not a kehu text model file: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != _JSON_FORMAT:
            raise ModelFileError(f"{path} is not a kehu text model file")
        if doc.get("version") != 1:
            raise ModelFileError(
                f"{path}: model format version {doc.get('version')} is not supported"
            )
        if doc.get("kind") != cls._kind():
            raise ModelFileError(f"{path} holds a {doc.get('kind')}, not a {cls._kind()}")
        try:
            model = cls(**doc["params"])
            arrays = {
                "coef_": np.asarray(doc["coef_"]),
                "intercept_": np.asarray(doc["intercept_"]),
            }
            for k, spec in enumerate(doc["vectorizers_"]):
                arrays[f"vocabulary_{k}"] = np.asarray(spec["vocabulary"], dtype=str)
                arrays[f"idf_{k}"] = np.asarray(spec["idf"], dtype=np.float64)
            model._restore(doc, arrays)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"the text model in {path} is incomplete: {exc}") from None
        return model

    # --- internals ---------------------------------------------------------------------
    def _encode_labels(self, labels: list[Any]) -> list[Any]:
        for i, v in enumerate(labels):
            if clean(v) == "":
                raise SchemaError(f"label at position {i} is missing")
        return [v.item() if isinstance(v, np.generic) else v for v in labels]

    def _allowed_labels(self) -> list[Any] | None:
        return None if self.labels is None else list(self.labels)

    def _check_params(self) -> None:
        if self.lang not in ("auto", *_ANALYZERS):
            raise ConfigError(f"lang must be 'auto', 'zh' or 'en', got {self.lang!r}")
        if not self.C > 0:
            raise ConfigError(f"C must be positive, got {self.C!r}")
        if self.class_weight not in (None, "balanced"):
            raise ConfigError(f"class_weight must be 'balanced' or None, got {self.class_weight!r}")

    def _transform(self, texts: Iterable[Any]) -> sp.csr_matrix:
        self._check_fitted()
        docs = [clean(t) for t in texts]
        if not docs:  # the vectorizers refuse zero rows
            return sp.csr_matrix((0, self.coef_.shape[1]), dtype=np.float32)
        return _stack([v.transform(docs) for v in self.vectorizers_])

    def _decision(self, texts: Iterable[Any]) -> np.ndarray:
        x = self._transform(texts)
        return np.asarray(x @ self.coef_.T) + self.intercept_

    def _feature_names(self) -> list[str]:
        return [name for v in self.vectorizers_ for name in v.get_feature_names_out()]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def _stack(blocks: list[sp.csr_matrix]) -> sp.csr_matrix:
    """Side-by-side TF-IDF blocks, rescaled so that every row keeps unit norm.

    Each block's rows have unit norm; dividing by sqrt(number of blocks) keeps
    the rows of the whole on the unit sphere, where saga's step size is right.
    """
    x = sp.hstack(blocks).tocsr()
    return x if len(blocks) == 1 else (x / np.sqrt(len(blocks))).astype(np.float32)
