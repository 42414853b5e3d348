"""Commands of the team's store: init, db upgrade, load, refresh, serve, users, feedback.

A thin shell over :mod:`kehu.store` and :mod:`kehu.services`: each command opens
the store named by ``--workspace`` / ``KEHU_WORKSPACE`` (or
``KEHU_DATABASE_URL``), calls one service and prints what it did.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from kehu.cli.common import (
    AsOfOpt,
    ConfigOpt,
    CustomersOpt,
    MapOpt,
    ProductsOpt,
    as_list,
    console,
    out,
    settings_from,
)
from kehu.exceptions import ConfigError, KehuError

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="KEHU_WORKSPACE",
        help="Folder holding kehu.db and secret.key (default: the current folder). "
        "KEHU_DATABASE_URL points to PostgreSQL instead.",
    ),
]

db_app = typer.Typer(help="Database schema.\n\nExample:\n\n  kehu db upgrade", no_args_is_help=True)
feedback_app = typer.Typer(
    help="The feedback category model, trained on the categories people set.\n\n"
    "Example:\n\n  kehu feedback train",
    no_args_is_help=True,
)
users_app = typer.Typer(
    help="User accounts.\n\nExample:\n\n  kehu users add wang --role rep --rep-name 王伟",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.command("init")(init_cmd)
    app.command("load")(load_cmd)
    app.command("refresh")(refresh_cmd)
    app.command("serve")(serve_cmd)
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(feedback_app, name="feedback")


def _settings(workspace: Path | None, **overrides):
    from kehu.store.settings import StoreSettings

    return StoreSettings.from_env(workspace, **overrides)


def _engine(settings, *, check: bool = True):
    """The store's engine; with ``check``, refuse a database that is not at the latest schema."""
    from sqlalchemy.exc import OperationalError

    from kehu.store.engine import make_engine
    from kehu.store.migrate import current_revision, head_revision

    engine = make_engine(settings.url)
    db_file = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if check and db_file and not Path(db_file).is_file():
        raise KehuError(f"no store at {db_file}; run `kehu init` there first")
    shown = engine.url.render_as_string(hide_password=True)
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise ConfigError(f"cannot open the database {shown}: {exc.orig}") from None
    if check and current != head_revision(engine):
        hint = "kehu init" if current is None else "kehu db upgrade"
        raise KehuError(f"the store {shown} is not at the latest schema; run `{hint}` first")
    return engine


def init_cmd(workspace: WorkspaceOpt = None) -> None:
    """Create a workspace: the secret key and the database at the latest schema.

    Safe to run again: an existing database is only upgraded.

    Examples:

      kehu init

      kehu init --workspace /srv/kehu

      KEHU_DATABASE_URL=postgresql://kehu@db/kehu kehu init
    """
    from kehu.store.migrate import upgrade
    from kehu.store.settings import write_secret

    ws = Path(workspace or ".")
    ws.mkdir(parents=True, exist_ok=True)
    secret = write_secret(ws)
    settings = _settings(ws)
    engine = _engine(settings, check=False)
    revision = upgrade(engine)
    out.print(f"store ready: {engine.url.render_as_string(hide_password=True)} (schema {revision})")
    out.print(f"secret key: {secret}")
    out.print("next: kehu users add admin --role admin; kehu load <orders>; kehu serve")


@db_app.command("upgrade")
def upgrade_cmd(workspace: WorkspaceOpt = None) -> None:
    """Bring the database schema to the latest version (Alembic migrations).

    Example:

      kehu db upgrade --workspace /srv/kehu
    """
    from kehu.store.migrate import upgrade

    engine = _engine(_settings(workspace), check=False)
    out.print(f"schema at {upgrade(engine)}")


