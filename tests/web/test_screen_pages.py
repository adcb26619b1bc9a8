"""The screen pages, read as HTML from the real app (store and runner running).

One real, tiny screen (three ligands, one of them an invalid SMILES) is docked for the
module; the other pages are read from screens written straight into the database, which no
runner touches because they are already finished.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from dockyard.chem import RECEPTOR_FORMATS
from dockyard.chem.core.formats import LIBRARY_FORMATS
from dockyard.config import Settings
from dockyard.jobs.models import (
    SCREEN_KIND,
    Job,
    JobStatus,
    LigandStatus,
    Screen,
    ScreenLigand,
    utcnow,
)
from dockyard.web.pages import screens
from tests.conftest import SMALL_BOX, AppClient, LiveServer
from tests.web.test_pages import HTML, get_page, make_job

TINY_LIBRARY = b"NC(=O)c1ccccc1 benzamide\nOc1ccccc1 phenol\nC1CC(=O bad-smiles\n"
FORM_FIELDS = {
    "receptor",
    "library",
    "reference_ligand",
    "padding",
    "center_x",
    "center_y",
    "center_z",
    "size_x",
    "size_y",
    "size_z",
    "exhaustiveness",
    "num_poses",
    "energy_range",
    "seed",
    "scoring",
    "name",
    "skip_duplicates",
    "accept_warnings",
    "chunk_size",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppClient]:
    data = tmp_path_factory.mktemp("screen-pages")
    with LiveServer(Settings(data_dir=data, workers=1)) as live:
        live.client.follow_redirects = True
        yield live.client


@pytest.fixture(scope="module")
def docked_screen(client: AppClient, receptor_pdbqt: bytes) -> int:
    """A real screen of three ligands, docked to the end (a few seconds)."""
    files = {
        "receptor": ("1iep.pdbqt", receptor_pdbqt),
        "library": ("tiny.smi", TINY_LIBRARY),
    }
    fields = {**SMALL_BOX, "exhaustiveness": "1", "num_poses": "2", "seed": "5", "name": "tiny"}
    response = client.post("/api/screens", data=fields, files=files)
    assert response.status_code == 201, response.text
    screen_id = response.json()["job_id"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{screen_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.2)
    assert job["status"] == "completed", job
    return screen_id


def stored_screen(client: AppClient, name: str = "written by the test") -> int:
    """A cancelled screen of two ligands that never ran, written in one transaction."""
    now = utcnow()
    box = {key: float(value) for key, value in SMALL_BOX.items()}
    params = {
        "receptor": {"filename": "1iep.pdbqt", "format": "pdbqt"},
        "library": {"filename": "two.smi"},
        "box": box,
        "box_source": "explicit",
        "scoring": "vina",
        "exhaustiveness": 8,
        "num_poses": 3,
        "energy_range": 3.0,
        "seed": 7,
        "skip_duplicates": True,
        "total": 2,
        "chunk_size": 1,
        "warnings": [],
    }
    with client.app.state.store.session() as session, session.begin():
        job = Job(
            kind=SCREEN_KIND,
            name=name,
            params=params,
            status=JobStatus.CANCELLED,
            stage="cancelled",
            progress=0.0,
            attempt=0,
            max_attempts=3,
            time_limit=3600.0,
            created_at=now,
            updated_at=now,
            finished_at=now,
        )
        session.add(job)
        session.flush()
        session.add(Screen(job_id=job.id, total=2, completed=0, failed=0, duplicates=0))
        for index, smiles in enumerate(("CCO", "CCN")):
            session.add(
                ScreenLigand(
                    screen_id=job.id,
                    index=index,
                    name=f"ligand {index}",
                    source=smiles,
                    source_format="smiles",
                    status=LigandStatus.PENDING,
                )
            )
        return job.id


# -- the form --------------------------------------------------------------------------------


def api_form_fields(client: AppClient, path: str) -> set[str]:
    """The multipart fields ``POST path`` takes, read from the OpenAPI schema."""
    schema = client.app.openapi()
    body = schema["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]
    name = body["schema"]["$ref"].rsplit("/", 1)[1]
    return set(schema["components"]["schemas"][name]["properties"])


def test_screen_form_has_a_labelled_field_for_every_api_field(client):
    page = get_page(client, "/screens/new")
    form = page.one("form", id="screen-form")
    assert form["action"] == "/api/screens"
    labelled = {label["for"] for label in page.find("label") if "for" in label}
    controls = [
        attrs
        for tag, attrs in page.tags
        if tag in ("input", "select") and attrs.get("name") and attrs.get("type") != "radio"
    ]
    by_name = {control["name"]: control for control in controls}
    assert set(by_name) >= FORM_FIELDS, FORM_FIELDS - set(by_name)
    assert set(by_name) <= api_form_fields(client, "/api/screens"), "the API takes every field"
    for control in controls:
        assert control.get("id") in labelled, control
        described = control.get("aria-describedby", "").split()
        error = f"f-{control['name']}-error"
        assert error in described and page.find("p", id=error), control
    assert by_name["receptor"]["accept"] == ",".join(f".{fmt}" for fmt in RECEPTOR_FORMATS)
    assert by_name["library"]["accept"] == ",".join(f".{fmt}" for fmt in LIBRARY_FORMATS)
    assert by_name["library"]["type"] == "file" and "required" in by_name["library"]
    assert "checked" in by_name["skip_duplicates"]


def test_screen_form_starts_from_the_screen_defaults(client):
    page = get_page(client, "/screens/new")
    assert page.one("input", name="exhaustiveness")["value"] == "8"
    assert page.one("input", name="num_poses")["value"] == "3"
    assert page.one("input", name="size_x")["value"] == "20"
    assert page.one("input", name="seed")["value"] == ""
    assert page.one("input", name="center_x")["value"] == ""
    # The reference-ligand fields wait, disabled, until that way of placing the box is chosen.
    reference = page.one("fieldset", **{"data-box-mode": "reference"})
    assert "disabled" in reference and "hidden" in reference
    assert page.one("a", href="/screens/new")["aria-current"] == "page"


# -- one screen ------------------------------------------------------------------------------


def test_a_docked_screen_page_shows_counts_leaders_table_and_parameters(client, docked_screen):
    page = get_page(client, f"/screens/{docked_screen}")
    article = page.one("article", id="screen")
    assert article["data-status"] == "completed"
    assert article["data-events"].startswith(f"/api/events?job_id={docked_screen}&since=")
    assert article["data-page-size"] == "50"
    counts = {attrs["data-count"] for tag, attrs in page.tags if "data-count" in attrs}
    assert counts == {"total", "completed", "failed", "duplicates", "pending"}
    assert '<dd data-count="completed">2</dd>' in page.html
    assert '<dd data-count="failed">1</dd>' in page.html
    assert '<dd data-count="pending">0</dd>' in page.html
    leaders = [attrs for tag, attrs in page.tags if tag == "tr" and "data-index" in attrs]
    assert {row["data-index"] for row in leaders} == {"0", "1"}
    assert len(page.find("button", **{"data-show": "0"})) == 1
    assert len(page.find("img", **{"class": "depiction"})) == 2
    headers = [attrs for tag, attrs in page.tags if tag == "th" and "aria-sort" in attrs]
    assert len(headers) == len(screens.TABLE_COLUMNS)
    assert [h["aria-sort"] for h in headers].count("ascending") == 1
    assert page.one("button", **{"data-sort": "score"})
    assert page.one("a", href=f"/api/screens/{docked_screen}/results.csv")
    assert page.one("a", href=f"/api/screens/{docked_screen}/top.sdf?n=100")
    assert "tiny.smi" in page.html and "1iep.pdbqt" in page.html
    assert "hidden" in page.one("button", id="cancel-button")
    # What the page's script reads: the prepared receptor for the 3D view.
    viewer = page.one("div", id="viewer")
    assert client.get(viewer["data-receptor"]).status_code == 200
    assert page.one("link", rel="stylesheet")["href"] == "/static/style.css"
    assert page.one("script", src="/static/screen.js")["type"] == "module"


def test_the_page_size_of_the_ligand_table_can_be_set(client):
    screen_id = stored_screen(client)
    page = get_page(client, f"/screens/{screen_id}?page_size=5")
    assert page.one("article", id="screen")["data-page-size"] == "5"
    get_page(client, f"/screens/{screen_id}?page_size=0", status=422)


def test_a_screen_that_never_ran_shows_empty_states(client):
    screen_id = stored_screen(client, "nothing docked")
    page = get_page(client, f"/screens/{screen_id}")
    assert page.one("article", id="screen")["data-status"] == "cancelled"
    assert "No ligand docked yet" in page.html
    assert "hidden" not in page.one("p", id="histogram-empty")
    assert "nothing docked" in page.html and "two.smi" in page.html


def test_a_missing_screen_is_an_html_404_page(client):
    page = get_page(client, "/screens/99999", status=404)
    assert "There is no screen 99999" in page.html
    assert page.one("a", href="/jobs", **{"class": "button"})


def test_a_docking_under_screens_goes_to_its_job_page(client):
    job_id = make_job(client, "a docking")
    response = client.get(f"/screens/{job_id}", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/jobs/{job_id}"


def test_the_job_page_of_a_screen_redirects_to_the_screen_page(client, docked_screen):
    response = client.get(f"/jobs/{docked_screen}", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/screens/{docked_screen}"
    followed = client.get(f"/jobs/{docked_screen}", headers=HTML)
    assert followed.status_code == 200 and 'id="screen"' in followed.text


def test_the_job_list_links_screens_to_their_page(client):
    screen_id = stored_screen(client, "listed screen")
    page = get_page(client, "/jobs")
    assert page.one("tr", **{"data-job-id": str(screen_id)})
    assert len(page.find("a", href=f"/screens/{screen_id}")) == 2
    assert not page.find("a", href=f"/jobs/{screen_id}")
    assert page.one("a", href="/screens/new", **{"class": "button secondary"})
