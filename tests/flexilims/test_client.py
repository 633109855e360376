"""The HTTP client against a real ``flexilims serve`` process on 127.0.0.1, and
side by side with the in-process session: same replies, same errors."""

import http.server
import socket
import threading
import time

import pytest
import requests

import flexilims
from flexilims import (
    AuthenticationFailed,
    BadRequest,
    Flexilims,
    Forbidden,
    LocalSession,
    NameTaken,
    ServerUnreachable,
    TypeNotDefined,
)
from flexilims.client import BadBaseUrl, error_from_reply
from flexilims.store.accounts import Accounts

HINT = " If you have 'null' values please substitute (null) with empty string ('') "
MISSING = "0123456789abcdef01234567"
FIELD_LIST = (
    "[type, name, origin_id, custom_entity_id, project_id, attributes, "
    "custom_entities, detach_custom_entities, id, date_created, created_by, "
    "date_created_operator, query_key, query_value, strict_validation, allow_nulls, "
    "external_resource, query_value_data_type, offset, limit, cross_project_entity]"
)


@pytest.fixture
def jane(project, make_user):
    return make_user("jane", projects=["test"])


@pytest.fixture
def client(server, jane, project):
    """Jane's HTTP session on the server."""
    return Flexilims(jane.username, jane.password, project.id, base_url=server)


def count_tokens(store) -> int:
    with store.read() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM tokens").scalar()


# --------------------------------------------------- the same as in-process


@pytest.fixture(params=["local", "http"])
def session(request, store, project, jane):
    """Jane's session, in-process or over HTTP: the tests expect the same."""
    if request.param == "local":
        return LocalSession(store, project_id=project.id, username=jane.username)
    server = request.getfixturevalue("server")
    return Flexilims(jane.username, jane.password, project.id, base_url=server)


def _without_project(session):
    session.project_id = None
    return session.get("dataset")


