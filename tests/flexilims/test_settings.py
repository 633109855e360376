"""Settings that bound what is written cannot go past what both databases hold."""

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
