"""The screen pages in a real browser: submit a small library through the form, watch the
screen fill in live, then sort, filter and page the ligand table and look at one ligand in 3D.

The library is a dozen small molecules (one invalid SMILES, one duplicate) docked with
exhaustiveness 1 in a 14 Å box: about 20 s on one worker.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_pages_in_browser import drawn_share
from tests.conftest import SMALL_BOX

pytestmark = pytest.mark.browser

LIBRARY = [
    ("benzamide", "NC(=O)c1ccccc1"),
    ("phenol", "Oc1ccccc1"),
    ("naphthalene", "c1ccc2ccccc2c1"),
    ("acetanilide", "CC(=O)Nc1ccccc1"),
    ("o-cresol", "Cc1ccccc1O"),
    ("bad-smiles", "C1CC(=O"),
    ("phenol again", "c1ccc(O)cc1"),
    ("indole", "c1ccc2[nH]ccc2c1"),
    ("pyridine", "c1ccncc1"),
    ("toluene", "Cc1ccccc1"),
    ("aniline", "Nc1ccccc1"),
    ("benzoic acid", "OC(=O)c1ccccc1"),
]
DOCKED = len(LIBRARY) - 2


def library_file(name: str = "library.smi") -> dict:
    text = "".join(f"{smiles} {title}\n" for title, smiles in LIBRARY)
    return {"name": name, "mimeType": "text/plain", "buffer": text.encode()}


def fill_form(page, receptor_pdbqt: bytes, library: dict, name: str) -> None:
    page.set_input_files(
        "#f-receptor",
        {"name": "1iep.pdbqt", "mimeType": "chemical/x-pdbqt", "buffer": receptor_pdbqt},
    )
    page.set_input_files("#f-library", library)
    for key, value in SMALL_BOX.items():
        page.fill(f"#f-{key}", value)
    page.fill("#f-exhaustiveness", "1")
    page.fill("#f-num_poses", "2")
    page.fill("#f-seed", "11")
    page.fill("#f-name", name)


def canvas_drawn_share(page, selector: str) -> float:
    """The share of a 2D canvas's pixels that are painted (Chart.js draws on transparent)."""
    return page.evaluate(
        """(selector) => {
            const canvas = document.querySelector(selector);
            const context = canvas.getContext("2d");
            const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
            let drawn = 0;
            for (let index = 3; index < data.length; index += 4) if (data[index] > 0) drawn += 1;
            return drawn / (canvas.width * canvas.height);
        }""",
        selector,
    )


def wait_for_pager(page, expected: str) -> None:
    """Wait until the pager reads ``expected``, written with "-" for the page's en dash."""
    page.wait_for_function(
        "(expected) => document.getElementById('page-info').textContent"
        ".replace('\\u2013', '-') === expected",
        arg=expected,
    )


def column(page, index: int) -> list[str]:
    """The text of one column of the ligand table, top to bottom."""
    cells = page.locator(f"#ligands tbody tr td:nth-child({index})")
    return [text.strip() for text in cells.all_text_contents()]


def counts(page) -> dict[str, str]:
    cells = page.locator("[data-count]")
    return {
        cells.nth(n).get_attribute("data-count"): cells.nth(n).text_content().strip()
        for n in range(cells.count())
    }


