"""Receptors by identifier: a PDB id from RCSB or a UniProt accession from AlphaFold DB.

Off unless the caller allows the network (``dockyard prepare --pdb-id 1IEP --allow-network``):
a server without internet must never try. The text fetched is then prepared like an upload.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

from dockyard.errors import InputError

PDB_URL = "https://files.rcsb.org/download/{id}.cif"
ALPHAFOLD_URL = "https://alphafold.ebi.ac.uk/files/AF-{id}-F1-model_v4.cif"
_PDB_ID = re.compile(r"^[0-9][A-Za-z0-9]{3}$")
_UNIPROT = re.compile(r"^[A-Za-z0-9]{6,10}$")
TIMEOUT = 30


def fetch_structure(identifier: str, *, allow_network: bool = False) -> tuple[str, str]:
    """(mmCIF text, "cif") for a PDB id (4 characters) or a UniProt accession (AlphaFold)."""
    ident = (identifier or "").strip()
    if _PDB_ID.match(ident):
        url, what = PDB_URL.format(id=ident.upper()), f"PDB entry {ident.upper()}"
    elif _UNIPROT.match(ident):
        url, what = ALPHAFOLD_URL.format(id=ident.upper()), f"AlphaFold model of {ident.upper()}"
    else:
        raise InputError(
            f"{identifier!r} is neither a PDB id (e.g. 1IEP) nor a UniProt accession "
            "(e.g. P00519).",
            field="receptor",
        )
    if not allow_network:
        raise InputError(
            f"Fetching the {what} needs the internet, which is off; download it and upload "
            "the file, or allow network access.",
            field="receptor",
        )
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.read().decode("utf-8", "replace"), "cif"
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise InputError(
            f"Could not fetch the {what} from {url}: {error}", field="receptor"
        ) from None
