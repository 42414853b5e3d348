"""Sentiment: the trainable :class:`SentimentModel` (the lexicon rules are in ``scoring``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from kehu.analytics.feedback.textmodel import TextModel
from kehu.exceptions import ConfigError

SENTIMENTS = ("negative", "neutral", "positive")


class SentimentModel(TextModel):
    """Sentiment classifier trained on the team's own labelled feedback.

    The same TF-IDF + logistic regression as
    :class:`~kehu.analytics.feedback.category.FeedbackClassifier`, with the
    labels ``negative`` / ``neutral`` / ``positive``.  ``fit`` also takes
    numbers: 0/1 (negative/positive, as in ChnSentiCorp) or -1/0/1.

    Examples
    --------
    >>> model = SentimentModel().fit(["送货很快", "太慢了"], [1, 0])  # doctest: +SKIP
    >>> model.predict(["很快"]), model.score(["很快"])                # doctest: +SKIP
    """

    kind = "sentiment_model"

    def score(self, texts: Iterable[Any]) -> np.ndarray:
        """P(positive) - P(negative) per text, in [-1, 1]."""
        proba = self.predict_proba(texts)
        classes = list(self.classes_)
        pos = proba[:, classes.index("positive")] if "positive" in classes else 0.0
        neg = proba[:, classes.index("negative")] if "negative" in classes else 0.0
        return np.asarray(pos - neg, dtype=np.float64)

    def _allowed_labels(self) -> list[Any]:
        allowed = list(SENTIMENTS if self.labels is None else self.labels)
        unknown = [v for v in allowed if v not in SENTIMENTS]
        if unknown:
            raise ConfigError(f"SentimentModel labels must be among {SENTIMENTS}, got {unknown}")
        return allowed

    def _encode_labels(self, labels: list[Any]) -> list[Any]:
        values = super()._encode_labels(labels)
        numeric = [v for v in values if not isinstance(v, str)]
        if not numeric:
            return values
        if len(numeric) != len(values):
            raise ConfigError("sentiment labels mix numbers and names; use one or the other")
        seen = {float(v) for v in values}
        if seen <= {0.0, 1.0}:
            names = {0.0: "negative", 1.0: "positive"}
        elif seen <= {-1.0, 0.0, 1.0}:
            names = {-1.0: "negative", 0.0: "neutral", 1.0: "positive"}
        else:
            raise ConfigError(f"numeric sentiment labels must be 0/1 or -1/0/1, got {sorted(seen)}")
        return [names[float(v)] for v in values]
