"""A screen survives killed chunk processes and a killed server: every ligand once, none lost."""

from __future__ import annotations

import csv
import io
import os
import signal
import time

import httpx
from typer.testing import CliRunner

from dockyard.cli import app
from tests.conftest import SMALL_BOX, _free_port
from tests.runners.test_local_runner import is_alive, serve

LIBRARY = [
    "NC(=O)c1ccccc1", "Oc1ccccc1", "c1ccc2ccccc2c1", "CC(=O)Nc1ccccc1", "Cc1ccccc1O",
    "c1ccc2[nH]ccc2c1", "c1ccncc1", "Nc1ccccc1", "OC(=O)c1ccccc1", "Clc1ccccc1",
    "c1ccc(cc1)C#N", "Cc1ccc(O)cc1", "COc1ccccc1", "Oc1ccc(cc1)C=O", "c1ccc2ncccc2c1",
    "NC(=O)c1ccncc1", "Cc1cccc(N)c1", "Fc1ccccc1O", "OCc1ccccc1", "CC(=O)c1ccccc1",
    "c1ccsc1", "c1cc[nH]c1", "NS(=O)(=O)c1ccccc1", "OC(=O)c1ccncc1", "not-a-smiles(",
]  # fmt: skip


def running_chunks(url: str, screen_id: int) -> list[dict]:
    page = httpx.get(f"{url}/api/jobs", params={"parent": screen_id, "status": "running"}).json()
    jobs = [httpx.get(f"{url}/api/jobs/{job['id']}").json() for job in page["jobs"]]
    return [job for job in jobs if job["worker"] and job["worker"].count(":") == 2]


def test_killed_chunk_and_killed_server_lose_no_ligand(tmp_path, receptor_pdbqt):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    library = "".join(f"{smiles} lig{i}\n" for i, smiles in enumerate(LIBRARY)).encode()
    server = serve(tmp_path, port)
    try:
        response = httpx.post(
            f"{url}/api/screens",
            data={**SMALL_BOX, "exhaustiveness": "2", "num_poses": "1", "chunk_size": "5"},
            files={"receptor": ("1iep.pdbqt", receptor_pdbqt), "library": ("lib.smi", library)},
        )
        assert response.status_code == 201, response.text
        screen_id = response.json()["job_id"]

        deadline = time.monotonic() + 60
        while not (chunks := running_chunks(url, screen_id)):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        victim = chunks[0]
        os.kill(int(victim["worker"].rsplit(":", 1)[1]), signal.SIGKILL)

        deadline = time.monotonic() + 120
        while True:
            counts = httpx.get(f"{url}/api/screens/{screen_id}").json()["counts"]
            if counts["completed"] + counts["failed"] >= 8:
                break
            assert time.monotonic() < deadline, counts
            time.sleep(0.2)
        orphans = [int(job["worker"].rsplit(":", 1)[1]) for job in running_chunks(url, screen_id)]
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    for pid in orphans:
        deadline = time.monotonic() + 10
        while is_alive(pid):
            assert time.monotonic() < deadline, "a chunk outlived its killed server"
            time.sleep(0.1)

    server = serve(tmp_path, port)
    try:
        deadline = time.monotonic() + 240
        while (screen := httpx.get(f"{url}/api/screens/{screen_id}").json())[
            "status"
        ] != "completed":
            assert screen["status"] in ("pending", "running"), screen
            assert time.monotonic() < deadline, screen
            time.sleep(0.5)
        retried = httpx.get(f"{url}/api/jobs/{victim['id']}").json()
        table = httpx.get(f"{url}/api/screens/{screen_id}/results.csv").text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    assert retried["status"] == "completed" and retried["attempt"] >= 2
    counts = screen["counts"]
    assert counts == {"total": 25, "completed": 24, "failed": 1, "duplicates": 0, "pending": 0}
    rows = list(csv.DictReader(io.StringIO(table)))
    assert sorted(row["name"] for row in rows) == sorted(f"lig{i}" for i in range(25))
    assert {row["status"] for row in rows} == {"completed", "failed"}


def test_cli_screens_a_library_locally(tmp_path, receptor_pdbqt):
    receptor = tmp_path / "1iep.pdbqt"
    receptor.write_bytes(receptor_pdbqt)
    library = tmp_path / "lib.smi"
    library.write_text("".join(f"{smiles} lig{i}\n" for i, smiles in enumerate(LIBRARY[:6])))
    out, top = tmp_path / "results.csv", tmp_path / "best.sdf"
    result = CliRunner().invoke(
        app,
        ["screen", "--receptor", str(receptor), "--library", str(library),
         "--center", "15.19", "53.90", "16.92", "--size", "14", "14", "14",
         "--exhaustiveness", "1", "--num-poses", "1", "--workers", "2",
         "--out", str(out), "--top-sdf", str(top), "--top", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "best ligands" in result.output
    assert len(list(csv.DictReader(out.open()))) == 6
    assert top.read_text().count("$$$$") == 3


def test_cli_screen_refuses_a_missing_box(tmp_path, receptor_pdbqt):
    receptor = tmp_path / "1iep.pdbqt"
    receptor.write_bytes(receptor_pdbqt)
    result = CliRunner().invoke(
        app, ["screen", "--receptor", str(receptor), "--library", str(receptor)]
    )
    assert result.exit_code == 2 and "give a box" in result.output