BAD_REQUESTS = [
    (
        lambda s, t: s.get("InvalidType"),
        TypeNotDefined,
        "type InvalidType is not defined",
    ),
    (
        lambda s, t: s.get("mouse", project_id="xyz"),
        BadRequest,
        "project_id not valid, please provide a valid hexadecimal value",
    ),
    (
        lambda s, t: s.get("mouse", id="xyz"),
        BadRequest,
        "please provide a valid hexadecimal value for id",
    ),
    (
        lambda s, t: _without_project(s),
        BadRequest,
        "you need to provide project_id to query for [dataset]",
    ),
    (
        lambda s, t: s.get("mouse", date_created_operator="eq"),
        BadRequest,
        "date_created_operator must be one of gt, lt, not 'eq'",
    ),
    (
        lambda s, t: s.get("mouse", limit="ten"),
        BadRequest,
        "limit must be a whole number, not 'ten'",
    ),
    (
        lambda s, t: s.get_children("xyz"),
        BadRequest,
        "id not valid, please provide a hexadecimal value",
    ),
    (
        lambda s, t: s.get_descendants("xyz"),
        BadRequest,
        "id not valid, please provide a hexadecimal value",
    ),
    (
        lambda s, t: s.post("InvalidType", "m", {}),
        TypeNotDefined,
        "type provided is not defined",
    ),
    (
        lambda s, t: s.post("mouse", "m", {}, project_id="xyz"),
        BadRequest,
        "please provide a valid hexadecimal value for project_id",
    ),
    (
        lambda s, t: s.post("mouse", "m", {"rec": 1}),
        BadRequest,
        "Save failed. 'rec' is not defined in lab settings." + HINT,
    ),
    (
        lambda s, t: s.post("recording", "r", {"recording_type": "humpy"}),
        BadRequest,
        "Save failed. 'humpy' is not a valid value for recording_type." + HINT,
    ),
    (
        lambda s, t: s.post("dataset", "d", {"dataset_type": "x"}),
        BadRequest,
        "Save failed. 'path' is a necessary attribute for dataset." + HINT,
    ),
    (
        lambda s, t: s.post("mouse", "o'mouse", {}),
        NameTaken,
        "Save failed. Check sample name. Sample o'mouse already exist in the project "
        "test." + HINT,
    ),
    (
        lambda s, t: s.post("sample", "s", {}, origin_id=MISSING),
        BadRequest,
        "origin not found",
    ),
    (
        lambda s, t: s.post("sample", "s", {}, other_relations="bad"),
        BadRequest,
        f"other_relations is not valid. Valid fields are {FIELD_LIST}",
    ),
    (
        lambda s, t: s.post("mouse", "m", {"x": float("nan")}, strict_validation=False),
        BadRequest,
        "Save failed. 'nan' is not a valid value for x." + HINT,
    ),
    (
        lambda s, t: s.update_one("xyz", "mouse"),
        BadRequest,
        "please provide a valid hexadecimal value for id",
    ),
    (
        lambda s, t: s.update_one(t["id"], "mouse", origin_id="xyz"),
        BadRequest,
        "please provide a valid hexadecimal value for origin_id",
    ),
    (
        lambda s, t: s.update_one(t["id"], "mouse", attributes={"zz": 1}),
        BadRequest,
        "Update failed. 'zz' is not defined in lab settings." + HINT,
    ),
    (
        lambda s, t: s.update_one(t["id"], "mouse", name="other mouse"),
        NameTaken,
        "Update failed. Check sample name. Sample other mouse already exist in the "
        "project test." + HINT,
    ),
    (
        lambda s, t: s.update_many("InvalidType", "path", "x"),
        TypeNotDefined,
        "type InvalidType is not defined",
    ),
    (
        lambda s, t: s.delete(MISSING),
        BadRequest,
        f"Delete failed. No entity with id {MISSING}.",
    ),
    (
        lambda s, t: s.delete("xyz"),
        BadRequest,
        "please provide a valid hexadecimal value for id",
    ),
    (
        lambda s, t: s.get("mouse", project_id=t["elsewhere"]),
        Forbidden,
        None,
    ),
    (
        lambda s, t: s.post("mouse", "m", {}, project_id=t["elsewhere"]),
        Forbidden,
        "user jane is not a member of project elsewhere",
    ),
    (
        lambda s, t: s.delete(t["theirs"]),
        Forbidden,
        None,
    ),
]


def test_bad_requests_raise_the_same_errors_in_process_and_over_http(
    session, store, project
):
    accounts = Accounts(store)
    elsewhere = accounts.create_project("elsewhere")
    theirs = LocalSession(store, project_id=elsewhere.id).post("mouse", "theirs", {})
    target = session.post("mouse", "o'mouse", {})
    session.post("mouse", "other mouse", {})
    targets = {"id": target["id"], "elsewhere": elsewhere.id, "theirs": theirs["id"]}
    for index, (request, error_class, message) in enumerate(BAD_REQUESTS):
        session.project_id = project.id
        with pytest.raises(flexilims.FlexilimsError) as raised:
            request(session, targets)
        error = raised.value
        assert type(error) is error_class, (index, error)
        assert isinstance(error, OSError)
        if isinstance(error, NameTaken):
            assert (error.datatype, error.project) == ("mouse", "test"), index
            assert error.field == "name", index
        if isinstance(error, TypeNotDefined):
            assert error.datatype == "InvalidType", index
            assert error.defined[:2] == ["mouse", "session"], index
            assert error.detail.startswith(
                "Type 'InvalidType' is not defined in the lab settings (defined: "
                "mouse, session, recording"
            ), index
            assert error.field == "type", index
        if message is not None:
            assert error.message == message, index
            assert str(error) == f"Error {error.status}:  {message}"
        else:
            assert error.message.startswith("user jane "), (index, error.message)


