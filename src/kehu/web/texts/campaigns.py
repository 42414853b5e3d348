"""Strings of the campaigns pages."""

TEXTS: dict[str, tuple[str, str]] = {}
