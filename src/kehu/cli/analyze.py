"""The analyst's commands: analyze, classify, rfm, import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from kehu.cli.common import (
    AsOfOpt,
    ConfigOpt,
    CustomersOpt,
    DbOpt,
    LangOpt,
    MapOpt,
    Paths,
    ProductsOpt,
    as_list,
    console,
    out,
    print_files,
    settings_from,
    steps_progress,
)

STEP_LABELS = {
    "zh": {
        "import": "导入订单…",
        "classify": "客户分类…",
        "predict": "预测价值、流失与推荐…",
        "compare": "与上期对比…",
        "understand": "分析各类客户…",
        "write": "生成表格和报告…",
    },
    "en": {
        "import": "Importing orders…",
        "classify": "Classifying customers…",
        "predict": "Predicting value, churn and next products…",
        "compare": "Comparing with the earlier period…",
        "understand": "Profiling the classes…",
        "write": "Writing tables and report…",
    },
}


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze_cmd)
    app.command("classify")(classify_cmd)
    app.command("rfm")(rfm_cmd)
    app.command("import")(import_cmd)
    app.command("report")(report_cmd)
    app.command("config-example")(config_example_cmd)


def analyze_cmd(
    paths: Paths,
    customers: CustomersOpt = None,
    products: ProductsOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    mapping: MapOpt = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out"),
    lang: LangOpt = None,
    db: DbOpt = None,
    runs_dir: Annotated[
        Path | None, typer.Option("--runs", help="Folder of kept runs (default OUT/runs).")
    ] = None,
) -> None:
    """Do the analyst's whole job: import, classify every customer, explain, report.

    Writes OUT/customers.parquet and .xlsx (one row per customer with every class),
    OUT/classes.parquet (class profiles), OUT/report.html, OUT/import_summary.json,
    OUT/rejects.csv and OUT/run.json.

    Examples:

      kehu analyze 订单.csv --customers 客户.xlsx --products 商品.csv --out out/

      kehu analyze online_retail.parquet --as-of 2011-12-10 --lang en --out out/

      kehu analyze exports/*.xlsx --map 'amount=实收金额' --config kehu.yaml
    """
    from kehu.i18n import label
    from kehu.report.outputs import analysis_files
    from kehu.services.analysis import ANALYZE_STEPS, analyze

    settings = settings_from(config, as_of=as_of, lang=lang)
    with steps_progress((*ANALYZE_STEPS, "write"), STEP_LABELS[settings.lang]) as on_step:
        result = analyze(
            paths,
            settings=settings,
            runs_dir=runs_dir or out_dir / "runs",
            customers=as_list(customers),
            products=as_list(products),
            mapping=mapping or (),
            db=db,
            on_step=on_step,
        )
        on_step("write")
        files = analysis_files(result, out_dir, settings.lang)
    _print_import(result.classified.imported.summary, settings.lang)
    zh = settings.lang == "zh"
    n = len(result.customers)
    out.print(
        f"{'分析日期' if zh else 'As of'} {result.classified.as_of}: "
        f"{n:,} {'位客户已分类' if zh else 'customers classified'}"
    )
    if "rfm8" in result.customers.columns and n:
        counts = result.customers["rfm8"].value_counts()
        for value, count in counts.items():
            out.print(f"  {label('rfm8', value, settings.lang)}: {count:,} ({count / n:.1%})")
    for note in result.notes:
        out.print(f"[dim]{note}[/]")
    print_files(files)


def classify_cmd(
    paths: Paths,
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Output .parquet file.")],
    customers: CustomersOpt = None,
    products: ProductsOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    mapping: MapOpt = None,
    db: DbOpt = None,
) -> None:
    """Classify customers with the rule classifiers; write only the per-customer table.

    The table is the RFM contract plus rfm8, segment, freq_tier, spend_tier, abc,
    value_decile, lifecycle and grade.

    Example:

      kehu classify orders/*.parquet --as-of 2024-07-01 --out customers.parquet
    """
    from kehu.exceptions import ConfigError
    from kehu.services.analysis import classify_files
    from kehu.writers import write_parquet

    if out_file.suffix.lower() != ".parquet":
        raise ConfigError(f"--out must be a .parquet file, got {out_file}")
    settings = settings_from(config, as_of=as_of)
    with console.status("classifying…"):
        result = classify_files(
            paths,
            settings=settings,
            customers=as_list(customers),
            products=as_list(products),
            mapping=mapping or (),
            db=db,
        )
        write_parquet(out_file, result.table.order_by("customer_id"))
    out.print(f"as of {result.as_of}: per-customer table → {out_file}")


def rfm_cmd(
    paths: Paths,
    out_file: Annotated[
        Path, typer.Option("--out", "-o", help="Output file: .parquet, .csv or .xlsx.")
    ],
    as_of: AsOfOpt = None,
    window_days: Annotated[
        int | None, typer.Option("--window-days", help="Look back this many days only.")
    ] = None,
    config: ConfigOpt = None,
    mapping: MapOpt = None,
    lang: LangOpt = None,
) -> None:
    """Compute the per-customer RFM summary and 1-5 scores.

    Example:

      kehu rfm 订单.csv --as-of 2024-07-01 --window-days 365 --out rfm.xlsx
    """
    from kehu.analytics.rfm import rfm_summary
    from kehu.report.excel import write_table
    from kehu.services.analysis import load

    settings = settings_from(config, as_of=as_of, lang=lang)
    imported = load(paths, settings=settings, mapping=mapping or ())
    table = rfm_summary(
        imported.orders, as_of=settings.as_of, window_days=window_days or settings.window_days
    )
    write_table(table.to_pandas(), out_file, settings.lang)
    out.print(f"RFM → {out_file}")


def import_cmd(
    paths: Paths,
    customers: CustomersOpt = None,
    products: ProductsOpt = None,
    config: ConfigOpt = None,
    mapping: MapOpt = None,
    db: DbOpt = None,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for import_summary.json and rejects.csv.")
    ] = Path("out"),
    lang: LangOpt = None,
) -> None:
    """Import order files, report what was kept and set aside, and why.

    With --db the cleaned orders, customers and products are kept in a DuckDB file.

    Example:

      kehu import 订单.csv --map 'amount=实收金额' --db shop.duckdb --out out/
    """
    from kehu.report.outputs import import_files
    from kehu.services.analysis import load

    settings = settings_from(config, lang=lang)
    with console.status("importing…"):
        imported = load(
            paths,
            settings=settings,
            customers=as_list(customers),
            products=as_list(products),
            mapping=mapping or (),
            db=db,
        )
        files = import_files(imported, out_dir)
    _print_import(imported.summary, settings.lang)
    print_files(files)


def report_cmd(
    analysis_dir: Annotated[Path, typer.Argument(help="An output folder of `kehu analyze`.")],
    lang: LangOpt = None,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Report file (default DIR/report[_LANG].html)."),
    ] = None,
) -> None:
    """Render the report of a finished analysis again, e.g. in the other language.

    Examples:

      kehu report out/ --lang en

      kehu report out/ --lang zh --out 客户分类报告.html
    """
    from kehu.report.html import write_report
    from kehu.report.store import load_report_data

    settings = settings_from(None, lang=lang)
    data = load_report_data(analysis_dir / "report_data")
    target = out_file or analysis_dir / (
        "report.html" if lang is None else f"report_{settings.lang}.html"
    )
    out.print(f"report → {write_report(data, target, settings.lang)}")


def config_example_cmd() -> None:
    """Print an example settings file to start from.

    Example:

      kehu config-example > kehu.yaml
    """
    import kehu.config

    doc = kehu.config.__doc__ or ""
    example = doc.split("Example ``kehu.yaml``::", 1)[1]
    lines = [line[4:] if line.startswith("    ") else line for line in example.splitlines()]
    typer.echo("\n".join(lines).strip() + "\n")


def _print_import(summary, lang: str) -> None:
    for line in summary.describe(lang=lang):
        out.print(line)


def _json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)
