"""The pages in a real browser: submit the example, watch it finish live, look at the poses.

Dockings are kept small: the example with exhaustiveness 2 (about 20 s with the receptor
preparation), and benzamide in a 14 Å box (about a second).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import PHONE, screenshot
from tests.conftest import FAST_OPTIONS, SMALL_BOX, SMALL_SMILES

pytestmark = pytest.mark.browser


def drawn_share(page, selector: str) -> float:
    """The share of the 3D view's pixels that are not background."""
    counts = page.evaluate(
        "async (selector) => document.querySelector(selector).dockViewer.drawnPixels()",
        selector,
    )
    return counts["drawn"] / counts["total"]


def submit_small_job(site, receptor_pdbqt: bytes, name: str) -> int:
    files = {"receptor": ("1iep.pdbqt", receptor_pdbqt, "chemical/x-pdbqt")}
    fields = {**SMALL_BOX, **FAST_OPTIONS, "smiles": SMALL_SMILES, "name": name}
    response = site.submit(files, **fields)
    assert response.status_code == 201, response.text
    return response.json()["job_id"]


def test_the_example_docks_live_and_its_poses_can_be_explored(pages):
    page = pages.open("/")
    page.click("#try-example")
    page.wait_for_selector("#preview-viewer[data-state=ready]")
    assert page.get_attribute("#preview-viewer", "data-box") == "shown"
    assert drawn_share(page, "#preview-viewer") > 0.05
    screenshot(page, "submit")

    page.fill("#f-exhaustiveness", "2")
    page.fill("#f-num_poses", "3")
    page.fill("#f-energy_range", "10")
    page.fill("#f-seed", "7")
    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    page.wait_for_selector("#job[data-status=running], #job[data-status=completed]")
    # Vina's own progress reaches the page while it docks, and with it the time left.
    page.wait_for_selector("#time-left-fact:not([hidden])", timeout=120_000)
    assert re.fullmatch(r"about \d+ (s|min \d\d s)", page.text_content("#time-left")), (
        page.text_content("#time-left")
    )
    progress = float(page.get_attribute("progress[data-field=progress]", "value"))
    assert 0.2 < progress < 0.9, progress
    page.wait_for_selector("#job[data-status=completed]", timeout=180_000)
    assert page.is_hidden("#time-left-fact")
    page.wait_for_selector("#viewer[data-state=ready][data-pose='1']")
    page.wait_for_selector("#interactions[data-state=ready][data-rank='1']", timeout=60_000)
    assert navigations == [], "the page must update without reloading"
    assert page.text_content("span[data-field=status]") == "completed"
    poses = page.locator("#pose-rows tr").count()
    assert poses >= 2
    assert drawn_share(page, "#viewer") > 0.05
    assert page.locator("#interaction-rows tr").count() > 0
    assert int(page.get_attribute("#viewer", "data-interactions")) > 0
    assert page.get_attribute("#score-chart", "data-points") == str(poses)
    assert int(page.get_attribute("#progress-chart", "data-points")) >= 3
    assert "Hydrogen bond" in page.text_content("#interaction-rows")
    screenshot(page, "job")

    page.click(".pose-button[data-rank='2']")
    page.wait_for_selector("#viewer[data-pose='2']")
    page.wait_for_selector("#interactions[data-state=ready][data-rank='2']", timeout=60_000)
    assert page.get_attribute("tr[data-rank='2']", "aria-selected") == "true"
    assert page.get_attribute(".pose-button[data-rank='1']", "aria-pressed") == "false"

    page.focus(".pose-button[data-rank='2']")
    page.keyboard.press("ArrowUp")
    page.wait_for_selector("#viewer[data-pose='1']")
    assert page.evaluate("document.activeElement.dataset.rank") == "1"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#viewer[data-pose='2']")

    with page.expect_download() as download:
        page.click("#downloads a[href$='poses.sdf']")
    sdf = Path(download.value.path()).read_text()
    assert sdf.count("$$$$") == poses
    assert "vina_affinity" in sdf

    command = page.text_content("#command-line")
    assert command.startswith(
        "dockyard dock --receptor 1iep_receptorH.pdb --ligand 1iep_ligand.sdf"
    )
    assert "--seed 7" in command

    phone = pages.open(page.url.removeprefix(pages.site.url), viewport=PHONE)
    phone.wait_for_selector("#interactions[data-state=ready]", timeout=60_000)
    phone.wait_for_selector("#viewer[data-state=ready]")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "nothing may stick out sideways on a phone"
    screenshot(phone, "job-phone")


