"""Opening a session refuses database URLs that are mistakes, naming the URL
to use, before anything is created."""

import pytest

import flexilims
from flexilims import settings
from flexilims.settings import SettingError


@pytest.mark.parametrize(
    "url, meant",
    [
        ("/tmp/lab/x.db", "sqlite:////tmp/lab/x.db"),
        ("x.db", "sqlite:///{cwd}/x.db"),
        ("sqlite:///relative/x.db", "sqlite:///{cwd}/relative/x.db"),
        ("postgres://me@host/lab", "postgresql://me@host/lab"),
    ],
)
def test_mistaken_urls_name_the_url_to_use(tmp_path, monkeypatch, url, meant):
    monkeypatch.chdir(tmp_path)
    meant = meant.format(cwd=tmp_path)
    with pytest.raises(SettingError, match=meant):
        flexilims.open_session(url, "demo")
    with pytest.raises(SettingError, match=meant):
        settings.load({"FLEXILIMS_DATABASE_URL": url})
    assert list(tmp_path.iterdir()) == []


def test_urls_that_are_fine(tmp_path):
    for url in (f"sqlite:///{tmp_path}/x.db", "sqlite://", "postgresql://u@h/db"):
        assert settings.check_database_url(url) == url
    with pytest.raises(SettingError, match="is not a database URL"):
        settings.check_database_url("nope://x")
