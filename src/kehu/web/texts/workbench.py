"""Strings of the workbench pages."""

TEXTS: dict[str, tuple[str, str]] = {}