def test_the_form_keeps_what_was_typed_and_shows_the_error_by_its_field(pages):
    page = pages.open("/")
    page.click("#try-example")
    page.wait_for_selector("#preview-viewer[data-state=ready]")
    page.fill("#f-size_x", "500")
    page.fill("#f-name", "too wide")
    page.click("#submit-button")
    error = page.locator("#f-size_x-error")
    error.wait_for()
    assert "size_x" in error.text_content()
    assert page.get_attribute("#f-size_x", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "f-size_x"
    assert page.input_value("#f-name") == "too wide"
    assert page.input_value("#f-center_x") == "15.19"
    assert page.evaluate("document.getElementById('f-receptor').files[0].name") == (
        "1iep_receptorH.pdb"
    )
    screenshot(page, "submit-error")


def test_the_box_follows_the_fields_a_click_and_the_pockets(pages):
    page = pages.open("/")
    page.click("#try-example")
    page.wait_for_selector("#preview-viewer[data-state=ready]")
    before = page.input_value("#f-center_x")
    page.fill("#f-size_y", "")
    assert page.get_attribute("#preview-viewer", "data-box") == "none"
    page.fill("#f-size_y", "18")
    assert page.get_attribute("#preview-viewer", "data-box") == "shown"

    # Click atoms near the middle of the view until one is hit: the box moves onto it.
    canvas = page.locator("#preview-viewer canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for dx, dy in ((0, 0), (8, 0), (0, 8), (-8, 0), (0, -8), (16, 16), (-16, -16)):
        page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)
        if page.input_value("#f-center_x") != before:
            break
    assert page.input_value("#f-center_x") != before
    assert "Box centred on" in page.text_content("#pocket-status")

    # The pocket picker hides itself on a server without POST /api/prepare.
    pockets = page.locator("#pockets")
    page.wait_for_function(
        "document.getElementById('pockets').dataset.state !== undefined", timeout=60_000
    )
    if pockets.get_attribute("data-state") == "unavailable":
        assert pockets.is_hidden()
    else:
        first = page.locator("#pocket-list button").first
        first.click()
        assert first.get_attribute("aria-pressed") == "true"
        assert page.get_attribute("#preview-viewer", "data-box") == "shown"

    phone = pages.open("/", viewport=PHONE)
    phone.click("#try-example")
    phone.wait_for_selector("#preview-viewer[data-state=ready]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "submit-phone")


def test_the_job_list_follows_new_jobs_to_the_end(pages, site, receptor_pdbqt):
    page = pages.open("/jobs")
    page.wait_for_function("document.documentElement.dataset.live === 'open'")
    job_id = submit_small_job(site, receptor_pdbqt, "benzamide, live")
    row = f"tr[data-job-id='{job_id}']"
    page.wait_for_selector(row)
    page.wait_for_selector(f"{row}[data-status=completed]", timeout=120_000)
    assert re.fullmatch(r"-\d+\.\d{3}", page.text_content(f"{row} td.score").strip())
    page.wait_for_function(
        "(row) => document.querySelector(`${row} img.depiction`).naturalWidth > 0", arg=row
    )
    screenshot(page, "jobs")
    phone = pages.open("/jobs", viewport=PHONE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "jobs-phone")


def test_no_change_is_lost_while_the_stream_is_down(pages, site, receptor_pdbqt, monkeypatch):
    """The stream breaks (its database reads fail: the server's change feed's and its own)
    while a job runs from start to end; the browser reconnects with its Last-Event-ID and the
    job's final state still arrives."""
    page = pages.open("/jobs")
    page.wait_for_function("document.documentElement.dataset.live === 'open'")
    first = submit_small_job(site, receptor_pdbqt, "before the break")
    page.wait_for_selector(f"tr[data-job-id='{first}'][data-status=completed]", timeout=60_000)

    def unreachable(*args, **kwargs):
        raise ConnectionError("the database cannot be reached (a test)")

    monkeypatch.setattr(site.store.changes, "since", unreachable)
    monkeypatch.setattr(site.store, "changed_since", unreachable)
    page.wait_for_function("document.documentElement.dataset.live === 'reconnecting'")
    job_id = submit_small_job(site, receptor_pdbqt, "during the break")
    site.wait(job_id)
    monkeypatch.undo()
    page.wait_for_selector(f"tr[data-job-id='{job_id}'][data-status=completed]", timeout=60_000)
    page.wait_for_function("document.documentElement.dataset.live === 'open'")


def test_a_job_is_cloned_with_its_parameters_and_files(pages, site, receptor_pdbqt):
    job_id = submit_small_job(site, receptor_pdbqt, "to clone")
    site.wait(job_id)
    page = pages.open(f"/jobs/{job_id}")
    page.click("#clone-button")
    page.wait_for_url(re.compile(rf"/\?clone={job_id}$"))
    page.wait_for_function("document.getElementById('f-receptor').files.length === 1")
    assert page.evaluate("document.getElementById('f-receptor').files[0].name") == "1iep.pdbqt"
    assert page.input_value("#f-smiles") == SMALL_SMILES
    assert page.input_value("#f-size_x") == "14"
    assert page.input_value("#f-seed") == FAST_OPTIONS["seed"]
    page.wait_for_selector("#preview-viewer[data-state=ready]")
    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    clone_id = int(page.url.rsplit("/", 1)[1])
    assert clone_id != job_id
    original = site.client.get(f"/api/jobs/{job_id}").json()
    copy = site.wait(clone_id)
    for key in ("box", "exhaustiveness", "num_poses", "seed", "scoring", "ligand"):
        assert copy["params"][key] == original["params"][key], key
    assert copy["results"]["best_score"] == original["results"]["best_score"]
