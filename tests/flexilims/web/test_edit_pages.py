"""Changing data from the pages: attributes, rename, move, delete, history and
restoring a version, the trash, and the admin pages. A refusal shows the
store's message beside its field and leaves the database as it was."""

import re

from flexilims.store import EntityQuery
from flexilims.store.accounts import Accounts
from flexilims.store.writing import trash


def current(store, lab, role):
    (entity,) = store.get(lab["jane"], EntityQuery(id=lab[role]["id"]))
    return entity


def error_beside(page: str, field_id: str) -> str:
    """The message of the error element a field points to."""
    found = re.search(rf'id="{field_id}"[^>]*>([^<]*)<', page)
    assert found, f"no error {field_id}"
    return found.group(1)


def test_change_add_remove_attributes(browser, lab, wstore):
    jane = browser("jane")
    url = f"/entities/{lab['recording']['id']}"
    page = jane.get(url + "/edit").text
    assert 'for="attr-1-value"' in page and "two_photon" in page
    reply = jane.post(
        url + "/attributes",
        {"key": "recording_type", "value": "widefield", "kind": "text"},
    )
    assert reply.status_code == 303 and reply.headers["location"] == url + "/edit"
    assert "Changed recording_type." in jane.get(url + "/edit").text
    jane.post(url + "/attributes", {"key": "depth", "value": "150", "kind": "number"})
    jane.post(
        url + "/attributes", {"key": "channels", "value": "[1, 2]", "kind": "json"}
    )
    jane.post(url + "/attributes", {"key": "ok", "value": "true", "kind": "boolean"})
    attributes = current(wstore, lab, "recording")["attributes"]
    assert attributes == {
        "recording_type": "widefield",
        "depth": 150,
        "channels": [1, 2],
        "ok": True,
    }
    jane.post(url + "/attributes/remove", {"key": "depth"})
    assert current(wstore, lab, "recording")["attributes"]["depth"] is None
    jane.post(url + "/attributes", {"key": "note", "value": "", "kind": "text"})
    assert current(wstore, lab, "recording")["attributes"]["note"] == ""


def test_refused_values_are_shown_beside_the_field(browser, lab, wstore, snapshot):
    jane = browser("jane")
    url = f"/entities/{lab['recording']['id']}"
    jane.get(url + "/edit")
    before = snapshot(wstore)
    reply = jane.post(
        url + "/attributes",
        {
            "key": "recording_type",
            "value": "humpy",
            "kind": "text",
            "place": "attr:recording_type",
        },
    )
    assert reply.status_code == 400
    assert error_beside(reply.text, "attr-1-error").startswith(
        "Update failed. &#39;humpy&#39; is not a valid value for recording_type."
    )
    assert 'value="humpy"' in reply.text and 'aria-invalid="true"' in reply.text
    cases = [
        ({"key": "depth", "value": "deep", "kind": "number"}, "is not a number"),
        ({"key": "x", "value": "[1,", "kind": "json"}, "not valid JSON"),
        ({"key": "x", "value": "maybe", "kind": "boolean"}, "is not true or false"),
        ({"key": "", "value": "1", "kind": "text"}, "Name the attribute"),
        ({"key": "bad key!", "value": "1", "kind": "text"}, "not a valid attribute"),
        ({"key": "x", "value": "1", "kind": "nonsense"}, "Choose the kind"),
    ]
    for data, message in cases:
        reply = jane.post(url + "/attributes", {**data, "place": "new"})
        assert reply.status_code == 400, data
        assert message in error_beside(reply.text, "new-error"), data
    reply = jane.post(url + "/attributes/remove", {"key": "nonexistent"})
    assert reply.status_code == 400
    assert snapshot(wstore) == before


def test_rename_and_refused_names(browser, lab, wstore, snapshot):
    jane = browser("jane")
    url = f"/entities/{lab['sample']['id']}"
    jane.get(url)
    lab["save"]("sample", "cortex", {})
    before = snapshot(wstore)
    reply = jane.post(url + "/rename", {"name": "cortex"})
    assert reply.status_code == 400
    assert "Sample cortex already exist in the project test" in error_beside(
        reply.text, "rename-error"
    )
    assert jane.post(url + "/rename", {"name": "  "}).status_code == 400
    assert jane.post(url + "/rename", {"name": "brain"}).status_code == 400
    assert snapshot(wstore) == before
    assert jane.post(url + "/rename", {"name": "whole brain"}).status_code == 303
    assert current(wstore, lab, "sample")["name"] == "whole brain"


