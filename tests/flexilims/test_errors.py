"""flexilims.errors: the hierarchy, statuses and codes, messages for people,
and the round trip of every error through its details (what the server's
``X-Flexilims-Error`` header carries) and through pickle. (Errors raised by a
real server and rebuilt by the HTTP client are tested in test_client.py.)"""

import pickle

import pytest

from flexilims import errors as e

#: One instance of every class, with fields that are not the defaults.
EXAMPLES = [
    e.FlexilimsError("something broke"),
    e.BadRequest(
        "Save failed. 'x' is not defined." + e.NULL_HINT, field="attributes.x"
    ),
    e.NameTaken("Save failed. taken", datatype="mouse", name="M1", project="p"),
    e.TypeNotDefined("type rat is not defined", datatype="rat", defined=["mouse"]),
    e.ProjectNotFound("no project p", project="p"),
    e.OperationFailed.at(
        3,
        e.NameTaken("Save failed. taken", datatype="mouse", name="M1", project="p"),
        "create mouse M1",
    ),
    e.IdempotencyKeyReused("key reused"),
    e.AuthenticationFailed("Wrong username or password"),
    e.Forbidden("no access"),
    e.NotFound("no page"),
    e.PayloadTooLarge("too large"),
    e.TooManyRequests("wait", retry_after=7),
    e.Unavailable("database down", retry_after=2.5),
    e.ServerUnreachable("no server"),
]


def same(first: e.FlexilimsError, second: e.FlexilimsError) -> None:
    assert type(second) is type(first)
    assert (second.status, second.code, second.message) == (
        first.status,
        first.code,
        first.message,
    )
    assert (second.detail, second.reason, second.field) == (
        first.detail,
        first.reason,
        first.field,
    )
    assert second.details() == first.details()
    assert str(second) == str(first)


def test_every_error_is_an_oserror_with_the_protocols_words():
    for error in EXAMPLES:
        assert isinstance(error, e.FlexilimsError) and isinstance(error, OSError)
        assert str(error) == f"Error {error.status}:  {error.message}"


def test_statuses_and_codes():
    statuses = {type(error).__name__: error.status for error in EXAMPLES}
    assert statuses == {
        "FlexilimsError": 500,
        "BadRequest": 400,
        "NameTaken": 400,
        "TypeNotDefined": 400,
        "ProjectNotFound": 400,
        "OperationFailed": 400,
        "IdempotencyKeyReused": 422,
        "AuthenticationFailed": 401,
        "Forbidden": 403,
        "NotFound": 404,
        "PayloadTooLarge": 413,
        "TooManyRequests": 429,
        "Unavailable": 503,
        "ServerUnreachable": 503,
    }
    codes = [cls.code for cls in e.ERRORS_BY_CODE.values()]
    assert len(set(codes)) == len(codes) == len(EXAMPLES) - 1
    assert all(e.ERRORS_BY_CODE[cls.code] is cls for cls in map(type, EXAMPLES[1:]))


def test_subclasses_are_caught_as_their_kind():
    assert issubclass(e.NameTaken, e.BadRequest)
    assert issubclass(e.OperationFailed, e.BadRequest)
    assert issubclass(e.ServerUnreachable, e.Unavailable)
    assert not issubclass(e.Forbidden, e.BadRequest)


def test_detail_and_reason_leave_out_the_null_trailer():
    error = e.BadRequest("Save failed. 'x' is not defined." + e.NULL_HINT)
    assert error.message.endswith(e.NULL_HINT)
    assert error.detail == error.reason == "Save failed. 'x' is not defined."
    assert "detail" not in error.details()  # the message says it all


def test_type_not_defined_names_the_defined_types():
    error = e.TypeNotDefined("type rat is not defined", datatype="rat", defined=None)
    assert error.defined == [] and error.field == "type"
    assert (
        error.detail == "Type 'rat' is not defined in the lab settings (defined: none)."
    )
    for missing in (None, ""):
        error = e.TypeNotDefined("x", datatype=missing, defined=("mouse", "session"))
        assert error.detail == "A datatype is needed (defined: mouse, session)."


