"""The server-rendered pages, read as HTML from the real app (store and runner running).

Jobs are put into the state a test needs straight in the database, and never left
``pending``: the runner cannot claim a job that is not pending, and a child it may have
started already is fenced off by the attempt number, so the state a test sets is the one
the page shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from dockyard import web
from dockyard.chem import LIGAND_FORMATS, RECEPTOR_FORMATS, example_paths
from dockyard.config import Settings
from dockyard.jobs.files import DOWNLOADS
from dockyard.jobs.models import Job, JobStatus, utcnow
from dockyard.web.pages import jobs, render
from tests.conftest import AppClient, LiveServer

HTML = {"Accept": "text/html"}

API_FIELDS = (
    "receptor",
    "ligand",
    "smiles",
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
)

PARAMS = {
    "receptor": {"filename": "1iep_receptorH.pdb", "format": "pdb"},
    "ligand": {"source": "smiles", "smiles": "NC(=O)c1ccccc1"},
    "box": {
        "center_x": 15.19,
        "center_y": 53.903,
        "center_z": 16.917,
        "size_x": 20.0,
        "size_y": 20.0,
        "size_z": 22.5,
    },
    "box_source": "explicit",
    "scoring": "vina",
    "exhaustiveness": 8,
    "num_poses": 9,
    "energy_range": 3.0,
    "seed": 1234,
    "warnings": [],
}

POSES = [
    {"rank": 1, "affinity": -6.123, "inter": -6.9, "intra": -0.4, "torsions": 1, "rmsd_lb": 0.0,
     "rmsd_ub": 0.0},
    {"rank": 2, "affinity": -5.8, "inter": -6.5, "intra": -0.3, "torsions": 1, "rmsd_lb": 1.25,
     "rmsd_ub": 2.5},
]  # fmt: skip


class Page(HTMLParser):
    """The start tags of a page with their attributes, outside ``<template>`` as in the DOM."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, Any]]] = []
        self.in_template = 0
        self.html = html
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.in_template:
            self.tags.append((tag, dict(attrs)))
        self.in_template += tag == "template"

    def handle_endtag(self, tag: str) -> None:
        self.in_template -= tag == "template"

    def find(self, tag: str, **attrs: str) -> list[dict[str, Any]]:
        return [
            found
            for name, found in self.tags
            if name == tag and all(found.get(key) == value for key, value in attrs.items())
        ]

    def one(self, tag: str, **attrs: str) -> dict[str, Any]:
        matches = self.find(tag, **attrs)
        assert len(matches) == 1, (tag, attrs, matches)
        return matches[0]


@contextmanager
def serve_pages(data_dir: Path) -> Iterator[AppClient]:
    with LiveServer(Settings(data_dir=data_dir, workers=1)) as live:
        live.client.follow_redirects = True
        yield live.client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[AppClient]:
    """A server with an empty database, for a test that looks at every job there is or
    leaves a job pending."""
    with serve_pages(tmp_path) as served:
        yield served


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppClient]:
    """One server for the tests that look only at the pages of the jobs they made."""
    with serve_pages(tmp_path_factory.mktemp("pages")) as served:
        yield served


def get_page(client: AppClient, url: str, status: int = 200) -> Page:
    response = client.get(url, headers=HTML)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return Page(response.text)


def make_job(client: AppClient, name: str = "x", **state: Any) -> int:
    """A job with ``state`` written over it at once (see the module docstring)."""
    store = client.app.state.store
    job = store.create_job(kind="dock", name=name, params=PARAMS)
    values = {"status": JobStatus.FAILED, "stage": "failed", "error": "stopped by the test"}
    values.update(state, attempt=state.get("attempt", 2), worker=None, lease_expires_at=None)
    with store.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == job.id).values(updated_at=utcnow(), **values))
    return job.id


def running_state() -> dict[str, Any]:
    return {
        "status": JobStatus.RUNNING,
        "stage": "docking",
        "progress": 0.4,
        "error": None,
        "started_at": utcnow() - timedelta(seconds=75),
    }


