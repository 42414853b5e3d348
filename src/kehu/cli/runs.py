"""``kehu runs ...`` and ``kehu explain``: kept runs, migration, publishing, explanations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kehu.cli.common import (
    AsOfOpt,
    ConfigOpt,
    CustomersOpt,
    MapOpt,
    Paths,
    ProductsOpt,
    as_list,
    out,
    settings_from,
)

runs_app = typer.Typer(
    help="Kept classification runs: list, compare (migration matrix), publish.\n\n"
    "Example:\n\n  kehu runs list --runs out/runs",
    no_args_is_help=True,
)

RunsOpt = Annotated[Path, typer.Option("--runs", help="Folder of kept runs.")]


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
    app.command("explain")(explain_cmd)


@runs_app.command("list")
def list_cmd(runs: RunsOpt = Path("out/runs")) -> None:
    """List kept runs, oldest first.

    Example:

      kehu runs list --runs out/runs
    """
    from kehu.services.runs import RunStore

    table = Table("run", "as of", "customers", "published", "saved")
    for run in RunStore(runs).list():
        table.add_row(
            run.run_id,
            str(run.as_of),
            str(run.info.get("customers", "")),
            "yes" if run.published else "",
            run.info.get("saved_at", ""),
        )
    out.print(table)


@runs_app.command("publish")
def publish_cmd(run_id: str, runs: RunsOpt = Path("out/runs")) -> None:
    """Publish a run: its grades (档位) are locked for its period from now on.

    Example:

      kehu runs publish 20240701-1a2b3c4d --runs out/runs
    """
    from kehu.services.runs import RunStore

    run = RunStore(runs).publish(run_id)
    out.print(f"published {run.run_id} (as of {run.as_of}); its grades are now locked")


@runs_app.command("migrate")
def migrate_cmd(
    from_run: str,
    to_run: str,
    column: Annotated[str, typer.Option("--column", help="Class column to compare.")] = "rfm8",
    runs: RunsOpt = Path("out/runs"),
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the matrix (.csv/.xlsx/.parquet).")
    ] = None,
) -> None:
    """Show how customers moved between classes from one run to another.

    Example:

      kehu runs migrate 20240401-aaaa1111 20240701-bbbb2222 --column lifecycle
    """
    from kehu.services.runs import migration_between

    wide = migration_between(runs, from_run, to_run, column)
    if out_file is not None:
        from kehu.report.excel import write_table

        write_table(wide.reset_index(), out_file, "zh")
        out.print(f"→ {out_file}")
    table = Table(f"{column}: from \\ to", *[str(c) for c in wide.columns])
    for label, row in wide.iterrows():
        table.add_row(str(label), *[f"{int(v):,}" for v in row])
    out.print(table)


def explain_cmd(
    customer_id: Annotated[str, typer.Argument(help="The customer to explain.")],
    paths: Paths,
    customers: CustomersOpt = None,
    products: ProductsOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    mapping: MapOpt = None,
    lang: Annotated[str | None, typer.Option("--lang", help="zh or en.")] = None,
) -> None:
    """Explain why a customer has each of their classes (inputs, thresholds, rule version).

    Example:

      kehu explain 000123 订单.csv --as-of 2024-07-01
    """
    from kehu.services.analysis import explain_customer

    settings = settings_from(config, as_of=as_of, lang=lang)
    explanations = explain_customer(
        customer_id,
        paths,
        settings=settings,
        customers=as_list(customers),
        products=as_list(products),
        mapping=mapping or (),
    )
    for e in explanations:
        reason = e.reason_zh if settings.lang == "zh" else e.reason
        out.print(f"[bold]{e.classifier}[/] = {e.label}  [dim]({e.version})[/]")
        out.print(f"  {reason}", markup=False)
