"""Import options: column mapping and the rules applied to real-world rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kehu.exceptions import ConfigError

#: Online Retail's non-product stock codes (postage, fees, manual adjustments,
#: samples, discounts, bad debt, commissions, cushion pads); ``*`` ends a prefix.
NON_PRODUCT_CODES = (
    "POST",
    "DOT",
    "M",
    "C2",
    "D",
    "S",
    "B",
    "BANK CHARGES",
    "AMAZONFEE",
    "CRUK",
    "PADS",
    "GIFT_0001_*",
)
#: Words in a product name or code that mark a fee rather than a product.  ("carriage"
#: is left out: Online Retail sells carriage clocks and carriage lanterns.)
NON_PRODUCT_WORDS = ("运费", "邮费", "手续费", "快递费", "配送费", "包装费", "postage")
#: Status values (compared case-insensitively) of cancelled or returned lines.
RETURN_STATUSES = (
    "退货",
    "已退货",
    "退款",
    "已退款",
    "取消",
    "已取消",
    "作废",
    "已作废",
    "cancelled",
    "canceled",
    "cancel",
    "returned",
    "return",
    "refunded",
    "refund",
    "void",
)
#: Order-id prefixes of cancellation invoices (Online Retail's ``C536379``); a
#: prefix only counts when a digit follows it.
RETURN_PREFIXES = ("C",)

_CHOICES = {
    "returns": ("net", "exclude"),
    "non_product": ("exclude", "keep"),
    "zero_price": ("exclude", "keep"),
    "duplicates": ("auto", "drop", "keep"),
}


@dataclass
class ImportOptions:
    """How source files are read and which rows are kept.

    Parameters
    ----------
    mapping
        Canonical field -> source header, for headers not recognised
        (``{"amount": "实收金额"}``).
    returns
        ``"net"`` keeps cancellations and returns as negative lines
        (``is_return`` true) so they net against purchases; ``"exclude"`` sets
        them aside.
    non_product, zero_price
        ``"exclude"`` (default) sets aside fee/postage lines and lines whose
        unit price is 0; ``"keep"`` keeps them.
    duplicates
        ``"auto"`` drops exact duplicate lines that carry an order id (without
        one, two identical purchases on a day cannot be told from a repeated
        line); ``"drop"`` drops every exact duplicate; ``"keep"`` keeps them.
    non_product_codes, non_product_words, return_statuses, return_prefixes
        The lists behind those rules (see the module constants).
    encoding
        CSV encoding; default detected (UTF-8 or GB18030).
    sheet
        Excel sheet name or 0-based index; default the first sheet.
    """

    mapping: dict[str, str] = field(default_factory=dict)
    returns: str = "net"
    non_product: str = "exclude"
    zero_price: str = "exclude"
    duplicates: str = "auto"
    non_product_codes: tuple[str, ...] = NON_PRODUCT_CODES
    non_product_words: tuple[str, ...] = NON_PRODUCT_WORDS
    return_statuses: tuple[str, ...] = RETURN_STATUSES
    return_prefixes: tuple[str, ...] = RETURN_PREFIXES
    encoding: str | None = None
    sheet: str | int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.mapping, Mapping):
            raise ConfigError("mapping must map canonical names to source headers")
        self.mapping = {str(k).strip(): str(v).strip() for k, v in self.mapping.items()}
        for name, allowed in _CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"{name}={value!r}: expected one of {', '.join(allowed)}")
        for name in ("non_product_codes", "non_product_words", "return_statuses"):
            setattr(self, name, _strings(name, getattr(self, name)))
        self.return_prefixes = _strings("return_prefixes", self.return_prefixes)

    @classmethod
    def from_strings(cls, items: Iterable[str], **kwargs: Any) -> ImportOptions:
        """Options from ``--map`` values such as ``"amount=实收金额"``.

        Raises :class:`ConfigError` for an item without ``=`` or with an empty side.
        """
        mapping: dict[str, str] = {}
        for item in items:
            key, sep, header = str(item).partition("=")
            if not sep or not key.strip() or not header.strip():
                raise ConfigError(
                    f"--map {item!r}: expected canonical_name=source header, e.g. amount=实收金额"
                )
            mapping[key.strip()] = header.strip()
        return cls(mapping={**kwargs.pop("mapping", {}), **mapping}, **kwargs)

    @classmethod
    def from_file(cls, path: str | Path) -> ImportOptions:
        """Options from a YAML or JSON file: option names as keys, ``map`` for the mapping."""
        import yaml

        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8-sig")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{p}: cannot read import options ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: expected a mapping of option names to values")
        data = dict(data.get("import", data))
        mapping = data.pop("map", data.pop("mapping", {})) or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{p}: unknown option(s) {', '.join(unknown)}")
        return cls(mapping=mapping, **data)


def _strings(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    try:
        return tuple(str(v) for v in value)
    except TypeError:
        raise ConfigError(f"{name}: expected a list of text values") from None
