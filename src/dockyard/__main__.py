"""``python -m dockyard`` is the ``dockyard`` command."""

from dockyard.cli import app

app(prog_name="dockyard")
