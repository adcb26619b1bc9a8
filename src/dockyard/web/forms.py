"""The form fields that ``POST /api/jobs``, ``/api/screens`` and ``/api/prepare`` share.

Every field arrives as text and is checked by the science layer, which names the field in
its error; FastAPI itself refuses only a missing required file, so all errors have the same
shape. :data:`StrictMultipart` refuses, before any field is read, a body that is not
``multipart/form-data`` (415) and a field given twice (422: which value was meant is unknown).
"""

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Annotated, Any, BinaryIO

from fastapi import Depends, File, Form, Request, UploadFile
from pydantic import WithJsonSchema

from dockyard.chem import BOX_FIELDS
from dockyard.config import Settings
from dockyard.errors import FileTooLargeError, InputError, UnsupportedMediaError
from dockyard.jobs.notifications import NotificationSettings
from dockyard.jobs.params import OPTION_FIELDS
from dockyard.jobs.store import Store
from dockyard.jobs.submit import PREPARATION_FIELDS, DockRequest, Upload
from dockyard.runners.addresses import resolve
from dockyard.web.schemas import error_responses

MULTIPART = "multipart/form-data"

# Optional fields are None when absent, but a multipart form cannot send a null: the schema
# says "a file" or "a string", not "or null" (which a client would send as the text "null").
FILE_SCHEMA = WithJsonSchema({"type": "string", "contentMediaType": "application/octet-stream"})
TEXT_SCHEMA = WithJsonSchema({"type": "string"})
OptionalFile = Annotated[UploadFile | None, File(), FILE_SCHEMA]
OptionalText = Annotated[str | None, Form(), TEXT_SCHEMA]
ReceptorFile = Annotated[UploadFile, File(description=".pdb, .cif or .pdbqt")]
WebhookText = Annotated[
    str | None,
    Form(description="POST the job's end here (signed JSON); see the README's Notifications"),
    TEXT_SCHEMA,
]
MAX_EMAIL_LENGTH = 254


