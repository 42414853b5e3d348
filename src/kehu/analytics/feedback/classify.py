"""The default, lexicon-based category and sentiment of feedback texts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from kehu.analytics.feedback.category import default_lexicon, resolve_categories
from kehu.analytics.feedback.lexicon import CATEGORY_NAMES_ZH, NEUTRAL_BAND, OTHER
from kehu.analytics.feedback.scoring import Lexicon, analyse
from kehu.analytics.feedback.text import check_lang, clean, detect_language

COLUMNS = (
    "lang",
    "category",
    "category_zh",
    "category_score",
    "categories",
    "sentiment",
    "sentiment_score",
    "category_terms",
    "sentiment_terms",
)


def classify_feedback(
    texts: Iterable[Any],
    lang: str | None = None,
    categories: Mapping[str, Any] | None = None,
    *,
    neutral_band: float = NEUTRAL_BAND,
) -> pd.DataFrame:
    """Category and sentiment of each feedback text from the zh/en lexicons.

    Parameters
    ----------
    texts
        Feedback texts (list, pandas/polars Series, Arrow array...); missing
        values are treated as empty text.  A pandas Series keeps its index.
    lang
        ``"zh"``, ``"en"`` or ``None``: detect per text from the share of
        CJK characters.
    categories
        Keyword lists merged with the defaults, see
        :func:`~kehu.analytics.feedback.category.resolve_categories`.
    neutral_band
        Raw sentiment scores closer to 0 than this are ``neutral``.

    Returns
    -------
    pandas.DataFrame
        One row per text: ``lang``; ``category`` (the best-scoring category,
        ``"other"`` when no keyword matched), ``category_zh``,
        ``category_score`` (its share of the keyword weight, 0 for other),
        ``categories`` (every matched category, best first); ``sentiment``
        (positive / neutral / negative) and ``sentiment_score`` in [-1, 1];
        ``category_terms`` and ``sentiment_terms``, the matches behind them
        (``"不+新鲜(-1)"`` reads: 新鲜, negated, counted -1).

    Examples
    --------
    >>> classify_feedback(["送货很快", "菜不新鲜"])[["category", "sentiment"]]
             category sentiment
    0  delivery_speed  positive
    1       freshness  negative
    """
    lang = check_lang(lang)
    index = texts.index if isinstance(texts, pd.Series) else None
    docs = [clean(t) for t in texts]
    lexicons = _lexicons(categories)
    names_zh = {**CATEGORY_NAMES_ZH}
    rows = []
    for doc in docs:
        doc_lang = lang or detect_language(doc)
        lex = lexicons[doc_lang]
        a = analyse(doc, lex)
        ranked = sorted(
            a.category_weights,
            key=lambda c: (-a.category_weights[c], lex.categories.index(c)),
        )
        total = sum(a.category_weights.values())
        best = ranked[0] if ranked else OTHER
        rows.append(
            (
                doc_lang,
                best,
                names_zh.get(best, best),
                a.category_weights[best] / total if ranked else 0.0,
                ranked,
                a.sentiment(neutral_band),
                a.score,
                a.category_terms,
                a.sentiment_terms,
            )
        )
    out = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    out["category_score"] = out["category_score"].astype("float64")
    out["sentiment_score"] = out["sentiment_score"].astype("float64")
    if index is not None:
        out.index = index
    return out


def _lexicons(categories: Mapping[str, Any] | None) -> dict[str, Lexicon]:
    if categories is None:
        return {lang: default_lexicon(lang) for lang in ("zh", "en")}
    merged = resolve_categories(categories)
    return {lang: Lexicon.build(lang, merged) for lang in ("zh", "en")}
