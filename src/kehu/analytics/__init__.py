"""Pure analytics over Ibis tables: no I/O, no globals."""
