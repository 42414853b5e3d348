"""Feedback text analytics: category and sentiment for Chinese and English.

- :func:`classify_feedback`: the default, explainable lexicon rules (keywords
  per category, sentiment with negation, degree words and contrast), with the
  category list configurable;
- :class:`FeedbackClassifier` and :class:`SentimentModel`: TF-IDF + logistic
  regression models trained on the team's own labelled feedback, saved as JSON;
- :mod:`~kehu.analytics.feedback.evaluate`: accuracy / macro-F1 on a split or
  in cross-validation, against majority and rating-only baselines.
"""

from kehu.analytics.feedback.category import (
    DEFAULT_CATEGORIES,
    FeedbackClassifier,
    resolve_categories,
)
from kehu.analytics.feedback.classify import classify_feedback
from kehu.analytics.feedback.sentiment import SENTIMENTS, SentimentModel
from kehu.analytics.feedback.text import detect_language

__all__ = [
    "DEFAULT_CATEGORIES",
    "SENTIMENTS",
    "FeedbackClassifier",
    "SentimentModel",
    "classify_feedback",
    "detect_language",
    "resolve_categories",
]
