"""The ``dockyard`` command: run the server, dock without one, or talk to a running one.

One module per group of commands; each registers its commands on :data:`app`.
"""

from dockyard.cli import (  # noqa: F401  (registers the commands)
    archives,
    dock,
    prepare,
    purge,
    remote,
    screen,
    serve,
    users,
    worker,
)
from dockyard.cli.common import app

__all__ = ["app"]
