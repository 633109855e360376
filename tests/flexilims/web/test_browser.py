"""End to end in a real browser: Debian's Chromium driven by Playwright
against a real ``flexilims serve`` on 127.0.0.1.

The lab's scenario: log in, open a project, expand the tree down to a
dataset (with its first frame), search by attribute, edit an attribute and
see the store refuse a bad value, see the change in the history and restore
the earlier version, delete a session and restore it from the trash, log out.
Every step saves a screenshot (in ``$FLEXILIMS_SCREENSHOTS`` if set, else in
the test's temporary folder) and every page is checked with axe-core: no
serious or critical violation.
"""

import os
import re
from pathlib import Path

import numpy as np
import pytest
import tifffile

from flexilims.store import Actor
from flexilims.store.accounts import Accounts
from servers import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no /usr/bin/chromium: install Debian's chromium (`apt-get install "
        "chromium`, as .ci/run does) to run the browser tests",
    ),
]


@pytest.fixture
def shots(tmp_path, request):
    folder = os.environ.get("FLEXILIMS_SCREENSHOTS")
    folder = Path(folder) / request.node.name if folder else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def lab_server(database_url, store, tmp_path, monkeypatch):
    """A served project: mouse > session > recording > ScanImage dataset with
    a TIFF under the data root; ``ada`` is an admin."""
    root = tmp_path / "data"
    folder = root / "raw" / "PZAH6.4b" / "S20210513" / "R101"
    folder.mkdir(parents=True)
    frame = np.fromfunction(lambda y, x: (x * y) % 251, (128, 160)).astype(np.uint16)
    tifffile.imwrite(folder / "scan_00001_00001.tif", np.stack([frame, frame]))
    accounts = Accounts(store)
    project = accounts.create_project("3d_vision")
    accounts.add_user("ada", "ada-secret", "Ada Admin", is_admin=True)
    ada = Actor("ada", "Ada Admin", is_admin=True)

    def save(datatype, name, attributes, origin=None):
        return store.save(
            ada,
            datatype=datatype,
            name=name,
            project_id=project.id,
            attributes=attributes,
            origin_id=origin,
        )

    mouse = save("mouse", "PZAH6.4b", {"sex": "F"})
    session = save("session", "PZAH6.4b_S20210513", {"date": "2021-05-13"}, mouse["id"])
    recording = save(
        "recording", "R101", {"recording_type": "two_photon"}, session["id"]
    )
    store.update_one(
        ada,
        datatype="recording",
        entity_id=recording["id"],
        attributes={"protocol": "retinotopy"},
    )
    save(
        "dataset",
        "R101_scanimage",
        {"path": "PZAH6.4b/S20210513/R101", "dataset_type": "scanimage"},
        recording["id"],
    )
    save("sample", "brain", {"sample_type": "brain"}, mouse["id"])
    monkeypatch.setenv("FLEXILIMS_DATA_ROOT", str(root))
    monkeypatch.setenv("FLEXILIMS_CACHE_DIR", str(tmp_path / "cache"))
    server = ServerProcess(database_url)
    yield server.base_url.split("/flexilims/")[0]
    server.stop()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 860}, bypass_csp=True
        )
        context.set_default_timeout(15_000)
        yield context.new_page()
        browser.close()


def serious_violations(page) -> list:
    """axe-core's serious and critical violations on the page."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]}))
        .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


#: A page loaded whole, with no htmx request, swap or settling under way.
SETTLED = """() => document.readyState === "complete"
    && !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling")"""


class Steps:
    """Screenshots numbered in order, each page checked with axe."""

    def __init__(self, page, folder: Path):
        self.page, self.folder, self.count = page, folder, 0
        self.checked: dict[str, list] = {}

    def __call__(self, name: str) -> None:
        self.page.wait_for_function(SETTLED)
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.checked[name] = serious_violations(self.page)

    def assert_accessible(self):
        bad = [
            f"{name}: {v['id']} ({v['impact']}) at {', '.join(v['nodes'])}"
            for name, found in self.checked.items()
            for v in found
        ]
        assert not bad, "axe-core violations:\n" + "\n".join(bad)


