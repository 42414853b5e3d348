"""The self-contained HTML report (客户分类分析报告).

One file that opens offline: plotly.js is inlined once and every chart is a
``<div>`` drawn by it; styles are inline; there is no external script, style
sheet, font or image.  The page is a Jinja2 template
(``report/templates/report.html``); this module turns :class:`ReportData` into
the template's context: translated tables with formatted numbers and chart
``<div>`` snippets.  Sections whose data are absent are left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from kehu import names
from kehu.analytics.migration import to_wide
from kehu.analytics.profile import NONE_CLASS
from kehu.i18n import CLASS_COLUMNS, check_lang, class_order, header, label, text
from kehu.report import charts
from kehu.report.predictions import prediction_sections
from kehu.services.understanding import ReportData
from kehu.writers import write_text

#: classifier columns shown in the class sections, in this order (rfm8 first)
CLASSIFIER_ORDER = (
    *names.CLASS_COLUMNS,
    "value_decile",
    "cluster_label",
    "cluster",
    "custom_segment",
)

SHARE_COLUMNS = {
    "customer_share",
    "revenue_share",
    "share",
    "retention",
    "repeat_rate",
    "growth",
    "share_of_from",
}
COUNT_COLUMNS = {"units", "prev_units", "days_since_last_sale", "customers", "orders", "items"}
MONEY_COLUMNS = {
    "revenue",
    "mean_monetary",
    "mean_aov",
    "monetary",
    "avg_order_value",
    "customer_revenue",
    "returns",
    "aov",
    "revenue_per_active",
    "prev_revenue",
}


def render_report(data: ReportData, lang: str = "zh") -> str:
    """The report as one HTML string in ``lang`` ("zh" or "en")."""
    check_lang(lang)
    env = _environment()
    ctx = _context(data, lang)
    return env.get_template("report.html").render(**ctx)


def write_report(data: ReportData, path: str | Path, lang: str = "zh") -> Path:
    """Render and write the report atomically (a reader never sees half a file)."""
    return write_text(path, render_report(data, lang))


# --- context ----------------------------------------------------------------------------


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("kehu.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _context(data: ReportData, lang: str) -> dict[str, Any]:
    """The template's context: the run's facts, the headline figures and the sections."""

    def t(key: str) -> str:
        return text(key, lang)

    run = data.run_info or {}
    return {
        "lang": lang,
        "t": t,
        "title": data.title or t("report_title"),
        "generated": str(data.generated),
        "as_of": run.get("as_of"),
        "window_days": run.get("window_days"),
        "plotly_js": charts.plotly_js(),
        "headline": _headline(data, lang),
        "sections": [*_customer_sections(data, lang), *_trade_sections(data, lang)],
    }


def _customer_sections(data: ReportData, lang: str) -> list[dict[str, Any]]:
    """Who the customers are: the import, class sizes, RFM, profiles, migration, cohorts."""
    cust, out = data.customers, []
    if data.import_summary and data.import_summary.get("describe"):
        lines = list(data.import_summary["describe"])
        out.append({"id": "import", "title": text("sec_import", lang), "lines": lines})
    sizes = _class_sizes(data, lang)
    if sizes:
        out.append(
            {"id": "classes", "title": text("sec_classes", lang), "charts": sizes, "grid": True}
        )
    if {"r_score", "f_score", "monetary"} <= set(cust.columns) and len(cust):
        heat = charts.rfm_heatmaps(cust, lang, "chart-rfm-heat")
        out.append({"id": "rfm-heat", "title": text("sec_rfm_heat", lang), "charts": [heat]})
    if data.profiles:
        tables = _profiles(data, lang)
        out.append({"id": "profiles", "title": text("sec_profiles", lang), "tables": tables})
    if data.migration is not None and len(data.migration):
        out.append(_migration(data, lang))
    if data.cohorts is not None and len(data.cohorts):
        out.append(_cohorts(data.cohorts, lang))
    return out


def _trade_sections(data: ReportData, lang: str) -> list[dict[str, Any]]:
    """What they buy and will buy: products, categories, predictions, KPIs, timing; the method."""
    out = [_products(data.products, lang)] if data.products else []
    if data.category_preference is not None and len(data.category_preference):
        cp = data.category_preference.head(20)
        bars = charts.hbars(
            [label("category", c, lang) for c in cp["category"]],
            cp["share"].fillna(0),
            title=header("revenue_share", lang),
            div_id="chart-categories",
            fmt=".0%",
        )
        out.append({"id": "categories", "title": text("sec_categories", lang), "charts": [bars]})
    out.extend(prediction_sections(data.predictions, lang))
    if data.kpis is not None and len(data.kpis):
        out.append(_kpis(data.kpis, lang))
    if data.timing:
        bars = charts.timing_bars(data.timing, lang, "chart-timing")
        out.append({"id": "timing", "title": text("sec_timing", lang), "charts": [bars]})
    out.append(_method(data, lang))
    return out


def _headline(data: ReportData, lang: str) -> list[tuple[str, str]]:
    c = data.customers
    out = [(text("kpi_customers", lang), f"{len(c):,}")]
    if "monetary" in c.columns:
        revenue = float(c["monetary"].sum())
        out.append((text("kpi_revenue", lang), f"{revenue:,.2f}"))
        if "orders" in c.columns:
            n_orders = int(c["orders"].sum())
            out.append((text("kpi_orders", lang), f"{n_orders:,}"))
            if n_orders:
                out.append((text("kpi_aov", lang), f"{revenue / n_orders:,.2f}"))
    if "recency_days" in c.columns and len(c):
        out.append((text("kpi_median_recency", lang), f"{c['recency_days'].median():,.0f}"))
    rate = None
    if data.repeat_rate is not None and len(data.repeat_rate):
        rate = data.repeat_rate["repeat_rate"].iloc[0]
    elif "orders" in c.columns and len(c):
        rate = float((c["orders"] >= 2).mean())
    if rate is not None and rate == rate:
        out.append((text("kpi_repeat_rate", lang), f"{rate:.1%}"))
    return out


def _classifiers(columns: Iterable[str]) -> list[str]:
    cols = list(columns)
    known = [c for c in CLASSIFIER_ORDER if c in cols]
    return known + [c for c in cols if c not in known]


def _sort_classes(df: pd.DataFrame, column: str, key: str = "class") -> pd.DataFrame:
    """Known classes in their canonical order (rfm8, segments ...); others keep theirs."""
    order = class_order(column)
    if not order:
        return df
    rank = {v: i for i, v in enumerate(order)}
    pos = df[key].map(lambda v: rank.get(v, len(order)))
    return df.assign(_pos=pos).sort_values("_pos", kind="stable").drop(columns="_pos")


def _class_sizes(data: ReportData, lang: str) -> list[str]:
    """Bar charts of class shares: from the profiles, else from the customers table."""
    c = data.customers
    out = []
    cols = [col for col in CLASSIFIER_ORDER if col in data.profiles or col in c.columns]
    cols += [col for col in data.profiles if col not in cols]
    for col in cols:
        if col in data.profiles:
            prof = data.profiles[col][["class", "customer_share", "revenue_share"]]
        elif "monetary" in c.columns:
            # group on the raw values so that grades and deciles sort as numbers
            g = c.groupby(c[col], dropna=False, sort=True)["monetary"].agg(["size", "sum"])
            total = g["sum"].sum()
            prof = pd.DataFrame(
                {
                    "class": [NONE_CLASS if pd.isna(v) else str(v) for v in g.index],
                    "customer_share": g["size"] / g["size"].sum(),
                    "revenue_share": g["sum"] / total if total > 0 else float("nan"),
                }
            )
        else:
            continue
        if len(prof) > 40:  # e.g. a decile or grade column is fine; ids are not classes
            continue
        prof = _sort_classes(prof, col)
        prof = prof.assign(label=[label(col, v, lang) for v in prof["class"]])
        out.append(
            charts.class_share_bars(prof, header(col, lang), lang, f"chart-classes-{_slug(col)}")
        )
    return out


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name)


def _profiles(data: ReportData, lang: str) -> list[dict[str, Any]]:
    tables = []
    pb = data.playbook
    for col in _classifiers(data.profiles):
        prof = _sort_classes(data.profiles[col].copy(), col)
        actions = None
        if pb is not None:
            actions = []
            for v in prof["class"]:
                entry = pb.for_class(col, v, lang)
                actions.append(_action_text(entry, lang) if entry else text("no_playbook", lang))
        labels = [label(col, v, lang) for v in prof["class"]]
        prof = prof.assign(**{"class": labels})
        table = _table(prof, lang)
        if actions is not None:
            table["headers"].append(text("playbook_action", lang))
            table["numeric"].append(False)
            for row, action in zip(table["rows"], actions, strict=True):
                row.append(action)
        table["wide"] = actions is not None
        table["title"] = f"{header(col, lang)} {text('profile_of', lang)}"
        table["id"] = f"profile-{_slug(col)}"
        tables.append(table)
    return tables


def _action_text(entry: dict[str, str], lang: str) -> str:
    sep = "；" if lang == "zh" else "; "
    parts = [entry.get("action", "")]
    parts += [
        f"{header(k, lang)}: {entry[k]}" for k in ("channel", "cadence", "offer") if entry.get(k)
    ]
    return sep.join(p for p in parts if p)


def _migration(data: ReportData, lang: str) -> dict[str, Any]:
    col = data.migration_column
    wide = to_wide(data.migration, class_order(col))
    wide.index = [label(col, v, lang) for v in wide.index]
    wide.columns = [label(col, v, lang) for v in wide.columns]
    note = text("migration_note", lang)
    if data.migration_dates:
        before, after = data.migration_dates
        colon, stop = ("：", "。") if lang == "zh" else (": ", ". ")
        note = f"{text('migration_between', lang)}{colon}{before} → {after}{stop}{note}"
    return {
        "id": "migration",
        "title": f"{text('sec_migration', lang)} ({header(col, lang)})",
        "notes": [note],
        "charts": [
            charts.heatmap(
                wide,
                title="",
                x_title=text("migration_to", lang),
                y_title=text("migration_from", lang),
                div_id="chart-migration",
            )
        ],
    }


def _cohorts(cohorts: pd.DataFrame, lang: str) -> dict[str, Any]:
    df = cohorts.copy()
    when = pd.to_datetime(df["cohort"])
    df["cohort"] = when.dt.strftime("%Y-%m")
    month_no = when.dt.year * 12 + when.dt.month
    size = df.groupby("cohort")["cohort_size"].max()
    wide = df.pivot_table(index="cohort", columns="period_index", values="retention", aggfunc="max")
    wide = wide.reindex(columns=range(int(df["period_index"].max()) + 1)).sort_index()
    # a cohort's periods up to the last month of data with no buyer are a real 0;
    # periods after the data ends stay empty (the triangle)
    end = int((month_no + df["period_index"]).max())
    first = month_no.groupby(df["cohort"]).min()
    for i, cohort in enumerate(wide.index):
        span = end - int(first[cohort]) + 1
        wide.iloc[i, :span] = wide.iloc[i, :span].fillna(0.0)
    wide.index = [f"{c} (n={size[c]:,})" for c in wide.index]
    return {
        "id": "cohorts",
        "title": text("sec_cohorts", lang),
        "notes": [text("cohort_note", lang)],
        "charts": [
            charts.heatmap(
                wide,
                title="",
                x_title=text("period_axis", lang),
                y_title=text("cohort_axis", lang),
                div_id="chart-cohorts",
                fmt="%",
            )
        ],
    }


def _products(products: dict[str, pd.DataFrame], lang: str) -> dict[str, Any]:
    tables, chart_list, notes = [], [], []
    show = [
        "product_id",
        "name",
        "category",
        "brand",
        "units",
        "revenue",
        "prev_revenue",
        "growth",
        "last_sale",
        "days_since_last_sale",
    ]
    hot = products.get("hot")
    if hot is not None and len(hot):
        names = hot["name"].fillna(hot["product_id"]) if "name" in hot else hot["product_id"]
        chart_list.append(
            charts.hbars(
                [str(n) for n in names],
                hot["revenue"],
                title=text("hot_products", lang),
                div_id="chart-hot-products",
            )
        )
        table = _table(hot[[c for c in show if c in hot.columns]], lang)
        table.update(title=text("hot_products", lang), id="hot-products")
        tables.append(table)
        notes.append(text("hot_note", lang))
    slow = products.get("slow")
    if slow is not None and len(slow):
        table = _table(slow[[c for c in show if c in slow.columns and c != "growth"]], lang)
        table.update(title=text("slow_products", lang), id="slow-products")
        tables.append(table)
        notes.append(text("slow_note", lang))
    return {
        "id": "products",
        "title": text("sec_products", lang),
        "charts": chart_list,
        "tables": tables,
        "notes": notes,
    }


def _kpis(kpis: pd.DataFrame, lang: str) -> dict[str, Any]:
    df = kpis.copy()
    df["month"] = pd.to_datetime(df["month"]).dt.strftime("%Y-%m")
    t = lambda k: text(k, lang)  # noqa: E731 - a short local alias
    return {
        "id": "kpis",
        "title": t("sec_kpis"),
        "charts": [
            charts.lines(
                df,
                "month",
                [("revenue", t("revenue")), ("customer_revenue", t("customer_revenue"))],
                title=t("revenue"),
                div_id="chart-kpi-revenue",
            ),
            charts.lines(
                df,
                "month",
                [
                    ("active_customers", t("active_customers")),
                    ("new_customers", t("new_customers")),
                    ("returning_customers", t("returning_customers")),
                ],
                title=t("active_customers"),
                div_id="chart-kpi-customers",
            ),
        ],
        "tables": [dict(_table(df, lang), title="", id="kpi-table")],
    }


def _method(data: ReportData, lang: str) -> dict[str, Any]:
    run = data.run_info or {}
    notes = [text("method_rfm", lang), text("method_returns", lang)]
    rows = []
    for rec in run.get("classifiers") or []:
        rows.append(
            [
                header(str(rec.get("classifier", "")), lang),
                str(rec.get("version", "")),
                _json(rec.get("params")),
                _json(rec.get("thresholds")),
            ]
        )
    tables = []
    if rows:
        tables.append(
            {
                "title": "",
                "id": "classifier-records",
                "headers": [
                    text(k, lang) for k in ("classifier", "version", "params", "thresholds")
                ],
                "numeric": [False] * 4,
                "rows": rows,
                "code": True,
            }
        )
    return {"id": "method", "title": text("sec_method", lang), "notes": notes, "tables": tables}


def _json(value: Any) -> str:
    if not value:
        return ""
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


# --- tables -----------------------------------------------------------------------------


def _formatter(col: str, series: pd.Series) -> Callable[[Any], str]:
    if col in SHARE_COLUMNS:
        return lambda v: "" if pd.isna(v) else f"{v:.1%}"
    if col in COUNT_COLUMNS:  # whole units show without decimals, fractional (kg) with
        return lambda v: "" if pd.isna(v) else f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"
    if col in MONEY_COLUMNS or pd.api.types.is_float_dtype(series):
        return lambda v: "" if pd.isna(v) else f"{v:,.2f}"
    if pd.api.types.is_integer_dtype(series):
        return lambda v: "" if pd.isna(v) else f"{int(v):,}"
    if pd.api.types.is_datetime64_any_dtype(series):
        return lambda v: "" if pd.isna(v) else str(pd.Timestamp(v).date())
    return lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v)


def _table(df: pd.DataFrame, lang: str) -> dict[str, Any]:
    """A frame as translated headers and formatted cells for the template."""
    df = df.reset_index(drop=True)
    cols = [c for c in df.columns if not str(c).startswith("_")]
    fmts = {c: _formatter(c, df[c]) for c in cols}
    columns = {}
    for c in cols:
        values = df[c]
        if c in CLASS_COLUMNS:
            values = values.map(lambda v, c=c: label(c, v, lang))
        columns[c] = [fmts[c](v) for v in values.tolist()]
    rows = [[columns[c][i] for c in cols] for i in range(len(df))]
    numeric = [
        c in SHARE_COLUMNS or c in MONEY_COLUMNS or pd.api.types.is_numeric_dtype(df[c])
        for c in cols
    ]
    return {"headers": [header(c, lang) for c in cols], "numeric": numeric, "rows": rows}