def test_operation_failed_is_its_cause_at_an_index():
    cause = e.Forbidden("user jane is not a member of project p")
    error = e.OperationFailed.at(4, cause)
    assert error.message == (
        "Batch failed at operation 4: user jane is not a member of project p"
    )
    assert (error.index, error.cause, error.status) == (4, cause, 403)
    assert error.detail == cause.detail
    named = e.OperationFailed.at(0, cause, "update mouse 0123")
    assert named.message.startswith("Batch failed at operation 0 (update mouse 0123): ")


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda error: type(error).__name__)
def test_details_rebuild_the_same_error(error):
    details = error.details()
    assert next(iter(details)) == "code" and details["code"] == error.code
    same(error, e.error_from_details(error.status, error.message, details))


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda error: type(error).__name__)
def test_pickle_keeps_the_class_and_its_fields(error):
    same(error, pickle.loads(pickle.dumps(error)))


def test_fields_travel_with_their_class():
    retry = e.error_from_details(
        429, "wait", e.TooManyRequests("w", retry_after=7).details()
    )
    assert retry.retry_after == 7
    taken = e.error_from_details(400, "t", EXAMPLES[2].details())
    assert (taken.datatype, taken.name, taken.project) == ("mouse", "M1", "p")
    failed = e.error_from_details(400, EXAMPLES[5].message, EXAMPLES[5].details())
    assert failed.index == 3 and isinstance(failed.cause, e.NameTaken)
    assert failed.cause.name == "M1" and failed.cause.message == "Save failed. taken"


def test_a_richer_detail_and_the_field_travel_too():
    error = e.BadRequest("Save failed.", field="name")
    error.detail = error.reason = "Save failed: names have at most 500 characters."
    assert error.details() == {
        "code": "bad_request",
        "field": "name",
        "detail": "Save failed: names have at most 500 characters.",
    }
    same(error, e.error_from_details(400, "Save failed.", error.details()))


def test_the_cause_of_an_operation_named_with_a_colon_is_rebuilt_whole():
    cause = e.BadRequest("Save failed. 'x' is not defined.", field="attributes.x")
    error = e.OperationFailed.at(1, cause, "create mouse a): b: c")
    rebuilt = e.error_from_details(400, error.message, error.details())
    assert rebuilt.cause.message == cause.message
    assert rebuilt.cause.detail == cause.detail
    assert pickle.loads(pickle.dumps(error)).cause.message == cause.message


def test_replies_without_a_code_follow_their_status():
    for status, cls in [
        (400, e.BadRequest),
        (401, e.AuthenticationFailed),
        (403, e.Forbidden),
        (404, e.NotFound),
        (413, e.PayloadTooLarge),
        (429, e.TooManyRequests),
        (503, e.Unavailable),
    ]:
        error = e.error_from_details(status, "m", {})
        assert type(error) is cls and error.status == status
    assert e.error_from_details(429, "m", {}).retry_after is None


def test_other_statuses_keep_their_number_even_through_pickle():
    error = e.error_for_status(502, "Bad Gateway")
    assert type(error) is e.FlexilimsError
    assert error.status == 502 and str(error) == "Error 502:  Bad Gateway"
    again = pickle.loads(pickle.dumps(error))
    assert again.status == 502 and str(again) == "Error 502:  Bad Gateway"


@pytest.mark.parametrize(
    "details, cls",
    [
        ({"code": "no_such_code"}, e.BadRequest),
        ({"code": None}, e.BadRequest),
        ({"code": "type_not_defined", "defined": "mouse"}, e.TypeNotDefined),
        ({"code": "type_not_defined", "defined": ["mouse", 3]}, e.TypeNotDefined),
        ({"code": "bad_request", "detail": 5, "field": ["x"]}, e.BadRequest),
    ],
)
def test_malformed_details_still_give_an_error_of_the_status(details, cls):
    error = e.error_from_details(400, "the message", details)
    assert type(error) is cls and error.status == 400
    assert error.message == "the message"
    if cls is e.TypeNotDefined:
        assert error.defined in ([], ["mouse"])
    else:
        assert error.detail == "the message" and error.field is None
