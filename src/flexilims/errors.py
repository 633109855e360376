"""The one error hierarchy of flexilims.

The store raises these; the in-process session lets them through unchanged; the
server turns them into the protocol's status codes and HTML error body; the HTTP
client turns error replies back into the same classes. They subclass ``OSError``
and read ``Error 400:  message`` because that is what existing Flexilims clients
raise and what code above them (flexiznam included) inspects.
"""


class FlexilimsError(OSError):
    """A request the store or server would not carry out.

    Parameters
    ----------
    message : str
        What went wrong and, where possible, what to do about it.
    """

    status = 500

    def __init__(self, message: str):
        self.message = message
        super().__init__(f"Error {self.status}:  {message}")

    def __reduce__(self):
        return (type(self), (self.message,))


class BadRequest(FlexilimsError):
    """The request breaks a rule of the protocol or of the lab's data (HTTP 400)."""

    status = 400


class AuthenticationFailed(FlexilimsError):
    """Wrong username or password (HTTP 401)."""

    status = 401


class Forbidden(FlexilimsError):
    """No valid token, or no access to this project (HTTP 403)."""

    status = 403


class NotFound(FlexilimsError):
    """No such endpoint (HTTP 404)."""

    status = 404


class ServerUnreachable(FlexilimsError):
    """The HTTP client could not reach the server at all."""

    status = 503


ERRORS_BY_STATUS = {
    cls.status: cls for cls in (BadRequest, AuthenticationFailed, Forbidden, NotFound)
}


def error_for_status(status: int, message: str) -> FlexilimsError:
    """Build the exception matching an HTTP status code."""
    cls = ERRORS_BY_STATUS.get(status)
    if cls is None:
        err = FlexilimsError(message)
        err.status = status
        err.args = (f"Error {status}:  {message}",)
        return err
    return cls(message)