async def strict_multipart(request: Request) -> None:
    """Refuse a body that is not a multipart form, and a form that gives a field twice."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != MULTIPART:
        given = content_type or "no content type"
        raise UnsupportedMediaError(
            f"This endpoint takes a {MULTIPART} body (a form with file uploads), not {given}.",
            field="Content-Type",
        )
    form = await request.form()
    counts = Counter(name for name, _value in form.multi_items())
    repeated = [name for name, count in counts.items() if count > 1]
    if repeated:
        name = repeated[0]
        raise InputError(f"The {name} field is given more than once; give it once.", field=name)


StrictMultipart = Depends(strict_multipart)
FORM_ERRORS = error_responses(400, 403, 413, 415, 422, 429)
"""What a form post may answer besides its result."""


def _text(description: str) -> Any:
    return Annotated[str | None, Form(description=description), TEXT_SCHEMA]


def read_upload(upload: UploadFile | None, field: str, max_bytes: int) -> Upload | None:
    """Read at most one byte past the limit, so a huge upload is refused without loading it."""
    if upload is None or not upload.filename:
        return None
    stream: BinaryIO = upload.file
    content = stream.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise FileTooLargeError(
            f"The {field} file is larger than the limit of {max_bytes / 1e6:.1f} MB.", field=field
        )
    return Upload(upload.filename, content)


@dataclass
class TargetForm:
    """Where to dock and how to prepare the receptor: the box and the preparation options."""

    center_x: str | None
    center_y: str | None
    center_z: str | None
    size_x: str | None
    size_y: str | None
    size_z: str | None
    padding: str | None
    box_residues: str | None
    blind: str | None
    pocket: str | None
    ph: str | None
    keep_waters: str | None
    keep_hetero: str | None
    altloc: str | None
    stereo: str | None
    accept_warnings: str | None

    def request(self, **fields: Any) -> DockRequest:
        """A DockRequest with this target; ``fields`` adds the receptor, ligand and options."""
        values = asdict(self)
        return DockRequest(
            box={name: values[name] for name in BOX_FIELDS},
            padding=self.padding,
            box_residues=self.box_residues,
            blind=self.blind,
            pocket=self.pocket,
            preparation={name: values[name] for name in PREPARATION_FIELDS},
            accept_warnings=self.accept_warnings,
            **fields,
        )


def target_form(
    center_x: _text("box centre x (Å)") = None,
    center_y: _text("box centre y (Å)") = None,
    center_z: _text("box centre z (Å)") = None,
    size_x: _text("box size x (Å)") = None,
    size_y: _text("box size y (Å)") = None,
    size_z: _text("box size z (Å)") = None,
    padding: _text("Å around a reference ligand or residues (default 4)") = None,
    box_residues: _text("box around residues, e.g. 'A:GLU:286, A:THR:315'") = None,
    blind: _text("true: box around the whole protein") = None,
    pocket: _text("rank of a detected pocket as the box") = None,
    ph: _text("pH for protonation states (default 7.4; 'none' keeps them)") = None,
    keep_waters: _text("waters to keep: chain:number list, or 'all'") = None,
    keep_hetero: _text("auto (default), none, metals, cofactors, or residue names/ids") = None,
    altloc: _text("alternate location to keep (default: highest occupancy)") = None,
    stereo: _text("unspecified stereocentres: flag (default) or enumerate") = None,
    accept_warnings: _text(
        "true: dock a receptor of under 20 residues or a ligand with radicals, with a warning"
    ) = None,
) -> TargetForm:
    return TargetForm(**{name: value for name, value in locals().items()})


@dataclass
class OptionsForm:
    exhaustiveness: str | None
    num_poses: str | None
    energy_range: str | None
    seed: str | None
    scoring: str | None
    ring_conformers: str | None
    effort: str | None

    def values(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in OPTION_FIELDS}


def options_form(
    exhaustiveness: _text("search effort, 1-64 (default 8)") = None,
    num_poses: _text("poses to keep, 1-20") = None,
    energy_range: _text("kcal/mol above the best pose (default 3)") = None,
    seed: _text("random seed (default: drawn and recorded)") = None,
    scoring: _text("vina (default) or vinardo") = None,
    ring_conformers: _text("starting ring conformations, 1-8 (default 3; 1 for speed)") = None,
    effort: _text(
        "fixed (default: one search of exhaustiveness chains) or auto (rounds of a few chains "
        "until the best pose repeats; exhaustiveness unused)"
    ) = None,
) -> OptionsForm:
    return OptionsForm(
        exhaustiveness, num_poses, energy_range, seed, scoring, ring_conformers, effort
    )


TargetFormDep = Annotated[TargetForm, Depends(target_form)]
OptionsFormDep = Annotated[OptionsForm, Depends(options_form)]


def checked_webhook(url: str | None, settings: Settings, field: str = "webhook_url") -> str | None:
    """A webhook URL this server may sign and send to (None when blank), or a refusal naming
    ``field``: the server must have a signing secret, and the URL must pass the address guard
    (:mod:`dockyard.runners.addresses`)."""
    if url is None or not url.strip():
        return None
    if not settings.webhook_secret:
        raise InputError(
            "This server cannot sign webhooks: an admin must set DOCKYARD_WEBHOOK_SECRET.",
            field=field,
            code="webhooks_off",
        )
    resolve(url, settings.webhook_allowed_hosts, field)
    return url.strip()


def checked_email(address: str | None, field: str = "email") -> str | None:
    """An e-mail address fit for a To header (None when blank)."""
    if address is None or not address.strip():
        return None
    text = address.strip()
    local, at, domain = text.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or len(text) > MAX_EMAIL_LENGTH
        or any(c.isspace() or c in '<>,;"' for c in text)
    ):
        raise InputError(f"{field} {text!r} is not an e-mail address.", field=field)
    return text


def update_notifications(
    store: Store, settings: Settings, user_id: int, given: dict[str, Any]
) -> NotificationSettings:
    """Check and store the notification settings in ``given`` (those absent stay as they
    are): the API and the account page both come here."""
    values: dict[str, Any] = {}
    if "webhook_url" in given:
        values["webhook_url"] = checked_webhook(given["webhook_url"], settings)
    if "email" in given:
        values["email"] = checked_email(given["email"])
    if given.get("email_on_finish") is not None:
        values["email_on_finish"] = bool(given["email_on_finish"])
    current = store.notifications.settings_of(user_id)
    if values.get("email_on_finish", current.email_on_finish):
        if not settings.smtp_host:
            raise InputError(
                "This server sends no e-mail: an admin must set DOCKYARD_SMTP_HOST.",
                field="email_on_finish",
            )
        if not values.get("email", current.email):
            raise InputError("Give an email address to be told at.", field="email")
    return store.notifications.set_settings(user_id, **values)