def test_replies_are_the_same_in_process_and_over_http(server, store, project, jane):
    local = LocalSession(store, project_id=project.id, username=jane.username)
    http = Flexilims(jane.username, jane.password, project.id, base_url=server)
    replies = {}
    for kind, session in (("local", local), ("http", http)):
        mouse = session.post("mouse", f"{kind}-mouse", {"Sex": "F", "genealogy": []})
        recording = session.post(
            "session", f"{kind}-session", {"date": "x"}, origin_id=mouse["id"]
        )
        dataset = session.post(
            "dataset",
            f"{kind}-ds",
            {"path": "p", "is_raw": "yes"},
            origin_id=recording["id"],
            other_relations=[mouse["id"]],
        )
        updated = session.update_one(
            dataset["id"], "dataset", attributes={"path": "", "is_raw": None}
        )
        many = session.update_many("session", "path", f"{kind}/path")
        replies[kind] = [mouse, recording, dataset, updated, many]
    for local_reply, http_reply in zip(*replies.values(), strict=True):
        if isinstance(local_reply, str):
            assert isinstance(http_reply, str)
            continue
        assert set(local_reply) == set(http_reply)
        assert local_reply["attributes"] == http_reply["attributes"]
        assert local_reply["createdBy"] == http_reply["createdBy"] == jane.full_name
        assert (local_reply["origin_id"] is None) == (http_reply["origin_id"] is None)
    assert replies["http"][4] == (
        "updated successfully 2 items of type session with path=http/path"
    )
    # Reads of the same data give the same replies, whichever session asks.
    mouse_id = replies["http"][0]["id"]
    for read in (
        lambda s: s.get("mouse"),
        lambda s: s.get(name="http-ds"),
        lambda s: s.get("mouse", query_key="sex", query_value="F"),
        lambda s: s.get_children(mouse_id),
        lambda s: s.get_descendants(mouse_id),
        lambda s: s.get_descendants(mouse_id, ["dataset"]),
        lambda s: s.get_project_info(),
        lambda s: s.lab_settings(),
    ):
        assert read(local) == read(http)
    assert local.lab_settings() == store.lab_settings()
    deleted = http.delete(mouse_id), local.delete(replies["local"][0]["id"])
    assert deleted == ("deleted successfully null",) * 2


# --------------------------------------------------------------- the client


def test_base_url_must_end_with_api(jane):
    with pytest.raises(AssertionError, match="api/"):
        Flexilims("jane", "pw", base_url="http://127.0.0.1:1/flexilims/")
    with pytest.raises(ValueError):
        Flexilims("jane", "pw", base_url="http://127.0.0.1:1/flexilims/api")
    assert issubclass(BadBaseUrl, AssertionError)
    assert flexilims.Flexilims is Flexilims


def test_the_client_logs_in_and_reuses_a_token(server, store, jane, project):
    first = Flexilims(jane.username, jane.password, project.id, base_url=server)
    assert first.session.headers["Authorization"] == f"Bearer {first.token}"
    assert count_tokens(store) == 1
    second = Flexilims(jane.username, token=first.token, base_url=server)
    assert count_tokens(store) == 1
    assert second.get_project_info() == [
        {
            "id": project.id,
            "uuid": project.id,
            "name": "test",
            "dateCreated": project.date_created,
        }
    ]
    assert second.project_id is None and second.username == "jane"
    assert "jane-secret" not in repr(first)


def test_wrong_password(server, jane):
    with pytest.raises(AuthenticationFailed) as raised:
        Flexilims(jane.username, "wrong", base_url=server)
    assert raised.value.message == "Wrong username or password"
    assert str(raised.value) == "Error 401:  Wrong username or password"
    with pytest.raises(Forbidden, match="give a password or a valid token"):
        Flexilims(jane.username, base_url=server)