def test_a_screen_is_submitted_followed_live_and_explored(pages, receptor_pdbqt):
    jobs = pages.open("/jobs")
    jobs.wait_for_function("document.documentElement.dataset.live === 'open'")
    page = pages.open("/screens/new")
    screenshot(page, "screen-new")
    fill_form(page, receptor_pdbqt, library_file(), "a dozen small molecules")
    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/screens/\d+$"))
    screen_id = int(page.url.rsplit("/", 1)[1])
    page.wait_for_selector("#screen")
    page.evaluate("window.notReloaded = true")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    assert page.get_attribute("#screen", "data-status") in ("pending", "running")
    # The job list, open all along, shows the new screen, linked to its page.
    row = f"#jobs tr[data-job-id='{screen_id}']"
    jobs.wait_for_selector(row)
    assert jobs.get_attribute(f"{row} td.name a", "href") == f"/screens/{screen_id}"
    assert jobs.text_content(f"{row} .kind-tag") == "screen"
    assert counts(page)["total"] == str(len(LIBRARY))
    first_completed = int(counts(page)["completed"])

    # The leaderboard fills in and the counts move to the end, with no reload.
    page.wait_for_selector("#leaderboard tbody tr[data-index]", timeout=120_000)
    page.wait_for_selector("#screen[data-status=completed]", timeout=180_000)
    page.wait_for_function(
        "document.querySelector('[data-count=pending]').textContent.trim() === '0'"
    )
    assert page.evaluate("window.notReloaded") is True
    assert navigations == [], "the page must update without reloading"
    final = counts(page)
    assert int(final["completed"]) > first_completed
    assert final == {
        "total": "12",
        "completed": str(DOCKED),
        "failed": "1",
        "duplicates": "1",
        "pending": "0",
    }
    assert page.locator("#cancel-button").is_hidden()
    assert page.text_content("span[data-field=status]") == "completed"
    leaders = page.locator("#leaderboard tbody tr[data-index]")
    assert leaders.count() == DOCKED
    scores = [float(text) for text in page.locator("#leaderboard td.score").all_text_contents()]
    assert scores == sorted(scores) and scores[0] < 0
    page.wait_for_function("document.querySelector('#leaderboard img.depiction').naturalWidth > 0")

    # The histogram of the docked ligands' scores is drawn.
    page.wait_for_selector(f"#histogram[data-points='{DOCKED}']")
    assert canvas_drawn_share(page, "#histogram") > 0.01

    # Every ligand is in the table, best first; the failed one with its error.
    page.wait_for_function(
        f"document.querySelectorAll('#ligands tbody tr').length === {len(LIBRARY)}"
    )
    table_scores = [float(text) for text in column(page, 4)[:DOCKED]]
    assert table_scores == sorted(table_scores)
    failed = page.locator("#ligands tbody tr", has_text="bad-smiles")
    assert "failed" in failed.text_content()
    assert "SMILES" in failed.locator("td.note").text_content()
    duplicate = page.locator("#ligands tbody tr", has_text="phenol again")
    assert "same as ligand 2" in duplicate.locator("td.note").text_content()
    screenshot(page, "screen")
    jobs.wait_for_selector(f"{row}[data-status=completed]")
    screenshot(jobs, "screen-in-jobs")

    # Sort by a header: ascending, then descending on a second click.
    name_header = page.locator("#ligands th", has=page.locator("button[data-sort=name]"))
    page.click("#ligands button[data-sort=name]")
    page.wait_for_function(
        "document.querySelector('#ligands button[data-sort=name]')"
        ".closest('th').getAttribute('aria-sort') === 'ascending'"
    )
    page.wait_for_selector("#ligands[data-state=ready]")
    names = column(page, 2)
    assert names == sorted(names) and names != [title for title, _ in LIBRARY]
    assert page.get_attribute("#ligands th:has(button[data-sort=score])", "aria-sort") == "none"
    page.click("#ligands button[data-sort=name]")
    page.wait_for_function(
        "document.querySelector('#ligands button[data-sort=name]')"
        ".closest('th').getAttribute('aria-sort') === 'descending'"
    )
    page.wait_for_selector("#ligands[data-state=ready]")
    assert column(page, 2) == sorted(names, reverse=True)
    assert name_header.get_attribute("aria-sort") == "descending"

    # Filter by status: only the failed ligand, with its error.
    page.select_option("#filter-status", "failed")
    page.wait_for_function("document.querySelectorAll('#ligands tbody tr').length === 1")
    assert column(page, 2) == ["bad-smiles"]
    assert "SMILES" in page.text_content("#ligands tbody td.note")
    wait_for_pager(page, "1-1 of 1")
    page.select_option("#filter-status", "")
    page.wait_for_function(
        f"document.querySelectorAll('#ligands tbody tr').length === {len(LIBRARY)}"
    )

    # A dozen ligands fit one page: both pager buttons are disabled.
    wait_for_pager(page, f"1-{len(LIBRARY)} of {len(LIBRARY)}")
    assert page.is_disabled("#page-previous") and page.is_disabled("#page-next")

    # Choose a ligand in the leaderboard: its best pose is drawn in 3D, and its poses download.
    best = leaders.first
    best_name = best.locator("button[data-show]").text_content().strip()
    best.locator("button[data-show]").click()
    page.wait_for_selector("#viewer[data-state=ready]", timeout=60_000)
    assert page.text_content("#ligand-name").strip() == best_name
    assert drawn_share(page, "#viewer") > 0.05
    assert best.get_attribute("aria-selected") == "true"
    with page.expect_download() as download:
        page.click("#ligand-download")
    sdf = Path(download.value.path()).read_text()
    assert 1 <= sdf.count("$$$$") <= 2
    assert download.value.suggested_filename.endswith(".sdf")
    screenshot(page, "screen-ligand")

    # Another ligand from the table, from the keyboard.
    other = page.locator("#ligands tbody tr", has_text="naphthalene").locator("button[data-show]")
    other.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('ligand-name').textContent === 'naphthalene'")
    page.wait_for_selector("#viewer[data-state=ready]")

    phone = pages.open(f"/screens/{screen_id}", viewport=PHONE)
    phone.wait_for_selector(f"#histogram[data-points='{DOCKED}']")
    phone.wait_for_function(
        f"document.querySelectorAll('#ligands tbody tr').length === {len(LIBRARY)}"
    )
    phone.wait_for_function(
        "[...document.querySelectorAll('#leaderboard img')].every((img) => img.naturalWidth > 0)"
    )
    for table in ("#leaderboard", "#ligands"):
        inner = phone.evaluate(f"document.querySelector('{table}').scrollWidth")
        outer = phone.evaluate(f"document.querySelector('{table}').parentElement.clientWidth")
        assert inner <= outer, f"{table} must fit a phone without scrolling sideways"
    phone.locator("#leaderboard button[data-show]").first.click()
    phone.wait_for_selector("#viewer[data-state=ready]", timeout=60_000)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "nothing may stick out sideways on a phone"
    screenshot(phone, "screen-phone")


