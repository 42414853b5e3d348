"""``kehu demo``: generate a realistic data set and analyze it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kehu.cli.common import LangOpt


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)


def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "kehu-demo"
    ),
    customers: Annotated[
        int, typer.Option("--customers", min=50, help="Number of customers to simulate.")
    ] = 3000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 7,
    lang: LangOpt = None,
) -> None:
    """Simulate a Chinese FMCG distributor (customers, products, two years of orders)
    and run `kehu analyze` on it.

    The generated files (Chinese headers, orders in GBK as Excel exports often are)
    go to OUT/data/, the analysis to OUT/. At the end it prints the commands that
    open the web application on the demo data.

    Examples:

      kehu demo

      kehu demo --customers 500 --lang en --out demo-en/
    """
    from kehu.cli.analyze import analyze_cmd
    from kehu.cli.common import out, settings_from
    from kehu.demo import generate_demo, open_app_message

    language = settings_from(None, lang=lang).lang  # checked before the long work

    files = generate_demo(out_dir / "data", customers=customers, seed=seed)
    out.print(f"demo data → {out_dir / 'data'}")
    analyze_cmd(
        [files["orders"]],
        customers=[files["customers"]],
        products=[files["products"]],
        out_dir=out_dir,
        lang=lang,
    )
    out.print()
    # no markup, no wrapping: the commands are copied as they are
    out.print(open_app_message(out_dir, language), markup=False, soft_wrap=True)