def load_cmd(
    orders: Annotated[
        list[Path] | None,
        typer.Argument(help="Order files (CSV, Excel, Parquet); folders and globs allowed."),
    ] = None,
    customers: CustomersOpt = None,
    products: ProductsOpt = None,
    mapping: MapOpt = None,
    config: ConfigOpt = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Keys per transaction.")
    ] = 5000,
    workspace: WorkspaceOpt = None,
) -> None:
    """Load customers, products and orders into the store (idempotent, resumable).

    Re-running the same load changes nothing; changed rows are updated; conflicts
    are listed. An interrupted load continues from its first unfinished batch.
    Rows that cannot be read or break the limits (dates, amounts, id lengths) are
    rejected, and so is, whole, an order with such a line (its stored version is
    kept); they are counted per reason and listed in load-<id>-rejects.csv in the
    workspace. Customers that orders name and the store lacks are created.

    Examples:

      kehu load orders.csv --customers customers.csv --products products.csv

      kehu load --customers 客户资料.xlsx
    """
    from kehu.services.analysis import import_options
    from kehu.services.store_load import load_files
    from kehu.store.engine import session_factory

    if not orders and not customers and not products:
        raise ConfigError("nothing to load: give order files, --customers or --products")
    options = import_options(settings_from(config), list(mapping or []))
    store_settings = _settings(workspace)
    engine = _engine(store_settings)
    with _progress() as progress:
        summary = load_files(
            session_factory(engine),
            orders=as_list(orders),
            customers=as_list(customers),
            products=as_list(products),
            options=options,
            batch_size=batch_size,
            progress=progress,
            rejects_dir=store_settings.workspace,
        )
    for line in summary.describe("zh"):
        out.print(line, markup=False, soft_wrap=True)
    for c in summary.conflicts[:20]:
        out.print(f"conflict: {c['kind']} {c['key']}: {c['reason']}")
    if len(summary.conflicts) > 20:
        out.print(f"... {len(summary.conflicts) - 20} more conflicts (load {summary.load_id})")
    for line in summary.reject_lines(20):
        out.print(line, markup=False, soft_wrap=True)


def refresh_cmd(
    as_of: AsOfOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None
) -> None:
    """Classify every customer from the store's orders and record the run.

    A failed refresh is recorded with its error and leaves the previous classes current.
    One refresh runs at a time; a run left running by a stopped process is marked
    interrupted first.

    Examples:

      kehu refresh

      kehu refresh --as-of 2024-07-01 --config kehu.yaml
    """
    from kehu.services.refresh import refresh
    from kehu.store.engine import session_factory

    settings = settings_from(config, as_of=as_of)
    engine = _engine(_settings(workspace))
    with console.status("refresh ..."):
        result = refresh(session_factory(engine), settings=settings)
    for run_id in result.interrupted:
        out.print(f"run {run_id} had stopped without finishing: marked failed (interrupted)")
    out.print(
        f"run {result.run_id}: {result.customers:,} customers classified as of {result.as_of}; "
        f"{result.alerts} alerts"
    )
    for note in result.notes:
        out.print(f"  note: {note}")
    moved = [m for m in result.migration if m["from"] != m["to"] and m["from"] != "(new)"]
    for m in sorted(moved, key=lambda m: -m["customers"])[:10]:
        out.print(f"  {m['from']} -> {m['to']}: {m['customers']}")


