"""Feedback and surveys: automatic category and sentiment, training, reports, NPS and CSAT.

Feedback is classified when it is recorded: sentiment (and the language)
from the zh/en lexicons of :func:`kehu.analytics.feedback.classify_feedback`;
the category from the workspace's trained model when there is one
(:func:`train_category_model`), else from the lexicon with the workspace's
category list.  A category set by a person (``category_source = "user"``) is
a label: those rows are what the model is trained on.

Workspace files (beside ``kehu.db``):

- ``feedback/categories.json``: the category list, as
  :func:`kehu.analytics.feedback.resolve_categories` reads it;
- ``feedback/category_model.json.gz``: the trained
  :class:`~kehu.analytics.feedback.FeedbackClassifier`.

Reports and survey scores are single SQL aggregates (``GROUP BY`` on the
store), scoped to the actor's customers like every read.
"""

from kehu.services.feedback.category import (
    MODEL_FILE,
    categories,
    category_model,
    category_names,
    delete_category_model,
    set_categories,
    train_category_model,
)
from kehu.services.feedback.report import CLASS_COLUMNS, feedback_report
from kehu.services.feedback.rows import (
    get_feedback,
    list_feedback,
    reclassify_feedback,
    record_feedback,
    update_feedback,
)
from kehu.services.feedback.surveys import SURVEYS, list_answers, record_answer, survey_scores

__all__ = [
    "CLASS_COLUMNS",
    "MODEL_FILE",
    "SURVEYS",
    "categories",
    "category_model",
    "category_names",
    "delete_category_model",
    "feedback_report",
    "get_feedback",
    "list_answers",
    "list_feedback",
    "reclassify_feedback",
    "record_answer",
    "record_feedback",
    "set_categories",
    "survey_scores",
    "train_category_model",
    "update_feedback",
]
