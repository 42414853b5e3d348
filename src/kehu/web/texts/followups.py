"""Strings of the followups pages."""

TEXTS: dict[str, tuple[str, str]] = {}
