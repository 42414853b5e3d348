"""Figures of the feedback analytics on the shared real data (the tables of ``docs/feedback.md``).

    python bench/bench_feedback.py [--data ../shared/data] [--json out.json]

1. zh sentiment on ChnSentiCorp hotel reviews and waimai_10k: the default
   lexicon (all texts) and the trainable ``SentimentModel`` on a stratified
   80/20 split (seed 0);
2. complaint class on Olist (Portuguese review text, crowd-labelled class):
   ``FeedbackClassifier`` in stratified 5-fold cross-validation (seed 0) next
   to the majority-class and rating-only baselines, and on an 80/20 split.

zh_reviews has no licence: it is only read here, nothing trained on it is kept.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from kehu.analytics.feedback import FeedbackClassifier, SentimentModel
from kehu.analytics.feedback.evaluate import (
    cross_validate,
    lexicon_sentiment_report,
    split_report,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results: dict[str, dict] = {}

    print(
        "| corpus | n | lexicon coverage | lexicon acc. (decided) | lexicon acc. "
        "| lexicon macro-F1 "
        "| model acc. | model macro-F1 | model fit+predict |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("chnsenticorp_htl_all", "waimai_10k"):
        d = pd.read_parquet(args.data / "zh_reviews" / f"{name}.parquet")
        lex = lexicon_sentiment_report(d["review"], d["label"], lang="zh")
        t = time.perf_counter()
        model = split_report(SentimentModel(), d["review"], d["label"], test_size=0.2, seed=0)
        seconds = time.perf_counter() - t
        results[name] = {"lexicon": lex, "model": model, "model_seconds": seconds}
        print(
            f"| {name} | {lex['n']:,} | {lex['coverage']:.3f} | {lex['accuracy_decided']:.3f} "
            f"| {lex['accuracy']:.3f} | {lex['macro_f1']:.3f} | {model['accuracy']:.3f} "
            f"| {model['macro_f1']:.3f} | {seconds:.1f} s |"
        )

    d = pd.read_parquet(args.data / "olist_classified" / "olist_classified_reviews.parquet")
    d = d[d["most_voted_class"].notna()]
    texts, labels = d["review_comment_message"], d["most_voted_class"].astype(str)
    cv = cross_validate(
        FeedbackClassifier(), texts, labels, ratings=d["review_score"], folds=5, seed=0
    )
    split = split_report(FeedbackClassifier(), texts, labels, test_size=0.2, seed=0)
    results["olist"] = {"cv": cv, "split": split}
    classes = sorted(cv["model"]["per_class_f1"])
    print()
    print(
        "| Olist (5-fold CV) | macro-F1 (mean of folds) | accuracy | "
        + " | ".join(f"F1 {c}" for c in classes)
        + " |"
    )
    print("|---|---:|---:|" + "---:|" * len(classes))
    for key, label in (
        ("majority", "majority class"),
        ("rating", "rating only (review_score)"),
        ("model", "FeedbackClassifier (text)"),
    ):
        r = cv[key]
        print(
            f"| {label} | {r['macro_f1']:.3f} | {r['accuracy']:.3f} | "
            + " | ".join(f"{r['per_class_f1'][c]:.3f}" for c in classes)
            + " |"
        )
    print(
        f"\nOlist 80/20 split: accuracy {split['accuracy']:.3f}, macro-F1 {split['macro_f1']:.3f}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
