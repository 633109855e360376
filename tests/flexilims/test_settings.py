"""Settings read from the environment: booleans, zero where a setting allows
it, limits that stop at what both databases hold, and clear refusals."""

import pytest

from flexilims import settings
from flexilims.settings import SettingError
from flexilims.store import models as m


@pytest.mark.parametrize(
    "name, column",
    [
        ("max_name_length", m.entities.c.name),
        ("max_key_length", m.attribute_values.c.key),
    ],
)
def test_length_limits_stop_at_the_columns(name, column):
    """PostgreSQL refuses text longer than its column (SQLite stores it): a
    longer limit would make the backends accept different data."""
    at_most = column.type.length
    assert getattr(settings.load({}), name) == at_most
    variable = settings.env_name(name)
    assert getattr(settings.load({variable: str(at_most)}), name) == at_most
    with pytest.raises(SettingError, match=f"{variable} is at most {at_most}"):
        settings.load({variable: str(at_most + 1)})
    with pytest.raises(SettingError):
        settings.Settings(**{name: at_most + 1})


@pytest.mark.parametrize(
    ("text", "value"),
    [("false", False), ("0", False), ("No", False), ("true", True), ("on", True)],
)
def test_boolean_settings_read_the_usual_words(text, value):
    loaded = settings.load({"FLEXILIMS_PREPARED_STATEMENTS": text})
    assert loaded.prepared_statements is value


def test_a_boolean_setting_refuses_other_words():
    with pytest.raises(SettingError, match="FLEXILIMS_PREPARED_STATEMENTS.*true or"):
        settings.load({"FLEXILIMS_PREPARED_STATEMENTS": "maybe"})


def test_zero_turns_the_token_cache_off_but_not_a_timeout():
    assert (
        settings.load({"FLEXILIMS_TOKEN_CACHE_SECONDS": "0"}).token_cache_seconds == 0
    )
    assert settings.Settings().token_cache_seconds == 5.0
    with pytest.raises(SettingError, match="must be zero or positive"):
        settings.load({"FLEXILIMS_TOKEN_CACHE_SECONDS": "-1"})
    with pytest.raises(SettingError, match="must be positive"):
        settings.load({"FLEXILIMS_CONNECT_TIMEOUT_SECONDS": "0"})


def test_new_settings_explain_themselves():
    for name in (
        "token_cache_seconds",
        "prepared_statements",
        "connection_check_after_seconds",
    ):
        assert settings.env_name(name).upper() in settings.Settings.help(name)