def test_the_ligand_table_pages_through_a_screen(pages, site, receptor_pdbqt):
    """A page size set in the address (?page_size=5) splits the dozen ligands into three pages.
    The screen is only read here, so it is cancelled at once."""
    files = {
        "receptor": ("1iep.pdbqt", receptor_pdbqt),
        "library": ("library.smi", library_file()["buffer"]),
    }
    fields = {**SMALL_BOX, "exhaustiveness": "1", "num_poses": "1", "seed": "3"}
    response = site.client.post("/api/screens", data=fields, files=files)
    assert response.status_code == 201, response.text
    screen_id = response.json()["job_id"]
    site.client.post(f"/api/jobs/{screen_id}/cancel")  # the page only reads its ligands
    page = pages.open(f"/screens/{screen_id}?page_size=5")
    wait_for_pager(page, "1-5 of 12")
    assert page.is_disabled("#page-previous") and page.is_enabled("#page-next")
    assert "No ligand docked yet" in page.text_content("#leaderboard")
    assert page.is_visible("#histogram-empty")
    screenshot(page, "screen-empty")
    page.click("#page-next")
    wait_for_pager(page, "6-10 of 12")
    assert page.is_enabled("#page-previous") and page.is_enabled("#page-next")
    page.click("#page-next")
    wait_for_pager(page, "11-12 of 12")
    assert page.locator("#ligands tbody tr").count() == 2
    assert page.is_disabled("#page-next")
    page.click("#page-previous")
    wait_for_pager(page, "6-10 of 12")
    assert page.locator("#ligands tbody tr").count() == 5
    # Sorting goes back to the first page.
    page.click("#ligands button[data-sort=index]")
    wait_for_pager(page, "1-5 of 12")
    assert page.get_attribute("#ligands th:has(button[data-sort=index])", "aria-sort") == (
        "ascending"
    )


def test_the_form_shows_a_library_error_by_its_field_and_keeps_the_rest(pages, receptor_pdbqt):
    page = pages.open("/screens/new")
    fill_form(page, receptor_pdbqt, library_file("library.xyz"), "wrong kind of file")
    page.click("#submit-button")
    error = page.locator("#f-library-error")
    error.wait_for()
    assert "library.xyz" in error.text_content()
    assert page.get_attribute("#f-library", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "f-library"
    assert page.url.endswith("/screens/new")
    assert page.input_value("#f-name") == "wrong kind of file"
    assert page.input_value("#f-center_x") == SMALL_BOX["center_x"]
    assert page.input_value("#f-exhaustiveness") == "1"
    assert page.evaluate("document.getElementById('f-receptor').files[0].name") == "1iep.pdbqt"
    assert page.evaluate("document.getElementById('f-library').files[0].name") == "library.xyz"
    assert page.is_enabled("#submit-button")
    screenshot(page, "screen-new-error")

    # Fixing the field clears its error on the next try.
    page.set_input_files("#f-library", library_file("library.smi"))
    page.fill("#f-size_x", "500")
    page.click("#submit-button")
    page.locator("#f-size_x-error").wait_for()
    assert page.locator("#f-library-error").is_hidden()
    assert page.get_attribute("#f-library", "aria-invalid") is None