def test_lab_scenario_in_a_browser(lab_server, page, shots):
    base = lab_server
    step = Steps(page, shots)

    page.goto(base + "/")
    assert page.url.endswith("/login")
    step("login")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("ada-secret")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/")
    step("projects")

    page.get_by_role("link", name="3d_vision").click()
    page.wait_for_selector("svg.chart")
    assert page.get_by_text("5 entities").is_visible()
    step("project")

    tree = page.locator("#tree-root")
    tree.get_by_role("button", name="Show what is below PZAH6.4b").click()
    tree.get_by_role("button", name="Show what is below PZAH6.4b_S20210513").click()
    tree.get_by_role("button", name="Show what is below R101").click()
    dataset_link = tree.get_by_role("link", name="R101_scanimage")
    dataset_link.wait_for()
    step("tree-expanded")
    dataset_link.click()
    image = page.get_by_role("img", name="First frame of R101_scanimage")
    image.wait_for()
    page.wait_for_function(
        "() => { const i = document.querySelector('.thumbnail img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert page.get_by_text("exists (folder)").is_visible()
    step("dataset")

    page.goto(base + "/projects/3d_vision/search")
    page.locator("#s-key0").fill("recording_type")
    page.locator("#s-value0").fill("two_photon")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("heading", name="1 result").wait_for()
    assert page.get_by_role("link", name="R101", exact=True).is_visible()
    step("search")

    page.get_by_role("link", name="R101", exact=True).click()
    page.get_by_role("link", name="Edit", exact=True).click()
    value = page.get_by_label("recording_type", exact=True)
    value.fill("humpy")
    value.locator("xpath=ancestor::form").get_by_role("button", name="Save").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "'humpy' is not a valid value for recording_type" in alert.inner_text()
    step("refused-value")
    value = page.get_by_label("recording_type", exact=True)
    value.fill("widefield")
    value.locator("xpath=ancestor::form").get_by_role("button", name="Save").click()
    page.get_by_text("Changed recording_type.").wait_for()
    step("edited")

    page.get_by_role("link", name="History", exact=True).click()
    assert page.locator("table.diff ins", has_text="widefield").is_visible()
    assert page.locator("table.diff del", has_text="two_photon").is_visible()
    step("history")
    earlier = page.locator("li.version").nth(1)
    earlier.get_by_role("button", name=re.compile(r"^Restore version \d+$")).click()
    page.get_by_text(re.compile(r"Restored version \d+\.")).wait_for()
    step("restored-version")
    page.get_by_role("link", name="View", exact=True).click()
    attributes = page.locator("table.attributes").inner_text()
    assert re.search(r"recording_type\s+two_photon", attributes)

    page.get_by_role("link", name="PZAH6.4b_S20210513").first.click()
    page.get_by_role("link", name="Delete", exact=True).click()
    assert page.get_by_text("2 entities below it go too:").is_visible()
    step("delete-confirm")
    page.get_by_role("button", name="Move 3 entities to the trash").click()
    page.get_by_text("to the trash.").wait_for()
    assert page.get_by_role("heading", name="PZAH6.4b").is_visible()
    step("deleted")

    page.get_by_role("link", name="Trash").click()
    step("trash")
    page.get_by_role("button", name="Restore session PZAH6.4b_S20210513").click()
    page.get_by_text("Restored 3 entities.").wait_for()
    step("trash-restored")
    page.goto(base + "/projects/3d_vision")
    page.get_by_role("button", name="Show what is below PZAH6.4b").click()
    page.locator("#tree-root").get_by_role("link", name="PZAH6.4b_S20210513").wait_for()

    for url, name in (
        ("/projects/3d_vision/history", "project-history"),
        ("/admin/users", "admin-users"),
        ("/admin/projects", "admin-projects"),
        ("/admin/settings", "admin-settings"),
        ("/no/such/page", "not-found"),
    ):
        page.goto(base + url)
        step(name)

    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are logged out.").wait_for()
    step("logged-out")
    page.goto(base + "/projects/3d_vision")
    assert "/login" in page.url
    step.assert_accessible()