def test_the_client_renews_a_refused_token_once(start_server, store, jane, project):
    # Tokens are revoked here, in another process than the server's: with its
    # token cache off, the server sees each revocation at once.
    server = start_server(env={"FLEXILIMS_TOKEN_CACHE_SECONDS": "0"})
    client = Flexilims(jane.username, jane.password, project.id, base_url=server)
    old = client.token
    Accounts(store).revoke_tokens("jane")
    assert client.get("mouse") == []
    assert client.token != old and count_tokens(store) == 2
    # A refusal that a new token does not cure is raised after one renewal.
    elsewhere = Accounts(store).create_project("elsewhere")
    with pytest.raises(Forbidden, match="user jane"):
        client.get("mouse", project_id=elsewhere.id)
    assert count_tokens(store) == 3
    # Without a password the refusal is raised as it comes.
    fixed = Flexilims(jane.username, token=client.token, base_url=client.base_url)
    Accounts(store).revoke_tokens("jane")
    with pytest.raises(Forbidden, match="token not valid or expired"):
        fixed.get("mouse", project_id=client.project_id)
    # A changed password: the renewal itself fails.
    Accounts(store).set_password("jane", "new")
    with pytest.raises(AuthenticationFailed):
        client.get("mouse")


def test_the_client_renews_an_expired_token(start_server, store, jane, project):
    url = start_server("--token-lifetime", str(0.5 / 3600))
    client = Flexilims(jane.username, jane.password, project.id, base_url=url)
    first = client.token
    assert client.get("mouse") == []
    time.sleep(0.6)
    assert client.get("mouse") == []
    assert client.token != first and count_tokens(store) == 2


def test_the_client_can_revoke_its_token(client):
    assert client.revoke_token() == "token revoked"
    assert client.get("mouse") == []  # renewed with the password


def test_replies_are_decoded(client, project):
    mouse = client.post("mouse", "m", {"sex": "F"})
    assert isinstance(mouse, dict) and mouse["name"] == "m"
    assert client.get("mouse", name="m")[0]["id"] == mouse["id"]
    assert client.update_many("mouse", "sex", "M") == (
        "updated successfully 1 items of type mouse with sex=M"
    )
    assert client.delete(mouse["id"]) == "deleted successfully null"
    assert client.get("mouse") == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_is_named():
    url = f"http://127.0.0.1:{_closed_port()}/flexilims/api/"
    with pytest.raises(ServerUnreachable) as raised:
        Flexilims("jane", "pw", base_url=url)
    assert f"{url}authenticate" in raised.value.message
    client = Flexilims("jane", token="t", base_url=url)
    with pytest.raises(ServerUnreachable, match=f"{url}get"):
        client.get("mouse")


def test_a_silent_server_times_out():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/flexilims/api/"
        client = Flexilims("jane", token="t", base_url=url, timeout=0.3)
        with pytest.raises(ServerUnreachable, match=r"no reply .* within 0.3 s"):
            client.get("mouse")


