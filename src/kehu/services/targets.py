"""Monthly targets (目标): sales and active customers per rep, region, channel or distributor.

Managers and admins (``targets.manage``) set, list and delete targets; a sales rep reads only
their own rep targets.  Every change is audited in the caller's transaction.  An upload
(CSV or Excel) is checked whole before anything is written: an error names the file, the row
(as a spreadsheet numbers it, header = row 1) and the column, and then nothing is written;
uploading the same month again updates its targets (idempotent).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.exceptions import NotFoundError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.store.models import Customer, Target, User
from kehu.store.models.people import TARGET_DIMENSIONS

MANAGE = "targets.manage"
#: what a target is set for, in display order
DIMENSIONS = TARGET_DIMENSIONS
#: the customer field each dimension groups by
DIMENSION_FIELD = {
    "rep": Customer.sales_rep,
    "region": Customer.region,
    "channel": Customer.channel,
    "distributor": Customer.distributor,
}
MAX_SALES = Decimal("999999999999.99")
MAX_ACTIVE = 10_000_000
MAX_ROWS = 5_000
#: upload columns: the English name and the Chinese headers taken for it
COLUMNS = {
    "month": ("month", "月份"),
    "dimension": ("dimension", "维度"),
    "name": ("name", "名称"),
    "sales": ("sales", "销售目标", "销售额目标"),
    "active_customers": ("active_customers", "活跃客户目标", "活跃客户"),
}
DIMENSION_WORDS = {"业务员": "rep", "区域": "region", "渠道": "channel", "经销商": "distributor"}


def first_of_month(value: Any) -> dt.date:
    """A month as its first day, from a date or ``YYYY-MM`` / ``YYYY-MM-DD`` text."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = str(value).strip().replace("/", "-")
    try:
        if len(text) <= 7:
            year, month = text.split("-")
            return dt.date(int(year), int(month), 1)
        return dt.date.fromisoformat(text[:10]).replace(day=1)
    except ValueError:
        raise SchemaError(f"month {text!r} is not a month (YYYY-MM)") from None


def target_dict(t: Target) -> dict[str, Any]:
    return {
        "month": t.month,
        "dimension": t.dimension,
        "name": t.name,
        "sales": None if t.sales is None else float(t.sales),
        "active_customers": t.active_customers,
        "set_by": t.set_by,
        "updated_at": t.updated_at,
    }


