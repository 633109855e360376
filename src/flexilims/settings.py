"""Settings of flexilims, declared once: name, environment variable, default, help.

The ``flexilims`` command, the server and flexiznam read them from here, so a
setting means the same everywhere. Nothing is read at import time: call
:func:`load` (the environment) or build :class:`Settings` directly.

Every setting is an environment variable ``FLEXILIMS_<NAME>``; the command's
options with the same meaning default to it.
"""

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

#: The folder flexilims shares with flexiznam (``FLEXIZNAM_CONFIG_DIR`` moves it).
HOME_ENV = "FLEXIZNAM_CONFIG_DIR"


def home() -> Path:
    """The folder of the embedded database: ``$FLEXIZNAM_CONFIG_DIR`` or
    ``~/.flexiznam``."""
    return Path(os.environ.get(HOME_ENV) or os.path.expanduser("~/.flexiznam"))


def default_database_url() -> str:
    """The embedded SQLite file, ``<home>/flexilims.db``."""
    return f"sqlite:///{home() / 'flexilims.db'}"


#: The longest entity name and attribute name the database columns hold
#: (``entities.name``, ``attribute_values.key``): PostgreSQL refuses longer
#: text, so the limits cannot go past them.
NAME_COLUMN_LENGTH = 500
KEY_COLUMN_LENGTH = 200


def _setting(
    default, help: str, maximum: int | None = None, zero_allowed: bool = False
):
    return field(
        default=default,
        metadata={"help": help, "maximum": maximum, "zero": zero_allowed},
    )


@dataclass(frozen=True)
class Settings:
    """Every setting of flexilims, with its default.

    Build one with :func:`load` to read the environment, or directly (tests,
    embedding) to set values in code.
    """

    database_url: str | None = _setting(
        None,
        "Database URL: sqlite:////absolute/path.db or postgresql://user@host/db "
        "(default: flexilims.db in the flexiznam folder).",
    )
    token_lifetime_hours: float = _setting(
        24.0, "Hours a token from `authenticate` stays valid."
    )
    threads: int = _setting(
        4,
        "Requests one server worker runs at once (protocol requests and web "
        "pages each); the rest wait their turn.",
    )
    password_hashing: str = _setting(
        "default",
        "argon2 cost of password hashes: 'default' (RFC 9106's low-memory "
        "profile, 64 MiB) or 'fast' (for test suites only: never for real users).",
    )
    max_body_bytes: int = _setting(
        32 * 1024 * 1024, "Largest request body the server reads, in bytes."
    )
    max_name_length: int = _setting(
        NAME_COLUMN_LENGTH,
        f"Longest entity name, in characters (at most {NAME_COLUMN_LENGTH}).",
        maximum=NAME_COLUMN_LENGTH,
    )
    max_key_length: int = _setting(
        KEY_COLUMN_LENGTH,
        f"Longest attribute name, in characters (at most {KEY_COLUMN_LENGTH}).",
        maximum=KEY_COLUMN_LENGTH,
    )
    max_attributes_bytes: int = _setting(
        1024 * 1024,
        "Largest attributes of one entity, as JSON text in bytes.",
    )
    max_depth: int = _setting(
        32, "Deepest nesting of lists and objects in an attribute value."
    )
    data_root: str | None = _setting(
        None,
        "Folder of the lab's data on the server, holding the 'raw' and "
        "'processed' folders that dataset paths are relative to (by the "
        "dataset's is_raw); the web pages show a dataset's files from there "
        "and nothing outside it (default: none, no files shown).",
    )
    cache_dir: str | None = _setting(
        None,
        "Folder for the web pages' thumbnails of datasets (default: cache in "
        "the flexiznam folder).",
    )

    @property
    def cache_folder(self) -> Path:
        """:attr:`cache_dir`, or ``cache`` in the flexiznam folder."""
        return Path(self.cache_dir).expanduser() if self.cache_dir else home() / "cache"

    connect_timeout_seconds: float = _setting(
        10.0,
        "Seconds to wait for a new database connection before answering 503 "
        "(a database that is down or frozen never hangs a request).",
    )
    statement_timeout_seconds: float = _setting(
        300.0,
        "Longest a database statement may run (PostgreSQL statement_timeout); "
        "past it the request is answered 503.",
    )
    lock_timeout_seconds: float = _setting(
        30.0,
        "Longest a write waits for another one's lock (PostgreSQL lock_timeout, "
        "SQLite busy timeout); past it the request is answered 503.",
    )
    connection_check_after_seconds: float = _setting(
        1.0,
        "A pooled database connection unused for longer than this is checked "
        "(SELECT 1) before use, so that a database restarted meanwhile costs "
        "no request; one used more recently is trusted (a restart within this "
        "time fails the requests that meet its old connections: 503, then the "
        "pool reconnects). 0 checks before every use.",
        zero_allowed=True,
    )
    retry_after_seconds: float = _setting(
        5.0,
        "Retry-After of a 503 reply: when clients may try again after an outage.",
    )
    failed_logins_per_user: int = _setting(
        5,
        "Failed logins of one username within failed_login_window_seconds after "
        "which its logins are refused (429) until the window has passed.",
    )
    failed_logins_per_address: int = _setting(
        20,
        "Failed logins from one client address within failed_login_window_seconds "
        "after which its logins are refused (429); higher than per user, as a "
        "lab may share one address.",
    )
    failed_login_window_seconds: float = _setting(
        300.0, "The window in which failed logins are counted, in seconds."
    )
    token_cache_seconds: float = _setting(
        5.0,
        "Seconds a server worker trusts a token (and its user's projects) it "
        "has checked in the database before checking it again; a token "
        "revoked, a user disabled or a membership changed elsewhere takes "
        "effect within this time (at once on the worker that made the "
        "change). 0 checks every request.",
        zero_allowed=True,
    )
    prepared_statements: bool = _setting(
        True,
        "Let PostgreSQL prepare the statements a connection runs often "
        "(psycopg's prepare_threshold). Turn off (false) behind a pooler in "
        "transaction mode (PgBouncer's pool_mode = transaction), where a "
        "statement prepared on one server connection is not there on the next.",
    )

    def __post_init__(self):
        for item in fields(self):
            maximum = item.metadata["maximum"]
            if maximum is not None and getattr(self, item.name) > maximum:
                raise SettingError(
                    f"{env_name(item.name)} is at most {maximum} (the database "
                    f"holds no more), not {getattr(self, item.name)}"
                )

    @property
    def database(self) -> str:
        """:attr:`database_url`, or the embedded file when it is not set."""
        return self.database_url or default_database_url()

    @classmethod
    def help(cls, name: str) -> str:
        """The help text of one setting, with its environment variable."""
        for item in fields(cls):
            if item.name == name:
                return f"{item.metadata['help']} [env {env_name(name)}]"
        raise KeyError(name)