def test_move_by_name_or_id_and_refusals(browser, lab, wstore, snapshot):
    jane = browser("jane")
    url = f"/entities/{lab['dataset']['id']}"
    jane.get(url)
    other = lab["save"]("recording", "R102", {}, lab["session"]["id"])
    lab["save"]("sample", "R102", {})
    suggestions = jane.get(f"/projects/{lab['project'].id}/names?parent=R10").text
    assert '<option value="R101">recording' in suggestions
    before = snapshot(wstore)
    for parent, message in (
        ("R102", "Several entities are named R102 (recording, sample)"),
        ("R999", "No entity is named R999"),
        ("R101", "It is already there."),
        ("", "Name the new parent"),
    ):
        reply = jane.post(url + "/move", {"parent": parent})
        assert reply.status_code == 400 and message in reply.text, parent
    session = f"/entities/{lab['session']['id']}"
    reply = jane.post(session + "/move", {"parent": lab["recording"]["id"]})
    assert reply.status_code == 400
    assert "cannot move below" in error_beside(reply.text, "move-error")
    assert snapshot(wstore) == before
    assert jane.post(url + "/move", {"parent": other["id"]}).status_code == 303
    assert current(wstore, lab, "dataset")["origin_id"] == other["id"]
    assert jane.post(url + "/move", {"parent": "R101"}).status_code == 303
    assert current(wstore, lab, "dataset")["origin_id"] == lab["recording"]["id"]


def test_delete_says_what_goes_then_moves_it_to_the_trash(browser, lab, wstore):
    jane = browser("jane")
    url = f"/entities/{lab['session']['id']}"
    page = " ".join(jane.get(url + "/delete").text.split())
    assert "2 entities below it go too:" in page
    assert "1 dataset, 1 recording" in page
    reply = jane.post(url + "/delete")
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/entities/{lab['mouse']['id']}"
    assert (
        "and the 2 entities below it to the trash"
        in jane.get(reply.headers["location"]).text
    )
    assert wstore.get(lab["jane"], EntityQuery(id=lab["session"]["id"])) == []
    (batch,) = trash.batches(wstore)
    assert batch["count"] == 3
    assert jane.get(url).status_code == 404
    history = jane.get(url + "/history")
    assert history.status_code == 200 and "in the <a" in history.text


def test_history_shows_versions_with_differences_and_restores(
    browser, lab, wstore, snapshot
):
    jane = browser("jane")
    url = f"/entities/{lab['mouse']['id']}"
    jane.post(url + "/attributes", {"key": "sex", "value": "M", "kind": "text"})
    jane.post(url + "/attributes", {"key": "strain", "value": "C57", "kind": "text"})
    jane.post(url + "/rename", {"name": "PZAH6.4c"})
    versions = wstore.history(lab["jane"], entity_id=lab["mouse"]["id"])
    newest, first_change = versions[0]["version"], versions[-2]["version"]
    page = jane.get(url + "/history").text
    flat = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert f"Version {newest}: updated by Jane Doe" in flat
    assert "name changed PZAH6.4b PZAH6.4c" in flat
    assert "strain added C57" in flat
    assert "sex changed F M" in flat
    assert "<del>F</del>" in page and "<ins>M</ins>" in page
    assert f'name="version" value="{first_change}"' in page
    assert f'name="version" value="{newest}"' not in page  # the current one
    reply = jane.post(url + "/revert", {"version": str(first_change)})
    assert reply.status_code == 303
    restored = current(wstore, lab, "mouse")
    assert restored["name"] == "PZAH6.4b"
    assert restored["attributes"]["sex"] == "M"
    assert "strain" not in restored["attributes"]
    latest = wstore.history(lab["jane"], entity_id=lab["mouse"]["id"])[0]
    assert latest["action"] == "revert"
    assert f"Version {latest['version']}: reverted" in jane.get(url + "/history").text
    before = snapshot(wstore)
    assert jane.post(url + "/revert", {"version": "999999"}).status_code == 400
    assert jane.post(url + "/revert", {"version": "x"}).status_code == 400
    assert snapshot(wstore) == before
    project = " ".join(jane.get("/projects/test/history").text.split())
    assert "PZAH6.4" in project and f"version {latest['version']}" in project