def completed_state() -> dict[str, Any]:
    started = utcnow() - timedelta(seconds=130)
    report = {
        "format": "pdb",
        "removed_hetero_groups": ["HOH", "STI"],
        "warnings": ["Residue LYS A:93 was missing atoms and was left out."],
    }
    return {
        "status": JobStatus.COMPLETED,
        "stage": "completed",
        "progress": 1.0,
        "error": None,
        "started_at": started,
        "finished_at": started + timedelta(seconds=125),
        "results": {
            "best_score": POSES[0]["affinity"],
            "num_poses": len(POSES),
            "seed": 1234,
            "poses": POSES,
            "receptor_report": report,
        },
        "provenance": {"vina": "1.2.6", "meeko": "0.6.1", "seed": 1234, "attempt": 2},
    }


# -- the submit form -------------------------------------------------------------------------


def test_submit_form_has_a_labelled_field_for_every_api_field(shared_client):
    page = get_page(shared_client, "/")
    form = page.one("form", id="submit-form")
    assert form["action"] == "/api/jobs"
    labelled = {label["for"] for label in page.find("label") if "for" in label}
    controls = [attrs for tag, attrs in page.tags if tag in ("input", "select") and attrs.get("id")]
    fields = {control["name"]: control for control in controls}
    assert set(API_FIELDS) <= set(fields)
    for control in controls:
        assert control["id"] in labelled, control
    assert fields["receptor"]["type"] == "file"
    assert fields["ligand"]["accept"] == ",".join(f".{fmt}" for fmt in LIGAND_FORMATS)
    assert page.one("option", value="vinardo") is not None


def test_submit_form_starts_from_the_default_options(shared_client):
    page = get_page(shared_client, "/")
    assert page.one("input", name="exhaustiveness")["value"] == "8"
    assert page.one("input", name="num_poses")["value"] == "9"
    assert page.one("input", name="energy_range")["value"] == "3"
    assert page.one("input", name="seed")["value"] == ""
    assert "selected" in page.one("option", value="vina")


def test_example_button_fills_in_the_1iep_docking(shared_client):
    page = get_page(shared_client, "/")
    example = json.loads(page.one("button", id="try-example")["data-example"])
    values = {key: float(value) for key, value in example["values"].items() if key != "name"}
    assert values == {
        "center_x": 15.19,
        "center_y": 53.903,
        "center_z": 16.917,
        "size_x": 20,
        "size_y": 20,
        "size_z": 20,
        "exhaustiveness": 8,
    }
    packaged = example_paths()
    for role in ("receptor", "ligand"):
        response = shared_client.get(example["files"][role])
        assert response.status_code == 200
        assert response.content == packaged[role].read_bytes()
    assert example["files"]["ligand"].endswith("/1iep_ligand.sdf")


@pytest.mark.parametrize("name", ["1iep_box.txt", "README.md", "..%2F__init__.py", "x.pdb"])
def test_only_the_example_input_files_are_served(shared_client, name):
    assert shared_client.get(f"/examples/1iep/{name}").status_code == 404


def test_file_inputs_offer_what_the_science_layer_reads():
    assert render.ACCEPT["receptor"] == ",".join(f".{fmt}" for fmt in RECEPTOR_FORMATS)
    assert render.ACCEPT["ligand"] == ",".join(f".{fmt}" for fmt in LIGAND_FORMATS)


# -- the job list ----------------------------------------------------------------------------


def test_job_list_shows_a_job_created_in_the_store(client):
    job_id = client.app.state.store.create_job(kind="dock", name="x", params=PARAMS).id
    page = get_page(client, "/jobs")
    row = page.one("tr", **{"data-job-id": str(job_id)})
    assert row is not None
    assert len(page.find("a", href=f"/jobs/{job_id}")) == 2
    assert ">x</a>" in page.html
    table = page.one("table", id="jobs")
    assert table["data-events"].startswith("/api/events?since=")
    assert table["data-live-insert"] == "yes"


