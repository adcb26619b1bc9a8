"""The account pages in a real Chromium: logging in, the submit and job pages' own scripts
under the strict Content-Security-Policy sending the CSRF token, and the admin page adding
and disabling users."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from dockyard.config import Settings
from tests.browser.conftest import Pages, screenshot
from tests.conftest import FAST_OPTIONS, SMALL_BOX, SMALL_SMILES, LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A lab server: an admin and two members."""
    data = tmp_path_factory.mktemp("lab-browser")
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'd.db'}", workers=1)
    with LiveServer(settings) as server:
        server.store.accounts.add_user("admin", "pw-admin", role="admin")
        for name in ("alice", "bob"):
            server.store.accounts.add_user(name, f"pw-{name}")
        yield server


@pytest.fixture
def watched(pages: Pages) -> Iterator[Pages]:
    """The pages, also failing on any Content-Security-Policy violation they report."""
    violations: list[str] = []
    original = pages.open

    def open_watched(path: str, **options):
        page = original(path, bypass_csp=False, **options)
        page.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    pages.open = open_watched
    yield pages
    assert violations == [], violations


def log_in(page, name: str) -> None:
    page.fill("#login-name", name)
    page.fill("#login-password", f"pw-{name}")
    page.click("button[type=submit]")


def test_the_login_page_turns_away_a_wrong_password_then_goes_where_it_was_asked(watched):
    page = watched.open("/jobs")
    page.wait_for_url(re.compile(r"/login\?next=/jobs$"))
    page.fill("#login-name", "alice")
    page.fill("#login-password", "wrong")
    page.click("button[type=submit]")
    assert "Wrong name or password" in page.text_content("#login-error")
    screenshot(page, "login")
    log_in(page, "alice")
    page.wait_for_url(re.compile(r"/jobs$"))
    assert page.text_content("#account-link") == "alice"
    assert page.locator("a[href='/admin']").count() == 0


def test_a_docking_submitted_from_the_page_is_its_users_and_deletes_with_the_csrf_token(
    watched, site: LiveServer, receptor_pdbqt: bytes, tmp_path
):
    receptor = tmp_path / "1iep.pdbqt"
    receptor.write_bytes(receptor_pdbqt)
    page = watched.open("/login?next=/")
    log_in(page, "alice")
    page.wait_for_url(re.compile(r"/$"))
    page.set_input_files("#f-receptor", str(receptor))
    page.fill("#f-smiles", SMALL_SMILES)
    for name, value in {**SMALL_BOX, **FAST_OPTIONS}.items():
        page.fill(f"#f-{name}", value)
    page.fill("#f-name", "alice's benzamide")
    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    job_id = int(page.url.rsplit("/", 1)[1])
    assert site.store.get_job(job_id).owner_id == site.store.accounts.user_named("alice").id
    page.wait_for_selector("#job[data-status=completed]", timeout=120_000)
    page.wait_for_selector("#viewer[data-state=ready]")
    screenshot(page, "job-as-alice")

    as_bob = watched.open(f"/login?next=/jobs/{job_id}")
    log_in(as_bob, "bob")
    assert as_bob.locator("text=There is no job").count() == 1

    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#delete-button")
    page.wait_for_url(re.compile(r"/jobs$"))
    assert site.store.list_jobs() == []


def test_the_admin_page_adds_a_user_who_can_log_in_and_disables_them(watched, site):
    page = watched.open("/login?next=/admin")
    log_in(page, "admin")
    page.wait_for_url(re.compile(r"/admin$"))
    page.fill("#new-user", "carol")
    page.click("#add-user button[type=submit]")
    password = page.text_content("#created-password").strip()
    screenshot(page, "admin")

    carol = watched.open("/login")
    carol.fill("#login-name", "carol")
    carol.fill("#login-password", password)
    carol.click("button[type=submit]")
    carol.wait_for_url(re.compile(r"/jobs$"))
    assert carol.locator("a[href='/admin']").count() == 0, "a new user is a member by default"

    row = page.locator("tr[data-user=carol]")
    row.locator("input[name=disabled]").check()
    row.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/admin$"))
    assert page.locator("tr[data-user=carol] input[name=disabled]").is_checked()
    carol.goto(site.url + "/jobs")
    carol.wait_for_url(re.compile(r"/login\?next=/jobs$"))

    member = watched.open("/login?next=/admin")
    log_in(member, "bob")
    assert member.locator("text=There is no such page").count() == 1


def test_the_api_reference_renders_from_this_server_under_the_strict_policy(watched):
    """Swagger UI's own files and bootstrap come from /static: under the policy its operations
    render (a blocked script would leave the page empty), and nothing is fetched elsewhere."""
    page = watched.open("/docs")
    page.wait_for_selector(".opblock-summary-path[data-path='/api/jobs']")
    assert page.locator(".opblock").count() > 20
    screenshot(page, "api-reference")
