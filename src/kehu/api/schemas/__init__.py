"""Request and response bodies, separate from the tables (no password hash ever leaves)."""