def list_targets(
    session: Session,
    *,
    actor: Actor,
    month: dt.date | None = None,
    dimension: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Targets, newest month first.  A rep gets only their own rep targets; other roles
    without ``targets.manage`` are refused."""
    stmt = select(Target)
    if not actor.can(MANAGE):
        if not actor.is_rep:
            require(actor, MANAGE)
        stmt = stmt.where(Target.dimension == "rep", Target.name == (actor.rep_name or ""))
    if month is not None:
        stmt = stmt.where(Target.month == first_of_month(month))
    if dimension is not None:
        stmt = stmt.where(Target.dimension == _dimension(dimension))
    stmt = stmt.order_by(Target.month.desc(), Target.dimension, Target.name).limit(limit)
    return [target_dict(t) for t in session.scalars(stmt)]


def known_names(session: Session, dimension: str, limit: int = 500) -> list[str]:
    """The names a target of ``dimension`` may be set for (values of the customers' field;
    for reps also the reps among the users), sorted."""
    field = DIMENSION_FIELD[_dimension(dimension)]
    names = set(session.scalars(select(field).where(field.is_not(None)).distinct().limit(limit)))
    if dimension == "rep":
        names |= set(session.scalars(select(User.rep_name).where(User.rep_name.is_not(None))))
    return sorted(n for n in names if n)


def _dimension(value: str) -> str:
    value = DIMENSION_WORDS.get(str(value).strip(), str(value).strip())
    if value not in TARGET_DIMENSIONS:
        raise SchemaError(f"dimension {value!r} is not one of {', '.join(TARGET_DIMENSIONS)}")
    return value


def _name_exists(session: Session, dimension: str, name: str) -> bool:
    field = DIMENSION_FIELD[dimension]
    if session.scalar(select(Customer.id).where(field == name).limit(1)) is not None:
        return True
    if dimension == "rep":
        return session.scalar(select(User.id).where(User.rep_name == name).limit(1)) is not None
    return False


def _amount(value: Any, what: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise SchemaError(f"{what} {value!r} is not a number") from None
    if not number.is_finite() or number < 0 or number > MAX_SALES:
        raise SchemaError(f"{what} must be a number from 0 to {MAX_SALES}")
    return number.quantize(Decimal("0.01"))


def _count(value: Any, what: str) -> int | None:
    number = _amount(value, what)
    if number is None:
        return None
    if number != number.to_integral_value() or number > MAX_ACTIVE:
        raise SchemaError(f"{what} must be a whole number from 0 to {MAX_ACTIVE}")
    return int(number)


def check_row(session: Session, row: dict[str, Any]) -> dict[str, Any]:
    """One target checked: ``month``, ``dimension``, an existing ``name``, numbers >= 0.

    Raises :class:`SchemaError` naming the field (``field`` attribute) that is wrong.
    """
    out: dict[str, Any] = {}
    for field, check in (
        ("month", lambda v: first_of_month(v)),
        ("dimension", _dimension),
        ("name", _name),
        ("sales", lambda v: _amount(v, "sales")),
        ("active_customers", lambda v: _count(v, "active_customers")),
    ):
        value = row.get(field)
        if field in ("month", "dimension", "name") and (value is None or not str(value).strip()):
            raise _at(SchemaError(f"{field} is required"), field)
        try:
            out[field] = check(value)
        except SchemaError as exc:
            raise _at(exc, field) from None
    if out["sales"] is None and out["active_customers"] is None:
        raise _at(SchemaError("give a sales or an active-customer target"), "sales")
    if not _name_exists(session, out["dimension"], out["name"]):
        raise _at(SchemaError(f"no {out['dimension']} named {out['name']!r}"), "name")
    return out


def _name(value: Any) -> str:
    name = str(value).strip()
    if len(name) > 100:
        raise SchemaError("name is longer than 100 characters")
    return name


def _at(exc: SchemaError, field: str) -> SchemaError:
    exc.field = field  # type: ignore[attr-defined]
    return exc


def set_targets(
    session: Session, *, actor: Actor, rows: list[dict[str, Any]], source: str = "api"
) -> list[dict[str, Any]]:
    """Set (insert or update) targets; all rows are checked before any is written.

    Each row: ``month``, ``dimension``, ``name``, ``sales``, ``active_customers``.  Raises
    :class:`SchemaError` (with ``row``: its index, and ``field``) on the first bad row.
    """
    require(actor, MANAGE)
    if len(rows) > MAX_ROWS:
        raise SchemaError(f"at most {MAX_ROWS} targets at once")
    checked = []
    seen: set[tuple[Any, ...]] = set()
    for i, row in enumerate(rows):
        try:
            got = check_row(session, row)
        except SchemaError as exc:
            exc.row = i  # type: ignore[attr-defined]
            raise
        key = (got["month"], got["dimension"], got["name"])
        if key in seen:
            exc = _at(SchemaError(f"target {key[1]} {key[2]!r} given twice"), "name")
            exc.row = i  # type: ignore[attr-defined]
            raise exc
        seen.add(key)
        checked.append(got)
    out = []
    for got in checked:
        target = session.scalar(
            select(Target).where(
                Target.month == got["month"],
                Target.dimension == got["dimension"],
                Target.name == got["name"],
            )
        )
        before = {} if target is None else _values(target)
        if target is None:
            target = Target(month=got["month"], dimension=got["dimension"], name=got["name"])
            session.add(target)
        target.sales = got["sales"]
        target.active_customers = got["active_customers"]
        target.set_by = actor.username
        session.flush()
        after = _values(target)
        audit.record(
            session,
            actor=actor,
            action="create" if not before else "update",
            entity="target",
            entity_id=f"{got['month']:%Y-%m}/{got['dimension']}/{got['name']}",
            changes=audit.diff(before, after),
            note=source,
        )
        out.append(target_dict(target))
    return out


def _values(t: Target) -> dict[str, Any]:
    return {
        "sales": None if t.sales is None else str(t.sales),
        "active_customers": t.active_customers,
    }


def delete_target(session: Session, *, actor: Actor, month: Any, dimension: str, name: str) -> None:
    """Delete one target; :class:`NotFoundError` when there is none."""
    require(actor, MANAGE)
    month = first_of_month(month)
    dimension = _dimension(dimension)
    target = session.scalar(
        select(Target).where(
            Target.month == month, Target.dimension == dimension, Target.name == name
        )
    )
    if target is None:
        raise NotFoundError(f"no target {dimension} {name!r} for {month:%Y-%m}")
    audit.record(
        session,
        actor=actor,
        action="delete",
        entity="target",
        entity_id=f"{month:%Y-%m}/{dimension}/{name}",
        changes={"sales": [_values(target)["sales"], None]},
    )
    session.delete(target)
    session.flush()


class UploadError(SchemaError):
    """A bad cell of an uploaded file: names the file, the row and the column."""

    def __init__(self, file: str, row: int, column: str, reason: str):
        super().__init__(f"{file}, row {row}, column {column}: {reason}")
        self.file, self.row, self.column, self.reason = file, row, column, reason


def read_upload(filename: str, data: bytes) -> list[dict[str, Any]]:
    """The rows of an uploaded CSV (UTF-8, or GBK as Chinese Excel saves it) or Excel file,
    keyed by column, each with ``_row`` (the spreadsheet's row number)."""
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")):
        table = _excel_rows(filename, data)
    elif name.endswith((".csv", ".txt")):
        table = _csv_rows(filename, data)
    else:
        raise UploadError(filename, 0, "-", "upload a .csv or .xlsx file")
    if not table:
        raise UploadError(filename, 1, "-", "the file is empty")
    header = [str(h or "").strip().lstrip("\ufeff") for h in table[0]]
    where: dict[str, int] = {}
    for key, names in COLUMNS.items():
        for i, h in enumerate(header):
            if h.lower() in names:
                where[key] = i
    for key in ("month", "dimension", "name"):
        if key not in where:
            raise UploadError(filename, 1, COLUMNS[key][0], "the column is missing")
    if "sales" not in where and "active_customers" not in where:
        raise UploadError(filename, 1, "sales", "the column is missing")
    rows = []
    for n, cells in enumerate(table[1:], start=2):
        if not any(c not in (None, "") and str(c).strip() for c in cells):
            continue
        row = {k: (cells[i] if i < len(cells) else None) for k, i in where.items()}
        row["_row"] = n
        rows.append(row)
    if len(rows) > MAX_ROWS:
        raise UploadError(filename, MAX_ROWS + 2, "-", f"at most {MAX_ROWS} rows")
    return rows


def _csv_rows(filename: str, data: bytes) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any bytes
        raise UploadError(filename, 1, "-", "the file is not text")
    try:
        return [row for row in csv.reader(io.StringIO(text))][: MAX_ROWS + 2]
    except csv.Error as exc:
        raise UploadError(filename, 1, "-", f"not a CSV file ({exc})") from None


def _excel_rows(filename: str, data: bytes) -> list[list[Any]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a damaged or foreign file: say so, never a 500
        raise UploadError(filename, 1, "-", "not an Excel .xlsx file") from None
    try:
        sheet = wb.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
    finally:
        wb.close()


def upload_targets(
    session: Session, *, actor: Actor, filename: str, data: bytes
) -> list[dict[str, Any]]:
    """Set the targets of an uploaded file: all rows or none (see :func:`read_upload`)."""
    require(actor, MANAGE)
    rows = read_upload(filename, data)
    try:
        return set_targets(
            session,
            actor=actor,
            rows=[{k: v for k, v in r.items() if k != "_row"} for r in rows],
            source=f"upload {filename}"[:200],
        )
    except UploadError:
        raise
    except SchemaError as exc:
        i = getattr(exc, "row", 0)
        field = getattr(exc, "field", "-")
        line = rows[i]["_row"] if rows else 1
        raise UploadError(filename, line, field, str(exc)) from None


def may_read(actor: Actor) -> bool:
    """Whether the actor may read targets at all (their own, for a rep)."""
    return actor.can(MANAGE) or actor.is_rep
