"""``/api/shares/{job_id}``: the groups a job or screen is shared with, read-only.

Only the job's owner (or an admin) may share it or stop sharing it; members of a group it is
shared with read it (the gate in :mod:`dockyard.web.auth` answers 403 to their changes, and
404 to anyone else).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel

from dockyard.web.deps import StoreDep
from dockyard.web.schemas import error_responses
from dockyard.web.types import Id, Label

router = APIRouter(
    prefix="/api/shares", tags=["accounts"], responses=error_responses(400, 404, 422)
)


class Shares(BaseModel):
    job_id: int
    groups: list[str]


@router.get("/{job_id}", response_model=Shares)
def list_shares(job_id: Id, store: StoreDep) -> Shares:
    return Shares(job_id=job_id, groups=store.accounts.shared_with(job_id))


@router.post("/{job_id}", response_model=Shares)
def share(job_id: Id, store: StoreDep, group: Annotated[Label, Body(embed=True)]) -> Shares:
    """Let the members of ``group`` read this job or screen (with its chunks)."""
    store.accounts.share(job_id, group)
    return list_shares(job_id, store)


@router.delete("/{job_id}/{group}", response_model=Shares)
def unshare(job_id: Id, group: Label, store: StoreDep) -> Shares:
    store.accounts.unshare(job_id, group)
    return list_shares(job_id, store)
