"""Lexicon scoring of one text: sentiment with negation, degree and contrast, and category hits.

The rules, in the order they apply:

1. the text is normalised and the lexicon terms are found, longest first;
2. within a clause (between punctuation), negators and degree words modify
   the next sentiment term if at most two characters (zh) or two words (en)
   of other text lie between: an odd number of negators flips the sign, a
   degree word scales it (and softens it, x0.6, after a negator: "不太好");
3. every contrast word ("但是", "but") multiplies the weight of what follows
   by ``CONTRAST_WEIGHT``; a clause holding a concessive word ("虽然",
   "although") weighs ``CONCESSIVE_WEIGHT``;
4. the raw score is the weighted sum; ``tanh(raw / 2)`` is the score in
   [-1, 1]; ``|raw| < NEUTRAL_BAND`` is neutral;
5. each category keyword adds its clause's weight to its category, times
   ``NEGATIVE_ASPECT_WEIGHT`` when the clause is negative.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from kehu.analytics.feedback import lexicon as lx
from kehu.analytics.feedback.text import Match, TermMatcher, clause_starts, normalise

#: how much unmatched text may separate a modifier from its sentiment term
_MAX_GAP = {"zh": 2, "en": 2}


@dataclass(frozen=True)
class Lexicon:
    """The compiled lexicon of one language with one category configuration."""

    lang: str
    categories: tuple[str, ...]
    term_categories: Mapping[str, tuple[str, ...]]
    polarity: Mapping[str, float]
    negators: frozenset[str]
    degree: Mapping[str, float]
    contrast: frozenset[str]
    concessive: frozenset[str]
    matcher: TermMatcher = field(repr=False)

    @classmethod
    def build(cls, lang: str, categories: Mapping[str, Mapping[str, list[str]]]) -> Lexicon:
        """Compile the default sentiment lexicon of ``lang`` with ``categories``."""
        term_categories: dict[str, list[str]] = {}
        for name, by_lang in categories.items():
            for term in by_lang.get(lang, []):
                key = normalise(term, lang)
                if name not in term_categories.setdefault(key, []):
                    term_categories[key].append(name)
        polarity = {normalise(t, lang): float(v) for t, v in lx.SENTIMENT_TERMS[lang].items()}
        polarity.update(
            {normalise(t, lang): float(v) for t, v in lx.BLOCKER_POLARITY[lang].items()}
        )
        negators = frozenset(lx.NEGATORS[lang])
        degree = dict(lx.DEGREE[lang])
        contrast = frozenset(lx.CONTRAST[lang])
        concessive = frozenset(lx.CONCESSIVE[lang])
        terms = [
            *term_categories,
            *polarity,
            *negators,
            *degree,
            *contrast,
            *concessive,
            *lx.BLOCKERS[lang],
        ]
        return cls(
            lang=lang,
            categories=tuple(categories),
            term_categories={k: tuple(v) for k, v in term_categories.items()},
            polarity=polarity,
            negators=negators,
            degree=degree,
            contrast=contrast,
            concessive=concessive,
            matcher=TermMatcher(terms),
        )


@dataclass
class Analysis:
    """What the lexicon found in one text."""

    raw: float = 0.0
    sentiment_terms: list[str] = field(default_factory=list)
    category_weights: dict[str, float] = field(default_factory=dict)
    category_terms: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Sentiment in [-1, 1]."""
        return math.tanh(self.raw / 2.0)

    def sentiment(self, neutral_band: float = lx.NEUTRAL_BAND) -> str:
        if self.raw >= neutral_band:
            return "positive"
        if self.raw <= -neutral_band:
            return "negative"
        return "neutral"


def analyse(text: object, lex: Lexicon) -> Analysis:
    """Score one text with ``lex`` (see the module docstring for the rules)."""
    norm = normalise(text, lex.lang)
    matches = lex.matcher.find(norm)
    starts = clause_starts(norm, lex.lang)
    clause_of = [bisect.bisect_right(starts, m.start) - 1 for m in matches]
    n_clauses = len(starts)

    concessive = {c for m, c in zip(matches, clause_of, strict=True) if m.term in lex.concessive}
    clause_sum = [0.0] * n_clauses
    out = Analysis()
    weight = 1.0
    negations, boost, mod_end, mod_clause, mod_text = 0, 1.0, -1, -1, ""
    hits: list[tuple[str, str, int, float]] = []  # (category, term, clause, weight)

    for i, (m, clause) in enumerate(zip(matches, clause_of, strict=True)):
        w = weight * (lx.CONCESSIVE_WEIGHT if clause in concessive else 1.0)
        for name in lex.term_categories.get(m.term, ()):
            hits.append((name, m.term, clause, w))
        if mod_end >= 0 and (mod_clause != clause or not _near(norm[mod_end : m.start], lex.lang)):
            negations, boost, mod_end, mod_text = 0, 1.0, -1, ""
        if m.term in lex.contrast:
            weight *= lx.CONTRAST_WEIGHT
            negations, boost, mod_end, mod_text = 0, 1.0, -1, ""
        elif m.term in lex.negators:
            negations += 1
            mod_end, mod_clause, mod_text = m.end, clause, mod_text + m.term + "+"
        elif m.term in lex.degree and not _sentiment_here(m, i, matches, clause_of, lex):
            boost = lx.NEGATED_DEGREE if negations else lex.degree[m.term]
            mod_end, mod_clause, mod_text = m.end, clause, mod_text + m.term + "+"
        elif m.term in lex.polarity:
            value = lex.polarity[m.term] * boost * (-1.0 if negations % 2 else 1.0)
            out.raw += value * w
            clause_sum[clause] += value * w
            out.sentiment_terms.append(f"{mod_text}{m.term}({value:+.2g})")
            negations, boost, mod_end, mod_text = 0, 1.0, -1, ""

    for name, term, clause, w in hits:
        w *= lx.NEGATIVE_ASPECT_WEIGHT if clause_sum[clause] < 0 else 1.0
        out.category_weights[name] = out.category_weights.get(name, 0.0) + w
        if term not in out.category_terms:
            out.category_terms.append(term)
    return out


def _near(gap: str, lang: str) -> bool:
    """Whether a modifier still reaches across ``gap`` to the next term."""
    if lang == "zh":
        return len(gap.replace(" ", "")) <= _MAX_GAP["zh"]
    return len(gap.split()) <= _MAX_GAP["en"]


def _sentiment_here(m: Match, i: int, matches: list[Match], clause_of: list[int], lex) -> bool:
    """Whether a degree word that is also a sentiment term ("好") acts as sentiment.

    It is a degree word only when a sentiment term follows right after it.
    """
    if m.term not in lex.polarity:
        return False
    if i + 1 < len(matches):
        nxt = matches[i + 1]
        if nxt.start == m.end and clause_of[i + 1] == clause_of[i] and nxt.term in lex.polarity:
            return False
    return True