def test_trash_page_restore_and_purge(browser, lab, wstore, snapshot):
    jane, ada, olga = browser("jane"), browser("ada"), browser("olga")
    wstore.delete(lab["jane"], lab["session"]["id"])
    wstore.delete(lab["jane"], lab["sample"]["id"])
    page = jane.get("/trash").text
    assert "session PZAH6.4b_S20210513" in page and "Restore</button>" not in page
    assert "session PZAH6.4b_S20210513" not in olga.get("/trash").text
    batches = trash.batches(wstore)
    sample_batch = next(b for b in batches if b["root"] == "sample brain")
    session_batch = next(b for b in batches if b["root"].startswith("session"))
    before = snapshot(wstore)
    reply = jane.post(f"/trash/{session_batch['batch']}/restore")
    assert reply.status_code == 403
    reply = ada.post(f"/trash/{sample_batch['batch']}/purge")
    assert reply.status_code == 400 and "Tick the box" in reply.text
    assert ada.post("/trash/nonexistent/restore").status_code == 400
    assert snapshot(wstore) == before
    page = ada.get("/trash").text
    assert "Restore</button>" in page
    reply = ada.post(f"/trash/{session_batch['batch']}/restore")
    assert reply.status_code == 303
    assert "Restored 3 entities." in ada.get("/trash").text
    assert current(wstore, lab, "session")["name"] == "PZAH6.4b_S20210513"
    reply = ada.post(f"/trash/{sample_batch['batch']}/purge", {"confirm": "on"})
    assert reply.status_code == 303
    assert trash.batches(wstore) == []


def test_admin_users_and_members(browser, people, wstore, snapshot):
    ada = browser("ada")
    page = ada.get("/admin/users").text
    assert "Jane Doe" in page and "Olga Other" in page
    reply = ada.post(
        "/admin/users",
        {"username": "nina", "full_name": "Nina <Neu>", "password": "nina-pw"},
    )
    assert reply.status_code == 303
    assert "Nina &lt;Neu&gt;" in ada.get("/admin/users").text
    before = snapshot(wstore)
    reply = ada.post(
        "/admin/users", {"username": "jane", "full_name": "x", "password": "p"}
    )
    assert reply.status_code == 400
    assert "User jane already exists." in error_beside(reply.text, "new-user-error")
    assert ada.post("/admin/users", {"username": "x"}).status_code == 400
    assert ada.post("/admin/users/ada/disable").status_code == 400
    assert ada.post("/admin/users/ghost/disable").status_code == 400
    assert ada.post("/admin/users/jane/password", {"password": ""}).status_code == 400
    assert ada.post("/admin/projects", {"name": "test"}).status_code == 400
    assert snapshot(wstore) == before
    reply = ada.post("/admin/users/jane/password", {"password": "new-secret"})
    assert reply.status_code == 303
    Accounts(wstore).authenticate("jane", "new-secret")
    assert ada.post("/admin/projects", {"name": "imaging"}).status_code == 303
    imaging = Accounts(wstore).project("imaging")
    reply = ada.post(f"/admin/projects/{imaging.id}/members", {"username": "nina"})
    assert reply.status_code == 303
    assert Accounts(wstore).actor("nina").project_ids == {imaging.id}
    page = ada.get("/admin/projects").text
    assert "Remove nina from imaging" in page
    ada.post(f"/admin/projects/{imaging.id}/members/remove", {"username": "nina"})
    assert Accounts(wstore).actor("nina").project_ids == frozenset()
    settings = ada.get("/admin/settings").text
    assert "recording_type" in settings and "two_photon, widefield" in settings