def env_name(name: str) -> str:
    """The environment variable of a setting: ``FLEXILIMS_<NAME>``."""
    return f"FLEXILIMS_{name.upper()}"


class SettingError(ValueError):
    """An environment variable holds a value its setting cannot take."""


#: The texts a boolean setting's variable may hold.
BOOLEAN_TEXTS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


def _parse(item, text: str):
    """A variable's text as the type of its setting's default."""
    kind = str if item.default is None else type(item.default)
    if kind is str:
        return text
    if kind is bool:
        try:
            return BOOLEAN_TEXTS[text.strip().lower()]
        except KeyError:
            raise SettingError(
                f"{env_name(item.name)}={text!r} is not true or false"
            ) from None
    try:
        value = kind(text)
    except ValueError:
        raise SettingError(
            f"{env_name(item.name)}={text!r} is not a valid {kind.__name__}"
        ) from None
    if value < 0 or (value == 0 and not item.metadata["zero"]):
        qualifier = "zero or positive" if item.metadata["zero"] else "positive"
        raise SettingError(f"{env_name(item.name)}={text!r} must be {qualifier}")
    return value


#: What a database URL looks like, for messages.
DATABASE_URL_FORMS = "sqlite:////absolute/path.db or postgresql://user@host/dbname"


def check_database_url(url) -> str:
    """``url`` if it names a database unambiguously; else :class:`SettingError`
    saying which URL to use.

    A bare path (``/tmp/x.db``) is not a URL, and a relative SQLite path
    (``sqlite:///x.db``) would silently create a new, empty database in
    whatever folder the command runs from: both are refused with the absolute
    URL meant. Every way in checks here: the commands' ``--database``,
    ``FLEXILIMS_DATABASE_URL``, :func:`flexilims.open_session` and flexiznam's
    ``database_url`` setting.

    Raises
    ------
    SettingError
        The URL cannot be parsed, has an unknown scheme or driver, is a path,
        or is a relative SQLite path.
    """
    check_database_url_form(url)
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url)
        parsed.get_dialect()
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError):
        raise SettingError(
            f"{url!r} is not a database URL this program can use: use "
            f"{DATABASE_URL_FORMS}."
        ) from None
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
        if not database.startswith("file:") and not Path(database).is_absolute():
            path = Path(database).expanduser().absolute()
            raise SettingError(
                f"{url!r} is a relative SQLite path: it would create a new, empty "
                "database in the current folder. Use the absolute URL "
                f"sqlite:///{path.as_posix()}"
            )
    return url


def check_database_url_form(url) -> str:
    """What :func:`check_database_url` checks without parsing ``url`` (nor
    loading SQLAlchemy, a tenth of a second): it is text, not a path, and its
    scheme is not ``postgres://``.

    Raises
    ------
    SettingError
        No URL, a path, or the ``postgres://`` scheme.
    """
    if not isinstance(url, str) or not url.strip():
        raise SettingError(f"No database URL given: use {DATABASE_URL_FORMS}.")
    if "://" not in url:
        path = Path(url).expanduser().absolute()
        raise SettingError(
            f"{url!r} is a path, not a database URL: use sqlite:///{path.as_posix()}"
        )
    if url.startswith("postgres://"):
        raise SettingError(
            f"{url!r}: the scheme is postgresql://, not postgres:// "
            f"(use {'postgresql://' + url.removeprefix('postgres://')})."
        )
    return url


def load(environ=None, **overrides) -> Settings:
    """The settings: defaults, then ``FLEXILIMS_*`` variables, then ``overrides``.

    Parameters
    ----------
    environ : Mapping, optional
        Where to read variables (default: ``os.environ``).
    **overrides
        Values set in code (command-line options); ``None`` means not given.

    Raises
    ------
    SettingError
        A variable that cannot be read as its setting's type.
    """
    environ = os.environ if environ is None else environ
    values = {}
    for item in fields(Settings):
        text = environ.get(env_name(item.name))
        if text:
            values[item.name] = _parse(item, text)
    if values.get("database_url"):
        check_database_url(values["database_url"])
    settings = replace(Settings(), **values)
    given = {key: value for key, value in overrides.items() if value is not None}
    return replace(settings, **given)
