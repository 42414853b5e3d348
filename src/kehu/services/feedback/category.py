"""The category list and the trained category model (workspace files), and classifying texts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.exceptions import ConfigError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.store.models import (
    Feedback,
)
from kehu.writers import write_text

CATEGORIES_FILE = Path("feedback") / "categories.json"


MODEL_FILE = Path("feedback") / "category_model.json.gz"


#: fewest labelled rows to train on, and per label for a cross-validated score
MIN_TRAINING_ROWS = 10


MIN_PER_LABEL_FOR_CV = 3


def category_spec(workspace: Path) -> dict[str, Any] | None:
    """The workspace's category options (``None``: the defaults)."""
    path = Path(workspace) / CATEGORIES_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}); fix or delete it") from None


def categories(workspace: Path) -> dict[str, dict[str, list[str]]]:
    """The categories in force with their keywords (``other`` is the implicit fallback)."""
    from kehu.analytics.feedback import resolve_categories

    return resolve_categories(category_spec(workspace))


def category_names(workspace: Path) -> list[str]:
    from kehu.analytics.feedback.lexicon import OTHER

    return [*categories(workspace), OTHER]


def set_categories(
    workspace: Path, *, actor: Actor, spec: Mapping[str, Any] | None
) -> dict[str, dict[str, list[str]]]:
    """Store category options (merged with the defaults; ``None`` restores them).

    ``spec`` as :func:`kehu.analytics.feedback.resolve_categories` reads it:
    a name with ``{zh: [...], en: [...]}`` adds or replaces a category,
    ``None`` removes it.
    """
    from kehu.analytics.feedback import resolve_categories

    require(actor, "refresh.run")
    resolved = resolve_categories(spec)  # raises ConfigError on a bad spec
    path = Path(workspace) / CATEGORIES_FILE
    if spec is None:
        path.unlink(missing_ok=True)
        return resolved
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(dict(spec), ensure_ascii=False, indent=1))
    return resolved


@lru_cache(maxsize=4)
def _load_model(path: str, mtime_ns: int):
    from kehu.analytics.feedback import FeedbackClassifier

    return FeedbackClassifier.load(path)


def category_model(workspace: Path):
    """The trained category model of the workspace, or ``None`` (read once per file version)."""
    path = Path(workspace) / MODEL_FILE
    if not path.is_file():
        return None
    return _load_model(str(path), path.stat().st_mtime_ns)


def analyse(texts: Sequence[str | None], workspace: Path | None) -> list[dict[str, Any]]:
    """Category (model or lexicon), sentiment and language of each text."""
    from kehu.analytics.feedback import classify_feedback

    spec = category_spec(workspace) if workspace is not None else None
    table = classify_feedback(list(texts), categories=spec)
    model = category_model(workspace) if workspace is not None else None
    cats = list(table["category"])
    source = ["lexicon"] * len(cats)
    if model is not None:
        has_text = [bool((t or "").strip()) for t in texts]
        picked = [t for t, keep in zip(texts, has_text, strict=True) if keep]
        if picked:
            predicted = iter(model.predict(picked))
            for i, keep in enumerate(has_text):
                if keep:
                    cats[i], source[i] = str(next(predicted)), "model"
    return [
        {
            "category": cats[i],
            "category_source": source[i],
            "sentiment": table["sentiment"].iat[i],
            "sentiment_score": float(table["sentiment_score"].iat[i]),
            "lang": table["lang"].iat[i],
            "terms": list(table["category_terms"].iat[i]) + list(table["sentiment_terms"].iat[i]),
        }
        for i in range(len(cats))
    ]


def train_category_model(
    session: Session, *, actor: Actor, workspace: Path, folds: int = 5
) -> dict[str, Any]:
    """Train the category model on the feedback people labelled; save it in the workspace.

    Returns the number of examples, the count per label, the model path and,
    when every label has at least :data:`MIN_PER_LABEL_FOR_CV` examples, the
    cross-validated macro-F1 of the model against the majority baseline.

    Raises
    ------
    SchemaError
        Fewer than :data:`MIN_TRAINING_ROWS` labelled texts, or a single label.
    """
    from kehu.analytics.feedback import FeedbackClassifier
    from kehu.analytics.feedback.evaluate import cross_validate

    require(actor, "refresh.run")
    rows = session.execute(
        select(Feedback.text, Feedback.category).where(
            Feedback.category_source == "user",
            Feedback.category.is_not(None),
            Feedback.text.is_not(None),
            func.length(func.trim(Feedback.text)) > 0,
        )
    ).all()
    if len(rows) < MIN_TRAINING_ROWS:
        raise SchemaError(
            f"only {len(rows)} labelled feedback texts; label at least {MIN_TRAINING_ROWS} "
            "(set their category) before training"
        )
    texts = [t for t, _ in rows]
    labels = [c for _, c in rows]
    counts: dict[str, int] = {}
    for c in labels:
        counts[c] = counts.get(c, 0) + 1
    model = FeedbackClassifier().fit(texts, labels)
    path = Path(workspace) / MODEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    out: dict[str, Any] = {
        "examples": len(rows),
        "labels": dict(sorted(counts.items())),
        "path": str(path),
        "lang": model.lang_,
        "cross_validation": None,
    }
    smallest = min(counts.values())
    if smallest >= MIN_PER_LABEL_FOR_CV:
        cv = cross_validate(model, texts, labels, folds=min(folds, smallest))
        out["cross_validation"] = {
            "folds": min(folds, smallest),
            "macro_f1": cv["model"]["macro_f1"],
            "accuracy": cv["model"]["accuracy"],
            "majority_macro_f1": cv["majority"]["macro_f1"],
        }
    audit.record(
        session,
        actor=actor,
        action="feedback.train",
        entity="feedback_model",
        changes={"examples": len(rows), "labels": out["labels"]},
    )
    return out


def delete_category_model(workspace: Path, *, actor: Actor) -> bool:
    """Go back to the lexicon categories; ``False`` when there was no model."""
    require(actor, "refresh.run")
    path = Path(workspace) / MODEL_FILE
    existed = path.is_file()
    path.unlink(missing_ok=True)
    return existed
