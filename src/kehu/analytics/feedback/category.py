"""Feedback categories: the configurable keyword lists and the trainable classifier.

``categories`` options merge with the defaults of
:data:`~kehu.analytics.feedback.lexicon.CATEGORY_TERMS` one category at a
time: a new name adds a category, a default name with term lists replaces
that category's terms for the languages given, and ``None`` removes it::

    {"freshness": {"zh": ["新鲜", "烂"], "en": ["fresh"]},   # replace
     "hygiene": {"zh": ["卫生", "不干净"]},                  # add
     "price": None}                                          # remove
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from kehu.analytics.feedback.lexicon import CATEGORY_TERMS, OTHER
from kehu.analytics.feedback.scoring import Lexicon
from kehu.analytics.feedback.text import LANGS
from kehu.analytics.feedback.textmodel import TextModel
from kehu.exceptions import ConfigError

#: the default category names, most specific first (order breaks ties)
DEFAULT_CATEGORIES: tuple[str, ...] = (*CATEGORY_TERMS, OTHER)


def resolve_categories(
    categories: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, list[str]]]:
    """The default keyword lists merged with ``categories`` (see the module docstring).

    Raises
    ------
    ConfigError
        For a spec that is not a mapping, a key other than ``zh``/``en``, a
        term list that is not a list of non-empty strings, or terms for the
        reserved fallback category ``other``.
    """
    merged = {
        name: {k: list(v) for k, v in by_lang.items()} for name, by_lang in CATEGORY_TERMS.items()
    }
    if categories is None:
        return merged
    if not isinstance(categories, Mapping):
        raise ConfigError(
            "categories must be a mapping of name -> {zh: [...], en: [...]}, "
            f"got {type(categories).__name__}"
        )
    for name, spec in categories.items():
        where = f"categories[{name!r}]"
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"category names must be non-empty strings, got {name!r}")
        if name == OTHER:
            raise ConfigError(
                f"{where}: {OTHER!r} is the fallback for text that matches no keyword "
                "and takes no terms"
            )
        if spec is None:
            merged.pop(name, None)
            continue
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"{where} must be a mapping with keys zh and/or en, got {type(spec).__name__}"
            )
        unknown = sorted(set(spec) - set(LANGS))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; expected zh and/or en"
            )
        entry = merged.setdefault(name, {})
        for lang, terms in spec.items():
            entry[lang] = _check_terms(terms, f"{where}[{lang!r}]")
    if not merged:
        raise ConfigError("categories: every category was removed; keep at least one")
    return merged


def _check_terms(terms: Any, where: str) -> list[str]:
    if isinstance(terms, str) or not isinstance(terms, Sequence):
        raise ConfigError(f"{where} must be a list of keywords, got {type(terms).__name__}")
    for i, term in enumerate(terms):
        if not isinstance(term, str) or not term.strip():
            raise ConfigError(f"{where}[{i}] must be a non-empty string, got {term!r}")
    return [t.strip() for t in terms]


@lru_cache(maxsize=8)
def default_lexicon(lang: str) -> Lexicon:
    """The compiled default lexicon of ``lang`` (built once per process)."""
    return Lexicon.build(lang, resolve_categories())


class FeedbackClassifier(TextModel):
    """Feedback category classifier trained on the team's own labelled feedback.

    TF-IDF of character 1-3-grams (Chinese) or of words 1-2 plus characters
    2-5 (English and other space-delimited languages), then a multinomial
    logistic regression whose probabilities are its calibrated output.

    Parameters
    ----------
    labels
        The allowed categories, in the order of ``predict_proba`` columns;
        ``None`` takes the sorted labels seen in ``fit``.  A label with no
        training example is kept out of the model and listed in
        ``unseen_labels_``.
    lang, C, class_weight, min_df, max_features
        See :class:`~kehu.analytics.feedback.textmodel.TextModel`.

    Examples
    --------
    >>> clf = FeedbackClassifier().fit(texts, labels)      # doctest: +SKIP
    >>> clf.predict(["菜都烂了"])                            # doctest: +SKIP
    array(['freshness'], dtype=object)
    >>> clf.save("feedback_model.zip")                       # doctest: +SKIP
    """

    kind = "feedback_classifier"
