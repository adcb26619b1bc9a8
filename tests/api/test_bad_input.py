"""Every kind of bad input gets a 4xx naming the field, creates no job, and the server goes on."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer

NOT_A_STRUCTURE = b"Dear colleague,\nplease find attached the protein.\n"
PDBQT_GARBAGE = b"ATOM      1  N   MET A   1      xx.xxx  yy.yyy  zz.zzz  1.00  0.00     0.000 QQ\n"

# (case, how to change the good submission, status, field)
CASES = [
    ("receptor missing", {"drop_files": ["receptor"]}, 422, "receptor"),
    ("receptor pdb unparsable", {"receptor": ("r.pdb", NOT_A_STRUCTURE)}, 422, "receptor"),
    ("receptor pdb no atoms", {"receptor": ("r.pdb", b"HEADER    EMPTY\nEND\n")}, 422, "receptor"),
    ("receptor pdbqt garbage", {"receptor": ("r.pdbqt", PDBQT_GARBAGE)}, 422, "receptor"),
    ("receptor empty", {"receptor": ("r.pdbqt", b"")}, 422, "receptor"),
    ("receptor wrong kind", {"receptor": ("r.docx", b"PK\x03\x04")}, 415, "receptor"),
    ("receptor binary", {"receptor": ("r.pdb", b"\x00\x01\x02" * 100)}, 415, "receptor"),
    ("receptor too large", {"receptor": ("r.pdb", b"REMARK\n" * 400_000)}, 413, "receptor"),
    ("smiles invalid", {"smiles": "C1CC(=O"}, 422, "smiles"),
    ("smiles nonsense", {"smiles": "this is not a molecule"}, 422, "smiles"),
    ("no ligand", {"smiles": ""}, 422, "ligand"),
    ("ligand and smiles", {"ligand": ("l.sdf", b"x")}, 422, "ligand"),
    ("ligand not a molecule", {"smiles": "", "ligand": ("l.sdf", NOT_A_STRUCTURE)}, 422, "ligand"),
    ("ligand mol2 garbage", {"smiles": "", "ligand": ("l.mol2", NOT_A_STRUCTURE)}, 422, "ligand"),
    ("ligand wrong kind", {"smiles": "", "ligand": ("l.png", b"\x89PNG")}, 415, "ligand"),
    ("center missing", {"center_x": ""}, 422, "center_x"),
    ("center not a number", {"center_y": "north"}, 422, "center_y"),
    ("center nan", {"center_z": "nan"}, 422, "center_z"),
    ("size infinite", {"size_x": "inf"}, 422, "size_x"),
    ("size zero", {"size_y": "0"}, 422, "size_y"),
    ("size negative", {"size_z": "-5"}, 422, "size_z"),
    ("size absurd", {"size_x": "5000"}, 422, "size_x"),
    ("scoring unknown", {"scoring": "ad5"}, 422, "scoring"),
    ("effort unknown", {"effort": "max"}, 422, "effort"),
    ("exhaustiveness zero", {"exhaustiveness": "0"}, 422, "exhaustiveness"),
    ("exhaustiveness huge", {"exhaustiveness": "100000"}, 422, "exhaustiveness"),
    ("exhaustiveness text", {"exhaustiveness": "lots"}, 422, "exhaustiveness"),
    ("num_poses out of range", {"num_poses": "500"}, 422, "num_poses"),
    ("energy_range negative", {"energy_range": "-1"}, 422, "energy_range"),
    ("seed not an integer", {"seed": "1.5"}, 422, "seed"),
    ("padding not a number", {"reference": True, "padding": "wide"}, 422, "padding"),
    ("reference not a molecule", {"reference": NOT_A_STRUCTURE}, 422, "reference_ligand"),
]


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    """One server per database for the whole module: no test here makes a job."""
    return shared_server


@pytest.mark.parametrize(("case", "change", "status", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_by_field(
    server, small_job, imatinib_sdf, case, change, status, field
):
    fields, files = small_job()
    change = dict(change)
    for name in change.pop("drop_files", []):
        files.pop(name)
    reference = change.pop("reference", None)
    if reference is not None:
        for key in ("center_x", "center_y", "center_z", "size_x", "size_y", "size_z"):
            fields.pop(key)
        content = imatinib_sdf if reference is True else reference
        files["reference_ligand"] = ("ref.sdf", content)
    for key, value in change.items():
        if isinstance(value, tuple):
            files[key] = value
        else:
            fields[key] = value

    response = server.submit(files, **fields)

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["field"] == field
    assert error["message"]
    assert server.client.get("/api/jobs").json()["jobs"] == []
    assert server.client.get("/api/health").status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/jobs/999", "/api/status/999", "/api/jobs/999/poses.sdf", "/api/nothing"]
)
def test_missing_things_are_json_404(server, path):
    response = server.client.get(path)
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message", "field"}


def test_bad_query_parameters_are_named(server):
    response = server.client.get("/api/jobs", params={"status": "sleeping"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "status"
    response = server.client.get("/api/jobs/abc")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "job_id"
