"""What routes depend on: the job store, the runner, the chemistry pool, the change feed, the
settings the app was made with, and who is asking (``CurrentUser``, ``SubmitterDep``: see
:mod:`dockyard.web.auth`).

``create_app`` puts them on ``app.state``; routes name them by these ``Annotated`` aliases,
so a test app with other ones needs no overrides.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dockyard.config import Settings
from dockyard.jobs.store import Store
from dockyard.runners import Runner
from dockyard.runners.chemistry import ChemistryPool
from dockyard.web.auth import CurrentUser, SubmitterDep
from dockyard.web.feed import ChangeFeed


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_runner(request: Request) -> Runner:
    return request.app.state.runner


def get_chemistry(request: Request) -> ChemistryPool:
    """Where a route sends chemistry: the web process runs none itself."""
    return request.app.state.chemistry


def get_feed(request: Request) -> ChangeFeed:
    """The server's one change feed, shared by every event stream."""
    return request.app.state.feed


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


StoreDep = Annotated[Store, Depends(get_store)]
RunnerDep = Annotated[Runner, Depends(get_runner)]
ChemistryDep = Annotated[ChemistryPool, Depends(get_chemistry)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
FeedDep = Annotated[ChangeFeed, Depends(get_feed)]

__all__ = ["CurrentUser", "FeedDep", "RunnerDep", "SettingsDep", "StoreDep", "SubmitterDep"]
