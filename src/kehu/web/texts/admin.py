"""Strings of the admin pages."""

TEXTS: dict[str, tuple[str, str]] = {}
