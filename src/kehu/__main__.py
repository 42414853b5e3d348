"""``python -m kehu``: the same as the ``kehu`` command."""

from kehu.cli.main import run

run()