def test_job_list_shows_status_stage_progress_and_best_score(client):
    job_id = make_job(client, "benzamide", **completed_state())
    page = get_page(client, "/jobs")
    assert page.one("tr", **{"data-job-id": str(job_id)})
    assert page.one("span", **{"data-field": "status"})["class"] == "badge badge-completed"
    assert page.one("progress")["value"] == "1.0"
    assert "-6.123" in page.html
    assert "benzamide" in page.html


def test_job_list_filters_by_status(client):
    done = make_job(client, "done", **completed_state())
    broken = make_job(client, "broken")
    page = get_page(client, "/jobs?status=failed")
    assert page.find("tr", **{"data-job-id": str(broken)})
    assert not page.find("tr", **{"data-job-id": str(done)})
    assert page.one("a", href="/jobs?status=failed")["aria-current"] == "page"
    assert page.one("table", id="jobs")["data-status-filter"] == "failed"
    assert "No running jobs" in get_page(client, "/jobs?status=running").html


def test_job_list_pages_back_through_older_jobs(client, monkeypatch):
    monkeypatch.setattr(jobs, "PAGE_SIZE", 2)
    first, second, third = (make_job(client, f"job {n}") for n in range(3))

    newest = get_page(client, "/jobs")
    shown = [int(row["data-job-id"]) for row in newest.find("tr") if row.get("data-job-id")]
    assert shown == [third, second]
    older = newest.one("a", href=f"/jobs?before={second}")

    last = get_page(client, older["href"])
    shown = [int(row["data-job-id"]) for row in last.find("tr") if row.get("data-job-id")]
    assert shown == [first]
    assert last.one("a", href="/jobs", **{"class": "button secondary"}) is not None
    assert last.one("table", id="jobs")["data-live-insert"] == "no"


def test_job_list_without_jobs_points_to_the_form(client):
    page = get_page(client, "/jobs")
    assert "No jobs yet" in page.html
    assert page.one("template", id="job-row-template") is not None


# -- one job ---------------------------------------------------------------------------------


def test_running_job_page_shows_progress_and_can_be_cancelled(shared_client):
    job_id = make_job(shared_client, "running one", **running_state())
    page = get_page(shared_client, f"/jobs/{job_id}")
    article = page.one("article", id="job")
    assert article["data-status"] == "running"
    assert article["data-events"].startswith(f"/api/events?job_id={job_id}&since=")
    assert "badge badge-running" in page.html
    assert ">docking</span>" in page.html
    assert page.one("progress")["value"] == "0.4"
    assert "40%" in page.html
    assert "hidden" not in page.one("button", id="cancel-button")
    assert page.one("button", id="delete-button") is not None
    assert "hidden" in page.one("div", id="results")
    assert re.search(r"1 min 1\d s", page.html)


def test_job_page_shows_its_parameters(shared_client):
    page = get_page(shared_client, f"/jobs/{make_job(shared_client, **running_state())}")
    assert "15.190, 53.903, 16.917" in page.html
    assert "20 \N{MULTIPLICATION SIGN} 20 \N{MULTIPLICATION SIGN} 22.5" in page.html
    assert "NC(=O)c1ccccc1" in page.html
    assert "1iep_receptorH.pdb" in page.html
    assert ">1234<" in page.html


def test_completed_job_page_shows_scores_downloads_report_and_provenance(shared_client):
    job_id = make_job(shared_client, "benzamide", **completed_state())
    page = get_page(shared_client, f"/jobs/{job_id}")
    assert "hidden" in page.one("button", id="cancel-button")
    assert "hidden" not in page.one("div", id="results")
    for filename in DOWNLOADS:
        assert page.one("a", href=f"/api/jobs/{job_id}/{filename}") is not None
    rows = page.html.split('id="pose-rows"')[1].split("</tbody>")[0]
    assert rows.count("<tr data-rank=") == 2
    for value in ("-6.123", "-6.900", "-0.400", "1.250", "2.500"):
        assert value in rows
    assert "hidden" not in page.one("section", id="receptor-report")
    assert "removed hetero groups" in page.html
    assert "Residue LYS A:93 was missing atoms" in page.html
    assert "hidden" not in page.one("ul", id="report-warnings")
    assert "1.2.6" in page.html
    assert "2 min 05 s" in page.html
    assert page.one("time", **{"data-field": "finished_at"})["datetime"].endswith("+00:00")


