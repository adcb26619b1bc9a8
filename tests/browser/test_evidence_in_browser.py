"""The evidence in a real browser: a validated screen's card fills in live, the Checks column
and the "Plausible only" filter; the form names the validate box when there is no reference."""

from __future__ import annotations

import pytest

from tests.browser.test_screen_page import fill_form, library_file

pytestmark = pytest.mark.browser

LIBRARY = b"NC(=O)c1ccccc1 benzamide\nOc1ccccc1 phenol\nc1ccc2[nH]ccc2c1 indole\n"


def test_a_validated_screen_shows_its_validation_and_checks_live(
    pages, site, receptor_pdbqt, imatinib_sdf
):
    files = {
        "receptor": ("1iep.pdbqt", receptor_pdbqt),
        "library": ("library.smi", LIBRARY),
        "reference_ligand": ("1iep_ligand.sdf", imatinib_sdf),
    }
    fields = {"exhaustiveness": "1", "num_poses": "2", "seed": "5", "padding": "2"}
    response = site.client.post("/api/screens", data={**fields, "validate": "true"}, files=files)
    assert response.status_code == 201, response.text
    screen_id = response.json()["job_id"]
    page = pages.open(f"/screens/{screen_id}")
    assert page.get_attribute("#validation", "data-status") in ("pending", "running")
    page.wait_for_selector("#validation[data-status='completed']", timeout=240_000)
    verdict = page.text_content("#validation-verdict")
    assert "2 Å" in verdict and "being redocked" not in verdict
    assert page.text_content("[data-validation='top1_rmsd']").strip() != "—"
    page.wait_for_selector("#screen[data-status='completed']", timeout=240_000)
    page.wait_for_function(
        "document.querySelectorAll('#ligands tbody .col-checks .badge').length === 3"
    )
    plausible = page.locator("#ligands tbody .badge-plausible").count()
    page.check("#filter-plausible")
    page.wait_for_function(
        "(n) => document.querySelectorAll('#ligands tbody .badge-plausible').length === n"
        " && !document.querySelector('#ligands tbody .badge-implausible')",
        arg=plausible,
    )


def test_validate_without_a_reference_is_shown_by_its_box(pages, receptor_pdbqt):
    page = pages.open("/screens/new")
    fill_form(page, receptor_pdbqt, library_file(), "validate without reference")
    page.check("#f-validate")
    page.click("#submit-button")
    error = page.locator("#f-validate-error")
    error.wait_for()
    assert "reference" in error.text_content()
    assert page.url.endswith("/screens/new")
