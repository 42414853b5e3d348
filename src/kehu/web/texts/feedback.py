"""Strings of the feedback pages."""

TEXTS: dict[str, tuple[str, str]] = {}
