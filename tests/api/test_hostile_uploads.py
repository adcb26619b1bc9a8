"""A hostile client's uploads: bombs, endless lines, oversized bodies and chemistry that is not
what it claims. Each is refused at once with a JSON error naming its field (or docked with a
warning when asked to), leaves no job stuck, and the server answers its health check at once.

The server here has small limits (1 MB uploads, 2 MB libraries, 2 MB unpacked) so the bombs
stay cheap to build; the 1.1 GiB-line gzip is the real one (about 1 MB compressed).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdkit import Chem

from dockyard.config import Settings
from tests.api import hostile
from tests.conftest import FAST_OPTIONS, SMALL_BOX, LiveServer

MB = hostile.MB
LIMITS = {"max_upload_mb": 1, "max_library_mb": 2, "max_library_unpacked_mb": 2}
ONE_ATOM = b"ATOM      1  CA  ALA A   1      15.190  53.900  16.920  1.00  0.00           C\nEND\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory, shared_database_url) -> Iterator[LiveServer]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("hostile"),
        database_url=shared_database_url,
        workers=1,
        **LIMITS,
    )
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
def huge_line() -> bytes:
    return hostile.huge_line_gzip()


@pytest.fixture(scope="module")
def tiny_peptide(receptor_pdb: bytes) -> bytes:
    """The five residues of 1IEP nearest the box centre: a peptide, not a protein."""
    centre = [float(SMALL_BOX[f"center_{axis}"]) for axis in "xyz"]
    residues: dict[str, list[str]] = {}
    for line in receptor_pdb.decode().splitlines():
        if line.startswith("ATOM"):
            residues.setdefault(line[21:27], []).append(line)

    def distance(lines: list[str]) -> float:
        ca = next((ln for ln in lines if ln[12:16] == " CA "), lines[0])
        xyz = [float(ca[30:38]), float(ca[38:46]), float(ca[46:54])]
        return sum((a - b) ** 2 for a, b in zip(xyz, centre, strict=True)) ** 0.5

    nearest = sorted(residues.values(), key=distance)[:5]
    return ("\n".join(line for lines in nearest for line in lines) + "\nEND\n").encode()


def radical_sdf() -> bytes:
    mol = Chem.MolFromSmiles("CC[CH2]")
    mol.SetProp("_Name", "propyl radical")
    return (Chem.MolToMolBlock(mol) + "$$$$\n").encode()


def job_ids(server: LiveServer) -> set[int]:
    return {job["id"] for job in server.client.get("/api/jobs").json()["jobs"]}


def assert_still_healthy(server: LiveServer) -> None:
    """Nothing is left pending or running, and the health check answers at once."""
    jobs = server.client.get("/api/jobs").json()["jobs"]
    assert [job for job in jobs if job["status"] in ("pending", "running")] == []
    server.client.get("/api/health")  # the connection is open: time the answer alone
    start = time.perf_counter()
    response = server.client.get("/api/health")
    assert response.status_code == 200
    assert time.perf_counter() - start < 0.1


def assert_refused(server, response, status: int, field: str, before: set[int]) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    assert error["message"]
    assert job_ids(server) == before
    assert_still_healthy(server)
    return error


def post_screen(server, receptor_pdbqt, library: bytes, filename: str, **fields):
    files = {"receptor": ("1iep.pdbqt", receptor_pdbqt), "library": (filename, library)}
    data = {**SMALL_BOX, **FAST_OPTIONS, **fields}
    return server.client.post("/api/screens", data=data, files=files)


LIBRARIES = {
    "gzip bomb": (lambda: hostile.gzip_bomb(50), "bomb.smi.gz", 413, "file_too_large"),
    "zip bomb": (lambda: hostile.zip_bomb(50), "bomb.zip", 413, "file_too_large"),
    "zip in a zip": (hostile.nested_zip, "nested.zip", 415, "unsupported_file"),
    "gzip in a gzip": (hostile.nested_gzip, "nested.smi.gz", 415, "unsupported_file"),
    "over the byte limit": (
        lambda: b"CCO ethanol\n" * (5 * MB // 24),
        "big.smi",
        413,
        "file_too_large",
    ),
}


@pytest.mark.parametrize("case", LIBRARIES)
def test_hostile_libraries_are_refused(server, receptor_pdbqt, case):
    build, filename, status, code = LIBRARIES[case]
    library = build()
    assert len(library) < 3 * MB  # under the 5 MB body limit: the library's own limits refuse it
    before = job_ids(server)
    response = post_screen(server, receptor_pdbqt, library, filename)
    error = assert_refused(server, response, status, "library", before)
    assert error["code"] == code
    if status == 413:
        assert " MB" in error["message"]  # names the limit


def test_a_gigabyte_line_is_refused_by_its_length(server, receptor_pdbqt, huge_line):
    assert len(huge_line) < 2 * MB
    before = job_ids(server)
    response = post_screen(server, receptor_pdbqt, huge_line, "one-line.smi.gz")
    error = assert_refused(server, response, 422, "library", before)
    assert error["code"] == "line_too_long"
    assert "102,400" in error["message"]


def test_reading_a_gigabyte_line_takes_bounded_memory(tmp_path: Path, huge_line):
    """With the default limits, in a process of its own: peak memory stays small."""
    path = tmp_path / "one-line.smi.gz"
    path.write_bytes(huge_line)
    script = (
        "import json, sys\n"
        "from dockyard.chem.ligand.library import read_library\n"
        "from dockyard.errors import DockyardError\n"
        "def peak():  # this process's own high-water mark (ru_maxrss survives exec)\n"
        "    status = open('/proc/self/status').read()\n"
        "    return int(status.split('VmHWM:')[1].split()[0]) * 1024\n"
        "before = peak()\n"
        "try:\n"
        "    with open(sys.argv[1], 'rb') as stream:\n"
        "        list(read_library(stream, 'one-line.smi.gz'))\n"
        "    code = None\n"
        "except DockyardError as error:\n"
        "    code = error.code\n"
        "print(json.dumps({'code': code, 'before': before, 'after': peak()}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60
    )
    outcome = json.loads(done.stdout)
    assert outcome["code"] == "line_too_long", done.stderr
    assert outcome["after"] - outcome["before"] < 50 * MB  # the line is 1,126 MB


def _endless(chunk: bytes) -> Iterator[bytes]:
    while True:
        yield chunk


@pytest.mark.parametrize(("path", "field"), [("/api/screens", "library"), ("/api/jobs", None)])
def test_a_body_over_the_limit_is_refused_from_its_length(server, path, field):
    before = job_ids(server)
    answer = hostile.raw_post(server.port, path, [], content_length=10 * 1024 * MB)
    assert answer.status == 413 and answer.sent == 0
    error = json.loads(answer.body)["error"]
    assert error["code"] == "file_too_large" and error["field"] == field
    assert job_ids(server) == before
    assert_still_healthy(server)


@pytest.mark.parametrize(
    ("path", "file_field", "limit_mb"),
    [("/api/screens", "library", 5), ("/api/jobs", "receptor", 4)],
)
def test_a_chunked_body_is_cut_off_as_it_passes_the_limit(server, path, file_field, limit_mb):
    """No Content-Length: the server counts and answers while the client is still sending."""
    head, _tail = hostile.multipart(SMALL_BOX, file_field, "endless.smi")
    before = job_ids(server)
    answer = hostile.raw_post(server.port, path, [head, *_take(_endless(b"CCO\n" * 16384), 400)])
    assert answer.status == 413
    error = json.loads(answer.body)["error"]
    assert error["code"] == "file_too_large" and error["field"] == file_field
    # limit (uploads plus 1 MB of form) plus what the sockets hold, far from the 25 MB offered
    assert answer.sent < (limit_mb + 8) * MB
    assert job_ids(server) == before
    assert_still_healthy(server)


def _take(chunks: Iterator[bytes], count: int) -> list[bytes]:
    return [next(chunks) for _ in range(count)]


def dock(server, receptor: tuple[str, bytes], **fields):
    files = {"receptor": receptor, **fields.pop("files", {})}
    return server.client.post(
        "/api/jobs", data={**SMALL_BOX, **FAST_OPTIONS, **fields}, files=files
    )


@pytest.mark.parametrize(
    ("case", "change", "field", "code"),
    [
        ("1-atom receptor", {"receptor": ("one.pdb", ONE_ATOM)}, "receptor", "receptor_too_small"),
        ("ethyl radical", {"smiles": "C[CH2]"}, "smiles", "radical_ligand"),
        ("methyl radical", {"smiles": "[CH3]"}, "smiles", "radical_ligand"),
        ("charged radical", {"smiles": "CC[NH2+]"}, "smiles", "radical_ligand"),
        (
            "radical SDF",
            {"files": {"ligand": ("r.sdf", radical_sdf())}},
            "ligand",
            "radical_ligand",
        ),
    ],
)
def test_chemistry_that_is_not_what_it_claims_is_refused(
    server, receptor_pdbqt, case, change, field, code
):
    change = dict(change)
    receptor = change.pop("receptor", ("1iep.pdbqt", receptor_pdbqt))
    fields = {"smiles": "CCO", **change}
    if "files" in fields:
        fields.pop("smiles")
    before = job_ids(server)
    error = assert_refused(server, dock(server, receptor, **fields), 422, field, before)
    assert error["code"] == code
    assert "accept_warnings" in error["message"]
    if code == "radical_ligand":
        assert "atom" in error["message"]


def test_a_tiny_peptide_is_not_a_receptor(server, tiny_peptide):
    before = job_ids(server)
    response = dock(server, ("peptide.pdb", tiny_peptide), smiles="CCO")
    error = assert_refused(server, response, 422, "receptor", before)
    assert "5 residues" in error["message"]


@pytest.mark.parametrize(
    ("receptor_file", "smiles", "warning"),
    [("one.pdb", "CCO", "1 residue"), (None, "C[CH2]", "radical")],
)
def test_accept_warnings_docks_it_and_the_job_keeps_the_warning(
    server, receptor_pdbqt, receptor_file, smiles, warning
):
    receptor = (receptor_file, ONE_ATOM) if receptor_file else ("1iep.pdbqt", receptor_pdbqt)
    response = dock(server, receptor, smiles=smiles, accept_warnings="true")
    assert response.status_code == 201, response.text
    job = server.wait(response.json()["job_id"])
    assert job["status"] == "completed", job
    assert any(warning in text for text in job["params"]["warnings"]), job["params"]["warnings"]
    assert_still_healthy(server)


def test_radical_library_entries_fail_alone(server, receptor_pdbqt):
    library = b"C[CH2] ethyl radical\nNC(=O)c1ccccc1 benzamide\n[CH3] methyl radical\n"
    response = post_screen(server, receptor_pdbqt, library, "radicals.smi")
    assert response.status_code == 201, response.text
    screen_id = response.json()["job_id"]
    job = server.wait(screen_id, timeout=240)
    assert job["status"] == "completed", job
    ligands = server.client.get(f"/api/screens/{screen_id}/ligands").json()["ligands"]
    by_name = {row["name"]: row for row in ligands}
    assert by_name["benzamide"]["status"] == "completed"
    for name in ("ethyl radical", "methyl radical"):
        assert by_name[name]["status"] == "failed"
        assert "radical" in by_name[name]["error"]
        assert "accept_warnings" not in by_name[name]["error"]  # a screen entry has no opt-in
    assert_still_healthy(server)


def test_a_screen_against_one_atom_is_refused(server):
    before = job_ids(server)
    files = {"receptor": ("one.pdb", ONE_ATOM), "library": ("l.smi", b"CCO ethanol\n")}
    response = server.client.post("/api/screens", data={**SMALL_BOX, **FAST_OPTIONS}, files=files)
    error = assert_refused(server, response, 422, "receptor", before)
    assert error["code"] == "receptor_too_small"
