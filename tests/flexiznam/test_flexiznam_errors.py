"""flexiznam.errors: its hierarchy, and the database's refusals turned into
flexiznam errors by their class, in words for people."""

import pytest
import yaml

from flexilims import errors as store_errors
from flexiznam.errors import (
    ConfigurationError,
    DatasetError,
    FlexilimsError,
    FlexiznamError,
    NameNotUniqueError,
    SyncYmlError,
    from_store,
    translated,
    type_not_defined_message,
)

NULL = store_errors.NULL_HINT


@pytest.fixture
def configured(tmp_path, monkeypatch):
    """A config naming the server and the user."""
    folder = tmp_path / "config"
    folder.mkdir()
    settings = {
        "flexilims_url": "https://lims.example.org/",
        "flexilims_username": "jane",
    }
    (folder / "config.yml").write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("FLEXIZNAM_CONFIG_DIR", str(folder))


@pytest.fixture
def broken_config(tmp_path, monkeypatch):
    """A config file that cannot be read."""
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "config.yml").write_text("data_root: [unclosed\n")
    monkeypatch.setenv("FLEXIZNAM_CONFIG_DIR", str(folder))


def test_every_error_is_a_flexiznam_error():
    for cls in (
        ConfigurationError,
        DatasetError,
        FlexilimsError,
        NameNotUniqueError,
        SyncYmlError,
    ):
        assert issubclass(cls, FlexiznamError)
    # Lab code catching IOError around reads keeps working.
    assert issubclass(FlexilimsError, OSError)
    assert not issubclass(ConfigurationError, OSError)


def test_a_taken_name_is_not_unique_and_names_type_and_project():
    taken = store_errors.NameTaken(
        "Save failed. Check sample name." + NULL,
        datatype="session",
        name="M1_S1",
        project="demo",
    )
    error = from_store(taken)
    assert type(error) is NameNotUniqueError
    assert str(error) == "A session named M1_S1 already exists in project demo."


def test_a_taken_name_without_a_type_uses_the_one_asked_for():
    taken = store_errors.NameTaken("x", datatype=None, name="M1", project="demo")
    assert str(from_store(taken, "mouse")) == (
        "A mouse named M1 already exists in project demo."
    )
    assert str(from_store(taken)).startswith("An entity named M1 already exists")
    assert str(from_store(taken, "imaging")).startswith("An imaging named M1")


def test_an_undefined_type_names_the_closest_and_all_defined_types():
    refused = store_errors.TypeNotDefined(
        "type mosue is not defined", datatype="mosue", defined=["mouse", "session"]
    )
    error = from_store(refused)
    assert type(error) is FlexilimsError
    assert str(error) == (
        "Type 'mosue' is not defined in the lab settings (did you mean mouse?). "
        "Defined types: mouse, session. `flexiznam settings show` lists their "
        "attributes."
    )


def test_type_not_defined_message_without_a_type_or_a_close_one():
    assert type_not_defined_message(None, ["mouse"]) == (
        "Give a datatype: the lab settings define mouse."
    )
    assert type_not_defined_message("", []) == (
        "Give a datatype: the lab settings define none."
    )
    message = type_not_defined_message("zebrafish", ["mouse", "session"])
    assert "did you mean" not in message and "Defined types: mouse, session" in message


def test_a_refused_operation_of_a_batch_is_its_cause():
    cause = store_errors.NameTaken("x", datatype="mouse", name="M1", project="demo")
    failed = store_errors.OperationFailed.at(2, cause, "create mouse M1")
    error = from_store(failed)
    assert type(error) is NameNotUniqueError and "mouse named M1" in str(error)


def test_an_unknown_project_is_a_configuration_error():
    refused = store_errors.ProjectNotFound("No project named 'p'.", project="p")
    error = from_store(refused)
    assert type(error) is ConfigurationError and str(error) == "No project named 'p'."


def test_a_refused_password_names_server_user_and_the_command(configured):
    error = from_store(store_errors.AuthenticationFailed("Wrong username"))
    assert type(error) is ConfigurationError
    assert str(error) == (
        "The server https://lims.example.org/ refused the password of jane. If it "
        "changed, store the new one with `flexiznam add-password`."
    )


def test_an_unreachable_server_names_its_url_and_offline_mode(configured):
    error = from_store(store_errors.ServerUnreachable("connection refused"))
    assert type(error) is FlexilimsError
    assert "https://lims.example.org/" in str(error)
    assert "offline_mode: true" in str(error)


def test_messages_need_no_readable_config(broken_config):
    error = from_store(store_errors.AuthenticationFailed("Wrong username"))
    assert str(error).startswith(
        "The server the flexilims server refused the password of your user."
    )


@pytest.mark.parametrize(
    "retry_after, wait", [(7, "wait 7 s before"), (None, "wait a while before")]
)
def test_too_many_attempts_say_how_long_to_wait(retry_after, wait):
    error = from_store(store_errors.TooManyRequests("slow", retry_after=retry_after))
    assert type(error) is FlexilimsError and wait in str(error)


def test_other_refusals_keep_their_detail_without_the_null_trailer():
    unavailable = from_store(store_errors.Unavailable("database is down"))
    assert "database cannot be reached now (database is down)" in str(unavailable)
    missing = from_store(store_errors.NotFound("no such endpoint"))
    assert "(no such endpoint)" in str(missing) and "Flexilims server" in str(missing)
    bad = from_store(store_errors.BadRequest("Save failed. 'x' is odd." + NULL))
    assert type(bad) is FlexilimsError and str(bad) == "Save failed. 'x' is odd."
    forbidden = from_store(store_errors.Forbidden("no access to project p"))
    assert type(forbidden) is FlexilimsError
    assert str(forbidden) == "no access to project p"


def test_translated_raises_flexiznam_errors_with_the_refusal_as_cause():
    refused = store_errors.NameTaken("x", datatype=None, name="M1", project="p")
    with pytest.raises(NameNotUniqueError, match="A recording named M1") as caught:
        with translated("recording"):
            raise refused
    assert caught.value.__cause__ is refused


def test_translated_is_also_a_decorator_and_lets_other_errors_through():
    @translated()
    def refuse():
        raise store_errors.BadRequest("nope")

    @translated()
    def fail():
        raise KeyError("not a refusal")

    with pytest.raises(FlexilimsError, match="nope"):
        refuse()
    with pytest.raises(KeyError):
        fail()