def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes. Several workers need PostgreSQL (KEHU_DATABASE_URL) "
            "to write in parallel; on SQLite they wait for each other's writes.",
        ),
    ] = 1,
    refresh_minutes: Annotated[
        int | None, typer.Option("--refresh-minutes", min=1, help="Refresh on this schedule.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Serve the web application at / and the REST API under /api/v1 (docs at /api/v1/docs).

    Examples:

      kehu serve

      kehu serve --host 0.0.0.0 --port 8080 --refresh-minutes 1440

      KEHU_DATABASE_URL=postgresql://kehu@db/kehu kehu serve --workers 4
    """
    import os

    import uvicorn

    from kehu.api import create_app

    overrides = {"refresh_minutes": refresh_minutes} if refresh_minutes else {}
    settings = _settings(workspace, **overrides)
    engine = _engine(settings)  # fail early, in one line, on a missing store
    backend = engine.url.get_backend_name()
    engine.dispose()
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    if backend == "sqlite":
        console.print(
            "[yellow]several workers on SQLite take turns to write; "
            "use PostgreSQL (KEHU_DATABASE_URL) for a team[/yellow]"
        )
    # each worker process builds its own app from the environment
    os.environ["KEHU_WORKSPACE"] = str(settings.workspace.resolve())
    if refresh_minutes:
        os.environ["KEHU_REFRESH_MINUTES"] = str(refresh_minutes)
    uvicorn.run(
        "kehu.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@users_app.command("add")
def users_add_cmd(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, manager, rep, service or analyst.")] = "analyst",
    rep_name: Annotated[
        str | None,
        typer.Option("--rep-name", help="For a rep: the name their customers carry (业务员)."),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option("--password", envvar="KEHU_PASSWORD", help="Default: asked for (not echoed)."),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create a user.

    Examples:

      kehu users add admin --role admin

      kehu users add wang --role rep --rep-name 王伟
    """
    from kehu.services.access import SYSTEM
    from kehu.services.users import create_user
    from kehu.store.engine import session_factory

    engine = _engine(_settings(workspace))
    if password is None:
        password = getpass.getpass(f"password for {username}: ")
    with session_factory(engine)() as session, session.begin():
        user = create_user(
            session,
            actor=SYSTEM,
            username=username,
            password=password,
            role=role,
            rep_name=rep_name,
        )
        out.print(f"user {user.username} ({user.role}) created")


@users_app.command("list")
def users_list_cmd(workspace: WorkspaceOpt = None) -> None:
    """List users and their roles.

    Example:

      kehu users list
    """
    from kehu.services.access import SYSTEM
    from kehu.services.users import list_users
    from kehu.store.engine import session_factory

    engine = _engine(_settings(workspace))
    with session_factory(engine)() as session:
        for u in list_users(session, actor=SYSTEM):
            rep = f" ({u.rep_name})" if u.rep_name else ""
            out.print(f"{u.username}\t{u.role}{rep}\t{'active' if u.is_active else 'disabled'}")


class _progress:
    """A rich progress bar fed by ``progress(step, done, total)`` callbacks."""

    def __enter__(self):
        from rich.progress import BarColumn, Progress, TextColumn

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            console=console,
            transient=True,
        )
        self._bar.__enter__()
        self._tasks: dict[str, int] = {}
        return self

    def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self._tasks:
            self._tasks[step] = self._bar.add_task(step, total=total)
        self._bar.update(self._tasks[step], completed=done, total=total)

    def __exit__(self, *exc):
        return self._bar.__exit__(*exc)


@feedback_app.command("train")
def feedback_train_cmd(
    workspace: WorkspaceOpt = None,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
) -> None:
    """Train the category model on the feedback whose category a person set.

    New feedback is then categorised by the model instead of the keyword lists;
    `kehu feedback reclassify` applies it to the feedback already stored.
    Prints the examples per category and the cross-validated macro-F1 against
    always answering the most common category.

    Example:

      kehu feedback train --workspace ws
    """
    from kehu.services.access import SYSTEM
    from kehu.services.feedback import train_category_model
    from kehu.store.engine import session_factory

    settings = _settings(workspace)
    engine = _engine(settings)
    with console.status("training ..."), session_factory(engine)() as session:
        got = train_category_model(session, actor=SYSTEM, workspace=settings.workspace, folds=folds)
        session.commit()
    labels = ", ".join(f"{k} {v}" for k, v in got["labels"].items())
    out.print(f"trained on {got['examples']:,} labelled texts ({labels}) -> {got['path']}")
    cv = got["cross_validation"]
    if cv is None:
        out.print("too few examples per category for a cross-validated score (3 each needed)")
    else:
        out.print(
            f"{cv['folds']}-fold macro-F1 {cv['macro_f1']:.3f} "
            f"(most common category alone: {cv['majority_macro_f1']:.3f}), "
            f"accuracy {cv['accuracy']:.3f}"
        )


@feedback_app.command("reclassify")
def feedback_reclassify_cmd(workspace: WorkspaceOpt = None) -> None:
    """Categorise again every stored feedback whose category no person set.

    Example:

      kehu feedback reclassify --workspace ws
    """
    from kehu.services.access import SYSTEM
    from kehu.services.feedback import reclassify_feedback
    from kehu.store.engine import session_factory

    settings = _settings(workspace)
    engine = _engine(settings)
    with session_factory(engine)() as session:
        n = reclassify_feedback(session, actor=SYSTEM, workspace=settings.workspace)
        session.commit()
    out.print(f"{n:,} feedback rows categorised again")
