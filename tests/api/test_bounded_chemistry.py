"""No request can freeze the server: chemistry runs in bounded worker processes, over real HTTP.

A 37-membered ring keeps RDKit's CoordGen busy for tens of seconds with the GIL held; drawn in
the web process it froze every endpoint.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.config import Settings
from tests.conftest import EXAMPLE, SMALL_BOX, SMALL_SMILES, LiveServer, _free_port
from tests.web.test_light_import import HEAVY

RING_37 = "C1" + "C" * 35 + "C1"
LIMIT = 3.0


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One chemistry worker and no queue, so a second request meets a full queue."""
    data = tmp_path_factory.mktemp("bounded")
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'db.sqlite'}",
        workers=1,
        chem_workers=1,
        chem_queue=0,
        chem_depict_seconds=LIMIT,
    )
    with LiveServer(settings) as server:
        yield server


def wait_for_pool(live: LiveServer, state: str) -> None:
    """Until the one chemistry worker is ``idle`` (started, or replaced) or ``busy``."""
    chemistry = live.app.state.chemistry
    deadline = time.monotonic() + 60
    while chemistry.describe()[state] < 1:
        assert time.monotonic() < deadline, f"no chemistry worker became {state}"
        time.sleep(0.02)


def draw_in_background(live: LiveServer, width: int) -> tuple[threading.Thread, dict]:
    """Ask for the 37-ring (a width of its own, so no cached answer) from another thread."""
    wait_for_pool(live, "idle")
    answer: dict = {}

    def ask() -> None:
        started = time.monotonic()
        answer["response"] = live.client.get(
            "/api/depict.svg", params={"smiles": RING_37, "width": width}
        )
        answer["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=ask)
    thread.start()
    return thread, answer


def test_a_molecule_too_complex_to_draw_is_a_422_and_the_server_stays_responsive(live):
    thread, answer = draw_in_background(live, 301)
    slowest = 0.0
    while thread.is_alive():
        started = time.monotonic()
        assert live.client.get("/api/health").status_code == 200
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.05)
    thread.join()
    response = answer["response"]
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "too_complex" and error["field"] == "smiles"
    assert "too complex to draw in 3 s" in error["message"]
    assert answer["seconds"] < LIMIT + 5
    assert slowest < 1.0, f"/api/health took {slowest:.2f} s while the ring was drawn"

    started = time.monotonic()  # too complex is remembered: asking again costs nothing
    again = live.client.get("/api/depict.svg", params={"smiles": RING_37, "width": 301})
    assert again.status_code == 422 and time.monotonic() - started < 1.0


def test_a_full_queue_is_a_503_with_retry_after(live):
    thread, _answer = draw_in_background(live, 302)
    wait_for_pool(live, "busy")
    response = live.client.get("/api/depict.svg", params={"smiles": "OCCCCO", "width": 303})
    thread.join()
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "busy"
    assert 1 <= int(response.headers["Retry-After"]) <= LIMIT + 1
    wait_for_pool(live, "idle")
    drawn = live.client.get("/api/depict.svg", params={"smiles": "OCCCCO", "width": 303})
    assert drawn.status_code == 200 and "<svg" in drawn.text


SERVE = textwrap.dedent(
    """
    import json, sys
    import uvicorn
    from dockyard.config import Settings
    from dockyard.web.app import create_app

    data, port = sys.argv[1], int(sys.argv[2])
    app = create_app(Settings(data_dir=data, workers=1, chem_workers=1))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)))
    """
)


def test_the_server_process_never_loads_the_science_stack(tmp_path: Path):
    """A real server process prepares, submits a docking and a screen, and draws; on its way
    out it lists what of the science stack it imported: nothing."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE.format(heavy=HEAVY), str(tmp_path), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.1)
            receptor = {"receptor": ("1iep.pdb", (EXAMPLE / "1iep_receptorH.pdb").read_bytes())}
            fields = {**SMALL_BOX, "smiles": SMALL_SMILES}
            prepared = client.post("/api/prepare", files=receptor, data=fields)
            assert prepared.status_code == 200, prepared.text
            assert prepared.json()["ligand"]["smiles"] == SMALL_SMILES
            submitted = client.post("/api/jobs", files=receptor, data=fields)
            assert submitted.status_code == 201, submitted.text
            library = {"library": ("two.smi", b"CCO ethanol\nCCN ethylamine\n")}
            screened = client.post("/api/screens", files={**receptor, **library}, data=SMALL_BOX)
            assert screened.status_code == 201, screened.text
            drawn = client.get("/api/depict.svg", params={"smiles": SMALL_SMILES})
            assert drawn.status_code == 200 and "<svg" in drawn.text
    finally:
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=60)
    assert json.loads(out.strip().splitlines()[-1]) == []
