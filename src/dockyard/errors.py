"""Every error Dockyard raises on purpose, in one tree.

Each error carries the HTTP status it maps to, a stable machine-readable ``code`` and,
for bad input, the ``field`` it concerns. The web layer renders all of them in one place
(``dockyard.web.errors``); the CLI prints ``message``; a failed job stores it.

    DockyardError                    500  something went wrong that is not the user's fault
    ├── InputError                   422  a file, SMILES, box or parameter is unusable
    │   ├── UnsupportedFileError     415  a file of the wrong kind for its field
    │   ├── UnsupportedMediaError    415  a request body of the wrong content type
    │   ├── FileTooLargeError        413  an upload over the size limit
    │   └── TooComplexError          422  chemistry on it ran over its time or memory limit
    ├── AuthenticationError          401  no valid session or API token
    ├── ForbiddenError               403  refused: from another site, or allowed to see, not to do
    ├── NotFoundError                404  no such job or file (or not the caller's to see)
    ├── ConflictError                409  the job is not in a state that allows this
    ├── QuotaError                   429  over a per-user limit (413 for stored bytes)
    ├── DockingError                 500  Vina or a preparation step failed at run time
    ├── BusyError                    503  every chemistry process is busy; retry after a while
    └── UnavailableError             503  a part the server needs (its database) does not
        │                                 answer for now: nothing was lost, try again
        └── StorageFullError         507  the disk that holds the data is full

An error with a ``retry_after`` (seconds) tells the client when to try again: the web layer
sends it as the ``Retry-After`` header.

Errors cross process boundaries intact (``__reduce__``): one raised in a chemistry worker
process is raised again in the web process with its field and code.
"""

from __future__ import annotations

import errno


class DockyardError(Exception):
    """Root of the tree; ``str(error)`` is a sentence a person can act on."""

    status_code = 500
    code = "internal_error"
    retry_after: int | None = None

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        if retry_after is not None:
            self.retry_after = retry_after

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}

    def __reduce__(self) -> tuple[object, ...]:
        # The default pickles only ``args`` and would lose the keyword-only field and code.
        return (_restore, (type(self), self.message), dict(self.__dict__))


def _restore(cls: type[DockyardError], message: str) -> DockyardError:
    """An error of ``cls`` without calling its ``__init__`` (subclasses differ in theirs);
    pickle then puts back its attributes."""
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    return error


class InputError(DockyardError):
    status_code = 422
    code = "invalid_input"


class UnsupportedFileError(InputError):
    status_code = 415
    code = "unsupported_file"


class UnsupportedMediaError(InputError):
    status_code = 415
    code = "unsupported_media_type"


class FileTooLargeError(InputError):
    status_code = 413
    code = "file_too_large"


class AuthenticationError(DockyardError):
    status_code = 401
    code = "not_authenticated"


class ForbiddenError(DockyardError):
    status_code = 403
    code = "forbidden"


class QuotaError(DockyardError):
    status_code = 429
    code = "quota_exceeded"


class NotFoundError(DockyardError):
    status_code = 404
    code = "not_found"


class ConflictError(DockyardError):
    status_code = 409
    code = "conflict"


class DockingError(DockyardError):
    code = "docking_failed"


class TooComplexError(InputError):
    """Chemistry on an input ran over its time or memory limit and was stopped."""

    code = "too_complex"


class BusyError(DockyardError):
    """Every chemistry process is busy and the queue in front of them is full."""

    status_code = 503
    code = "busy"

    def __init__(self, message: str, *, retry_after: int):
        """``retry_after``: seconds after which a retry has a free place."""
        super().__init__(message, retry_after=retry_after)


class UnavailableError(DockyardError):
    """Transient: the request was fine and may succeed as it is a little later."""

    status_code = 503
    code = "unavailable"
    retry_after = 5


class StorageFullError(UnavailableError):
    """The database or the data directory ran out of space; it clears once space is freed."""

    status_code = 507
    code = "storage_full"
    retry_after = 60

    @classmethod
    def because(cls, what: str) -> StorageFullError:
        """The one message for a full disk, whichever layer noticed it."""
        return cls(
            f"The server's disk is full: {what} could not be written. Nothing stored before "
            "was lost. Free space on the disk that holds the server's data (its database and "
            "DOCKYARD_DATA_DIR), then try again."
        )

    @classmethod
    def from_os_error(cls, error: OSError) -> StorageFullError | None:
        """The error a full disk or quota raised as an ``OSError`` means, else None."""
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            return None
        return cls.because(f"a file ({error.filename or 'unnamed'})")