def test_failed_job_page_shows_the_error(shared_client):
    job_id = make_job(shared_client, error="The ligand has no atoms Vina can type (Sn).")
    page = get_page(shared_client, f"/jobs/{job_id}")
    assert "hidden" not in page.one("div", id="job-error")
    assert "The ligand has no atoms Vina can type (Sn)." in page.html
    assert "badge badge-failed" in page.html
    assert "hidden" in page.one("div", id="results")


def test_a_missing_job_is_an_html_404_page(shared_client):
    page = get_page(shared_client, "/jobs/999", status=404)
    assert "There is no job 999." in page.html
    assert page.one("nav", **{"aria-label": "Main"}) is not None
    assert page.one("h1", id="error-heading") is not None


def test_pages_link_the_stylesheet_and_scripts_they_need(shared_client):
    job_url = f"/jobs/{make_job(shared_client)}"
    for url, script in (("/", "submit.js"), ("/jobs", "jobs.js"), (job_url, "job.js")):
        page = get_page(shared_client, url)
        assert page.one("link", rel="stylesheet")["href"] == "/static/style.css"
        src = page.one("script", src=f"/static/{script}")["src"]
        assert shared_client.get(src).status_code == 200
        assert shared_client.get("/static/common.js").status_code == 200


# -- helpers ---------------------------------------------------------------------------------


def test_download_labels_cover_every_download():
    assert set(jobs.DOWNLOAD_LABELS) == set(DOWNLOADS)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59.9, "59 s"), (60, "1 min 00 s"), (125, "2 min 05 s"), (3720, "1 h 02 min")],
)
def test_durations_read_naturally(seconds, text):
    assert render.format_duration(seconds) == text


def test_parameters_of_a_box_around_a_reference_ligand():
    params = {
        "ligand": {"source": "file", "filename": "x.sdf", "smiles": "CCO"},
        "box_source": "reference_ligand",
        "padding": 4.0,
    }
    assert render.parameter_rows(params) == [
        ("Ligand", "x.sdf"),
        ("SMILES", "CCO"),
        ("Box", "around the reference ligand, 4 Å padding"),
    ]


# -- viewer, command line, clone, depictions -------------------------------------------------


def store_files(client: AppClient, job_id: int, *names: str) -> None:
    """Stores files by name for a job made with make_job (as a submission would)."""
    from dockyard.jobs.models import JobFile

    with client.app.state.store.session() as session, session.begin():
        for name in names:
            session.add(JobFile(job_id=job_id, name=name, role="input", content=b"x", size=1))


def test_job_page_gives_the_viewer_its_receptor_poses_and_box(shared_client):
    job_id = make_job(shared_client, "benzamide", **completed_state())
    store_files(shared_client, job_id, "receptor.pdb", "receptor.pdbqt", "poses.sdf")
    page = get_page(shared_client, f"/jobs/{job_id}")
    viewer = json.loads(page.one("div", id="viewer")["data-viewer"])
    assert viewer["receptor"] == {"url": f"/api/jobs/{job_id}/receptor.pdbqt", "format": "pdbqt"}
    assert viewer["poses"] == {"url": f"/api/jobs/{job_id}/poses.sdf", "format": "sdf"}
    assert viewer["box"] == PARAMS["box"]
    assert viewer["reference"] is None
    buttons = page.find("button", **{"class": "pose-button"})
    assert [button["data-rank"] for button in buttons] == ["1", "2"]
    assert buttons[0]["aria-pressed"] == "true"
    assert page.one("canvas", id="score-chart") is not None
    kinds = dict(json.loads(page.one("section", id="interactions")["data-kinds"]))
    assert kinds["hydrogen_bond"] == "Hydrogen bond"


