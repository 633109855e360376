"""flexiznam.colony: one animal's attributes from a CSV or XLSX export of the
colony records (add_mouse's use of it is tested in test_main.py)."""

import datetime
import logging

import pandas as pd
import pytest

from flexiznam.colony import lookup_mouse, read_colony_file
from flexiznam.errors import ConfigurationError, FlexilimsError, NameNotUniqueError

TABLE = pd.DataFrame(
    {
        "Animal_name": ["BRAC1.1a", " PZAH6.4b "],
        "Birth Date": ["2021-01-02", "2021-02-03"],
        "Sex (M/F)": ["M", "F"],
        "Weight": [25, None],
        "Cage": [101, 102],
    }
)


@pytest.fixture(params=[".csv", ".xlsx"])
def colony_file(request, tmp_path):
    """The colony export :data:`TABLE`, as CSV and as XLSX."""
    path = tmp_path / f"colony{request.param}"
    if request.param == ".csv":
        TABLE.to_csv(path, index=False)
    else:
        TABLE.to_excel(path, index=False)
    return path


def config(path, **colony) -> dict:
    return {"colony": {"file": str(path), **colony}}


def write_csv(path, text: str):
    path.write_text(text)
    return path


def test_every_column_becomes_an_attribute_by_default(colony_file):
    assert lookup_mouse("BRAC1.1a", config(colony_file)) == {
        "animal_name": "BRAC1.1a",
        "birth_date": "2021-01-02",
        "sex_m_f": "M",
        "weight": 25,
        "cage": 101,
    }


def test_names_and_text_are_stripped_and_empty_cells_left_out(colony_file):
    attributes = lookup_mouse("PZAH6.4b", config(colony_file))
    assert attributes["animal_name"] == "PZAH6.4b"
    assert "weight" not in attributes  # an empty cell is no attribute


def test_columns_map_chosen_columns_to_attributes(colony_file):
    columns = {"Birth Date": "birth_date", "Cage": "cage_number"}
    found = lookup_mouse("BRAC1.1a", config(colony_file, columns=columns))
    assert found == {"birth_date": "2021-01-02", "cage_number": 101}
    assert type(found["cage_number"]) is int  # not a numpy integer


def test_the_name_column_can_be_another(tmp_path):
    path = write_csv(tmp_path / "c.csv", "Name,Sex\nM1,F\n")
    assert lookup_mouse("M1", config(path, name_column="Name")) == {
        "name": "M1",
        "sex": "F",
    }


def test_names_that_look_like_numbers_are_found_as_written(tmp_path):
    path = write_csv(tmp_path / "c.csv", "Animal_name,Sex\n007,M\n1.10,F\n12,M\n")
    assert lookup_mouse("007", config(path)) == {"animal_name": "007", "sex": "M"}
    assert lookup_mouse("1.10", config(path)) == {"animal_name": "1.10", "sex": "F"}
    assert lookup_mouse("12", config(path))["sex"] == "M"


def test_dates_of_a_spreadsheet_become_iso_text(tmp_path):
    path = tmp_path / "c.xlsx"
    pd.DataFrame(
        {
            "Animal_name": ["M1"],
            "Born": [datetime.datetime(2021, 5, 5)],
            "Weighed": [datetime.datetime(2021, 6, 1, 9, 30)],
        }
    ).to_excel(path, index=False)
    found = lookup_mouse("M1", config(path))
    assert found["born"] == "2021-05-05"
    assert found["weighed"] == "2021-06-01 09:30:00"


def test_without_a_colony_file_nothing_is_looked_up_and_a_message_says_how(caplog):
    for settings in ({}, {"colony": None}, {"colony": {"file": None}}):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="flexiznam"):
            assert lookup_mouse("M1", settings) is None
        assert "colony: file:" in caplog.text and "config.yml" in caplog.text


def test_an_animal_not_in_the_file_is_a_clear_error(colony_file):
    with pytest.raises(FlexilimsError, match="Mouse M9 is not in the colony file"):
        lookup_mouse("M9", config(colony_file))


def test_an_animal_named_twice_is_not_unique(tmp_path):
    path = write_csv(tmp_path / "c.csv", "Animal_name,Sex\nM1,F\nM1 ,M\n")
    with pytest.raises(NameNotUniqueError, match="2 animals are named M1"):
        lookup_mouse("M1", config(path))


def test_a_missing_file_names_the_setting(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist.*colony: file:"):
        lookup_mouse("M1", config(tmp_path / "nowhere.csv"))
    with pytest.raises(ConfigurationError, match="does not exist"):
        read_colony_file(tmp_path / "nowhere.xlsx")


def test_a_missing_name_column_names_the_columns_there_are(colony_file):
    with pytest.raises(ConfigurationError, match="no column 'Mouse'.*Animal_name"):
        lookup_mouse("M1", config(colony_file, name_column="Mouse"))


def test_a_mapped_column_missing_from_the_file_is_a_clear_error(colony_file):
    columns = {"Birth Date": "birth_date", "Birthdate": "born"}
    with pytest.raises(ConfigurationError, match="no column 'Birthdate'.*Birth Date"):
        lookup_mouse("BRAC1.1a", config(colony_file, columns=columns))


@pytest.mark.parametrize(
    "name, content", [("empty.csv", b""), ("broken.xlsx", b"not a spreadsheet")]
)
def test_an_unreadable_file_is_a_configuration_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=f"Cannot read the colony file {path}"):
        lookup_mouse("M1", config(path))


def test_the_file_path_may_start_with_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_csv(tmp_path / "c.csv", "Animal_name,Sex\nM1,F\n")
    assert lookup_mouse("M1", config("~/c.csv")) == {"animal_name": "M1", "sex": "F"}


def test_read_colony_file_reads_both_formats(colony_file):
    table = read_colony_file(colony_file)
    assert list(table.columns) == list(TABLE.columns)
    assert len(table) == 2
