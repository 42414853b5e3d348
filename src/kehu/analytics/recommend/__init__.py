"""Recommendations ("next products to offer") and "bought together" rules.

- :class:`Recommender`: EASE or item-kNN on implicit feedback, with segment and
  global popularity fallbacks, a re-buy list for consumables and a per-customer
  opt-out of personalisation;
- :func:`evaluate_split`: precision/recall/NDCG@k and coverage on a time split
  against global and per-segment popularity;
- :func:`association_rules`: support, confidence and lift of item pairs (and
  triples), counted in the engine.
"""

from kehu.analytics.recommend.evaluate import evaluate_split
from kehu.analytics.recommend.interactions import interactions
from kehu.analytics.recommend.recommender import Recommender
from kehu.analytics.recommend.rules import association_rules, frequent_itemsets

__all__ = [
    "Recommender",
    "association_rules",
    "evaluate_split",
    "frequent_itemsets",
    "interactions",
]
