"""Archives: a finished job or screen as one zip (``GET …/archive.zip``), and its import
(``POST /api/archives``). The format is :mod:`dockyard.jobs.archive_format`.

The export streams as it is written; the import only checks and copies stored data (no
chemistry runs in the web process).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from dockyard.errors import NotFoundError
from dockyard.jobs.archive import ArchiveExport
from dockyard.jobs.archive_format import MEDIA_TYPE
from dockyard.jobs.archive_import import ArchiveLimits, import_archive
from dockyard.jobs.models import SCREEN_KIND
from dockyard.web.auth import check_stored_bytes, usage_of
from dockyard.web.deps import CurrentUser, SettingsDep, StoreDep
from dockyard.web.forms import StrictMultipart
from dockyard.web.schemas import error_responses
from dockyard.web.types import Id

router = APIRouter(prefix="/api", tags=["archives"], responses=error_responses(404, 422))

ARCHIVE_RESPONSES = {200: {"content": {MEDIA_TYPE: {}}}, **error_responses(409)}


def _stream(export: ArchiveExport) -> StreamingResponse:
    return StreamingResponse(
        export.chunks(),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


def _server(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get(
    "/jobs/{job_id}/archive.zip", response_class=StreamingResponse, responses=ARCHIVE_RESPONSES
)
def export_job(job_id: Id, store: StoreDep, request: Request) -> StreamingResponse:
    """The job (a docking or a screen) as one self-describing zip, once it has finished."""
    return _stream(ArchiveExport.open(store, job_id, server=_server(request)))


@router.get(
    "/screens/{screen_id}/archive.zip",
    response_class=StreamingResponse,
    responses=ARCHIVE_RESPONSES,
)
def export_screen(screen_id: Id, store: StoreDep, request: Request) -> StreamingResponse:
    """The screen as one zip: the same archive as ``/api/jobs/{id}/archive.zip``."""
    if store.get_job(screen_id).kind != SCREEN_KIND:
        raise NotFoundError(f"There is no screen {screen_id}.", field="screen_id")
    return _stream(ArchiveExport.open(store, screen_id, server=_server(request)))


@router.post(
    "/archives",
    status_code=201,
    dependencies=[StrictMultipart],
    responses=error_responses(400, 403, 413, 415, 429),
)
def import_job(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    viewer: CurrentUser,
    archive: Annotated[UploadFile, File(description="a zip made by GET …/archive.zip")],
) -> JSONResponse:
    """Restore an archive as a new finished job owned by the caller; answers its id."""
    usage = usage_of(request)
    check_stored_bytes(usage)
    job = import_archive(
        store,
        archive.file,
        limits=ArchiveLimits.from_settings(settings),
        owner_id=viewer.user_id,
        max_ligands=usage.max_screen_ligands if usage else None,
    )
    noun = "screens" if job.kind == SCREEN_KIND else "jobs"
    url = f"/api/{noun}/{job.id}"
    body = {"job_id": job.id, "kind": job.kind, "status": job.status.value, "url": url}
    return JSONResponse(body, status_code=201, headers={"Location": url})