def drop_first_connection_server(replies: list):
    """A server on loopback that resets its first connection after reading the
    request, then answers ``[]``; ``replies`` collects each request line."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        for number in range(2):
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                replies.append(connection.recv(65536).split(b"\r\n")[0])
                if number == 0:
                    connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0"
                    )
                    continue
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2\r\nConnection: close\r\n\r\n[]"
                )

    threading.Thread(target=serve, daemon=True).start()
    return listener


def test_a_read_whose_connection_drops_is_sent_once_more():
    requests_seen = []
    listener = drop_first_connection_server(requests_seen)
    with listener:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/flexilims/api/"
        client = Flexilims("jane", token="t", base_url=url, timeout=5)
        assert client.get("mouse") == []
    assert [line.split()[0] for line in requests_seen] == [b"GET", b"GET"]


def test_a_write_whose_connection_drops_is_not_resent():
    requests_seen = []
    listener = drop_first_connection_server(requests_seen)
    with listener:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/flexilims/api/"
        client = Flexilims("jane", token="t", base_url=url, timeout=5)
        client.project_id = "0" * 24
        with pytest.raises(ServerUnreachable, match="cannot reach"):
            client.post("mouse", "M1", {})
    assert [line.split()[0] for line in requests_seen] == [b"POST"]


def test_error_pages_from_elsewhere_keep_their_status(flexilims_stub):
    error = error_from_reply(requests.get(flexilims_stub + "proxy"))
    assert error.status == 502 and error.message == "Bad Gateway: <html>nginx</html>"
    assert str(error) == "Error 502:  Bad Gateway: <html>nginx</html>"
    error = error_from_reply(requests.get(flexilims_stub + "page"))
    assert type(error) is BadRequest and error.message == "a & b 'c'\nd"


@pytest.mark.slow
def test_several_workers_share_the_tokens(start_server, store, jane, project):
    url = start_server("--workers", "2")
    client = Flexilims(jane.username, jane.password, project.id, base_url=url)
    errors = []

    def work(index):
        try:
            worker = Flexilims(jane.username, token=client.token, base_url=url)
            worker.project_id = project.id
            for n in range(5):
                worker.post("mouse", f"m{index}-{n}", {})
                worker.get("mouse", name=f"m{index}-{n}")
        except Exception as error:  # noqa: BLE001 - collected for the assert
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(client.get("mouse")) == 20
    assert count_tokens(store) == 1


class _Flexilims(http.server.BaseHTTPRequestHandler):
    """A Flexilims server's odd replies, as seen in the wild, and a proxy's."""

    replies = {
        "get": (200, "application/json", b'{"id": "a", "type": "mouse", "name": "M"}'),
        "get-children": (500, "application/json", b""),
        "proxy": (502, "text/html", b"<html>nginx</html>"),
        "page": (
            400,
            "text/html",
            b"<html><p><b>Message</b> a &amp; b &#39;c&#39;&#10;d</p>"
            b"<p><b>Description</b> x</p></html>",
        ),
    }

    def do_GET(self):  # noqa: N802 (the handler's name)
        name = self.path.split("?")[0].removeprefix("/flexilims/api/")
        status, kind, body = self.replies[name]
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def flexilims_stub():
    """The base URL of a server that answers as :class:`_Flexilims` says."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flexilims)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/flexilims/api/"
    server.shutdown()
    server.server_close()


def test_the_client_tolerates_what_flexilims_servers_send(flexilims_stub):
    client = Flexilims("jane", token="t", base_url=flexilims_stub)
    assert client.get("mouse") == [{"id": "a", "type": "mouse", "name": "M"}]
    with pytest.warns(UserWarning, match="empty body"):
        assert client.get_children(MISSING) == []


def test_what_flexilims_clients_rely_on_is_the_same_both_ways(session, store):
    """update-one echoes attributes as sent, a delete of what is in the trash
    succeeds, a project-scoped type needs a project even with a name, and a
    taken name raises NameTaken with its fields, in-process and over HTTP."""
    mouse = session.post("mouse", "M1", {}, strict_validation=False)
    reply = session.update_one(
        mouse["id"], "mouse", attributes={"tags": []}, strict_validation=False
    )
    assert reply["attributes"] == {"tags": []}
    assert session.get("mouse", id=mouse["id"])[0]["attributes"] == {"tags": None}
    day = session.post("session", "M1_S1", {}, origin_id=mouse["id"])
    assert session.delete(mouse["id"]) == "deleted successfully null"
    assert session.delete(day["id"]) == "deleted successfully null"
    session.project_id = None
    with pytest.raises(BadRequest, match=r"provide project_id to query for \[mouse\]"):
        session.get("mouse", name="M1")
    with pytest.raises(NameTaken) as taken:
        session.post("mouse", "M2", {}, project_id=mouse["project"])
        session.post("mouse", "M2", {}, project_id=mouse["project"])
    assert (taken.value.datatype, taken.value.name, taken.value.project) == (
        "mouse",
        "M2",
        "test",
    )
    versions = session.history(id=mouse["id"])
    assert [v["action"] for v in versions] == ["delete", "update", "create"]
