"""upload to a server without the batch endpoint (Flexilims): one request per
entity, and what was created is deleted again when a request is refused."""

import pytest
from camp_setup import MOUSE, PROJECT, SESSION

from flexilims import LocalSession
from flexilims.errors import NotFound
from flexiznam.camp import upload
from flexiznam.errors import SyncYmlError

DAY = f"{MOUSE}_{SESSION}"


class FlexilimsLike(LocalSession):
    """A session on a server that has only the Flexilims endpoints."""

    requests: list

    def request(self, method, operation, params, body=None, headers=None):
        self.requests.append(operation)
        if operation in ("batch", "get-descendants"):
            raise NotFound(f"no endpoint {operation}")
        return super().request(method, operation, params, body, headers)


@pytest.fixture
def session(store, project, config_dir):
    session = FlexilimsLike(store, project_id=project.id, username="tester")
    session.requests = []
    return session


@pytest.fixture
def origin(session):
    attributes = {"genealogy": [MOUSE], "path": f"{PROJECT}/{MOUSE}"}
    mouse = session.post("mouse", MOUSE, attributes, strict_validation=False)
    session.requests.clear()
    return mouse


def send(data, session, **kwargs):
    return upload(data, flexilims_session=session, progress=False, **kwargs)


def entity_ids(session) -> set:
    types = ("mouse", "session", "recording", "dataset")
    return {entity["id"] for kind in types for entity in session.get(kind)}


def test_upload_one_request_per_entity(acquisition, session, origin):
    report = send(acquisition, session)
    assert report.counts() == {"created": 12, "updated": 0, "skipped": 0}
    assert session.requests.count("save") == 12
    assert "batch" in session.requests
    day = session.get("session", name=DAY)[0]
    assert day["origin_id"] == origin["id"]
    recording = session.get("recording", name=f"{DAY}_R191500")[0]
    assert recording["origin_id"] == day["id"]
    camera = session.get("dataset", name=f"{DAY}_R191500_eye_camera")[0]
    assert camera["origin_id"] == recording["id"]
    genealogy = [MOUSE, SESSION, "R191500", "eye_camera"]
    assert camera["attributes"]["genealogy"] == genealogy


def test_reupload_in_each_mode(acquisition, session, origin):
    send(acquisition, session)
    with pytest.raises(SyncYmlError, match="exists already"):
        send(acquisition, session)
    assert send(acquisition, session, conflicts="skip").counts()["skipped"] == 12
    day = session.get("session", name=DAY)[0]
    notes = {"notes": "x"}
    session.update_one(day["id"], "session", attributes=notes, strict_validation=0)
    acquisition["children"][SESSION]["attributes"]["weight"] = 20
    assert send(acquisition, session, conflicts="update").counts()["updated"] == 12
    updated = session.get("session", name=DAY)[0]["attributes"]
    assert (updated["notes"], updated["weight"]) == ("x", 20)
    send(acquisition, session, conflicts="overwrite")
    overwritten = session.get("session", name=DAY)[0]["attributes"]
    assert (overwritten["notes"], overwritten["weight"]) == (None, 20)


def test_a_refusal_deletes_what_was_created(acquisition, session, origin):
    other = session.post("mouse", "other", {}, strict_validation=False)
    last = f"{DAY}_slide1"
    session.post(
        "dataset",
        last,
        {"path": "x", "is_raw": "yes"},
        origin_id=other["id"],
        strict_validation=False,
    )
    before = entity_ids(session)
    with pytest.raises(SyncYmlError) as error:
        send(acquisition, session)
    message = str(error.value)
    assert (
        f"{SESSION} > slide1: A dataset named {last} already exists in project test."
    ) in message
    assert "the 11 entities created before were deleted" in message
    assert entity_ids(session) == before


def test_names_taken_elsewhere_with_skip(acquisition, session, origin):
    other = session.post("mouse", "other", {}, strict_validation=False)
    taken = session.post(
        "dataset",
        f"{DAY}_slide1",
        {"path": "x", "is_raw": "yes"},
        origin_id=other["id"],
        strict_validation=False,
    )
    report = send(acquisition, session, conflicts="skip")
    assert report.counts() == {"created": 11, "updated": 0, "skipped": 1}
    assert report.skipped == [("dataset", f"{DAY}_slide1", taken["id"])]