def test_a_running_job_shows_its_input_receptor_and_no_poses_yet(shared_client):
    job_id = make_job(shared_client, **running_state())
    store_files(shared_client, job_id, "receptor.pdb")
    viewer = json.loads(
        get_page(shared_client, f"/jobs/{job_id}").one("div", id="viewer")["data-viewer"]
    )
    assert viewer["receptor"] == {"url": f"/api/jobs/{job_id}/receptor.pdb", "format": "pdb"}
    assert viewer["poses"] is None


def test_job_page_shows_the_same_docking_as_a_command_line(shared_client):
    page = get_page(shared_client, f"/jobs/{make_job(shared_client, **completed_state())}")
    command = page.html.split('id="command-line"')[1].split("</code>")[0]
    assert (
        "dockyard dock --receptor 1iep_receptorH.pdb --smiles &#39;NC(=O)c1ccccc1&#39; "
        "--center 15.19 53.903 16.917 --size 20 20 22.5 --exhaustiveness 8 --num-poses 9 "
        "--energy-range 3 --seed 1234 --scoring vina --out poses.sdf"
    ) in command


def test_command_line_of_a_box_around_a_reference_ligand():
    params = {
        **PARAMS,
        "ligand": {"source": "file", "filename": "my ligand.sdf", "smiles": "CCO"},
        "box_source": "reference_ligand",
        "padding": 5.0,
    }
    command = jobs.command_line(params, ["receptor.pdb", "reference_ligand.mol2"])
    assert "--ligand 'my ligand.sdf'" in command
    assert "--autobox-ligand reference_ligand.mol2 --padding 5" in command
    assert "--center" not in command


def test_a_job_is_cloned_into_the_form_with_its_values_and_files(client):
    params = {
        **PARAMS,
        "ligand": {"source": "file", "filename": "lig.sdf", "smiles": "CCO"},
        "scoring": "vinardo",
    }
    store = client.app.state.store
    job_id = store.create_job(kind="dock", name="to clone", params=params).id
    store_files(client, job_id, "receptor.pdb", "ligand_input.sdf", "ligand.pdbqt")
    job_page = get_page(client, f"/jobs/{job_id}")
    assert job_page.one("a", id="clone-button")["href"] == f"/?clone={job_id}"

    page = get_page(client, f"/?clone={job_id}")
    assert page.one("input", name="center_y")["value"] == "53.903"
    assert page.one("input", name="size_z")["value"] == "22.5"
    assert page.one("input", name="seed")["value"] == "1234"
    assert page.one("input", name="name")["value"] == "to clone"
    assert page.one("input", name="smiles")["value"] == ""
    assert "selected" in page.one("option", value="vinardo")
    prefill = json.loads(page.one("form", id="submit-form")["data-prefill"])
    assert prefill["files"] == {
        "receptor": {"url": f"/api/jobs/{job_id}/receptor.pdb", "filename": "1iep_receptorH.pdb"},
        "ligand": {"url": f"/api/jobs/{job_id}/ligand_input.sdf", "filename": "lig.sdf"},
    }
    assert prefill["box_mode"] == "explicit"


def test_cloning_a_missing_job_is_a_404_page(shared_client):
    page = get_page(shared_client, "/?clone=999", status=404)
    assert "There is no job 999." in page.html


def test_job_list_and_page_draw_the_ligand(client):
    job_id = make_job(client, "benzamide", **completed_state())
    url = "/api/depict.svg?smiles=NC%28%3DO%29c1ccccc1"
    row_image = get_page(client, "/jobs").one("img", **{"class": "depiction"})
    assert row_image["src"] == f"{url}&width=120&height=72"
    job_image = get_page(client, f"/jobs/{job_id}").one("img", width="240")
    assert job_image["src"] == f"{url}&width=240&height=180"
    assert client.get(job_image["src"]).headers["content-type"].startswith("image/svg+xml")


def test_vendored_libraries_are_served():
    static = Path(web.__file__).parent / "static" / "vendor"
    for name in ("3Dmol.es6-min.js", "chart.umd.min.js"):
        assert (static / name).stat().st_size > 100_000, f"run scripts/assets.sh ({name})"
