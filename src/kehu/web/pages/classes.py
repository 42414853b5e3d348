"""Classes (客户分类): sizes, revenue shares, profiles, playbook, migration and thresholds.

Every number comes from :mod:`kehu.services.classes` with the signed-in Actor: a rep's
page counts their own customers only and shows no thresholds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kehu import i18n
from kehu.exceptions import NotFoundError
from kehu.services import classes
from kehu.services.access import require
from kehu.web import charts
from kehu.web.render import render
from kehu.web.session import PageUser, language

router = APIRouter(include_in_schema=False)
Param = Annotated[str | None, Query(max_length=40)]


def _run_id(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


@router.get("/classes", name="web_classes")
def page(
    request: Request,
    actor: PageUser,
    classifier: Param = None,
    run: Param = None,
    from_run: Param = None,
    to_run: Param = None,
) -> Response:
    require(actor, "runs.read")
    lang = language(request)
    chosen = classifier if classifier in classes.CLASSIFIERS else "rfm8"
    errors: dict[str, str] = {}
    if classifier and classifier not in classes.CLASSIFIERS:
        errors["classifier"] = "web_cls_err_classifier"
    summary = migration = None
    with request.app.state.sessions() as db:
        runs = classes.succeeded_runs(db, actor=actor)
        ids = [r["id"] for r in runs]
        run_id = _run_id(run)
        if run and run_id not in ids:
            errors["run"] = "web_cls_err_run"
            run_id = None
        if runs:
            summary = classes.class_summary(
                db, actor=actor, classifier=chosen, run_id=run_id, lang=lang
            )
        a = _run_id(from_run) if from_run else (ids[1] if len(ids) > 1 else None)
        b = _run_id(to_run) if to_run else (ids[0] if ids else None)
        for name, given, got in (("from_run", from_run, a), ("to_run", to_run, b)):
            if given and got not in ids:
                errors[name] = "web_cls_err_run"
        if a in ids and b in ids:
            try:
                migration = classes.class_migration(
                    db, actor=actor, classifier=chosen, from_run=a, to_run=b
                )
            except NotFoundError:  # pragma: no cover - both ids were listed as succeeded
                migration = None
    figures = _figures(summary, migration, chosen, lang) if summary else {}
    return render(
        request,
        "classes/page.html",
        status_code=422 if errors else 200,
        actor=actor,
        classifiers=classes.CLASSIFIERS,
        classifier=chosen,
        runs=runs,
        summary=summary,
        migration=migration,
        cells={(r["from"], r["to"]): r["customers"] for r in (migration or {}).get("rows", [])},
        from_id=a,
        to_id=b,
        errors=errors,
        figures=figures,
    )


def _figures(summary, migration, classifier: str, lang: str) -> dict:
    from kehu.web import texts

    def t(key: str) -> str:
        return texts.text(key, lang)

    names = [str(i18n.label(classifier, c["class"], lang)) for c in summary["classes"]]
    out = {
        "sizes": charts.figure(
            [
                charts.bar(
                    names, [c["customers"] for c in summary["classes"]], t("web_cls_customers")
                )
            ],
            y_title=t("web_cls_customers"),
        ),
        "revenue": charts.figure(
            [charts.pie(names, [round(c["revenue"], 2) for c in summary["classes"]])],
        ),
    }
    if migration and migration["rows"]:
        cells = {(r["from"], r["to"]): r["customers"] for r in migration["rows"]}
        xs, ys = migration["to_classes"], migration["from_classes"]
        out["migration"] = charts.figure(
            [
                {
                    "type": "heatmap",
                    "x": [str(i18n.label(classifier, v, lang)) for v in xs],
                    "y": [str(i18n.label(classifier, v, lang)) for v in ys],
                    "z": [[cells.get((f, to), 0) for to in xs] for f in ys],
                    "colorscale": "Blues",
                }
            ],
            x_title=t("web_cls_to"),
            y_title=t("web_cls_from"),
            height=360,
        )
    return out
