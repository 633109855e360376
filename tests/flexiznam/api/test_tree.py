"""The hierarchy of a project as text and rows: order, labels, depth, types,
and the one request for a whole project or below one entity."""

import pytest

from flexilims import LocalSession
from flexiznam.api.tree import format_tree, project_tree, subtree, tree_frame, tree_rows
from flexiznam.errors import FlexilimsError


def entity(id, type, name, origin=None, **attributes) -> dict:
    return {
        "id": id,
        "type": type,
        "name": name,
        "origin_id": origin,
        "attributes": attributes,
    }


#: M1 > S1 > (R1 > ds1, R2), M1 > brain, and M2; in creation order.
ENTITIES = [
    entity("m1", "mouse", "M1"),
    entity("s1", "session", "M1_S1", "m1", genealogy=["M1", "S1"]),
    entity("r1", "recording", "M1_S1_R1", "s1", genealogy=["M1", "S1", "R1"]),
    entity("d1", "dataset", "ds1", "r1", dataset_type="scanimage"),
    entity("r2", "recording", "M1_S1_R2", "s1", protocol="gratings"),
    entity("b", "sample", "brain", "m1"),
    entity("m2", "mouse", "M2"),
]

FULL = """\
mouse M1
├── session S1
│   ├── recording R1
│   │   └── dataset ds1 (scanimage)
│   └── recording M1_S1_R2 (gratings)
└── sample brain
mouse M2"""


def shown(rows) -> list[tuple]:
    return [(e["id"], level, hidden) for e, level, hidden in rows]


def test_rows_are_in_tree_order_with_levels():
    assert shown(tree_rows(ENTITIES)) == [
        ("m1", 0, 0),
        ("s1", 1, 0),
        ("r1", 2, 0),
        ("d1", 3, 0),
        ("r2", 2, 0),
        ("b", 1, 0),
        ("m2", 0, 0),
    ]


def test_children_follow_their_parent_whatever_the_list_order():
    assert shown(tree_rows(list(reversed(ENTITIES)))) == [
        ("m2", 0, 0),
        ("m1", 0, 0),
        ("b", 1, 0),
        ("s1", 1, 0),
        ("r2", 2, 0),
        ("r1", 2, 0),
        ("d1", 3, 0),
    ]


def test_entities_whose_origin_is_absent_are_roots():
    part = [e for e in ENTITIES if e["id"] not in ("m1", "s1")]
    assert shown(tree_rows(part)) == [
        ("r1", 0, 0),
        ("d1", 1, 0),
        ("r2", 0, 0),
        ("b", 0, 0),
        ("m2", 0, 0),
    ]


def test_depth_stops_the_tree_and_counts_what_it_hides():
    assert shown(tree_rows(ENTITIES, depth=0)) == [("m1", 0, 5), ("m2", 0, 0)]
    assert shown(tree_rows(ENTITIES, depth=1)) == [
        ("m1", 0, 0),
        ("s1", 1, 3),
        ("b", 1, 0),
        ("m2", 0, 0),
    ]
    assert tree_rows(ENTITIES, depth=3) == tree_rows(ENTITIES)


def test_types_hang_entities_from_their_nearest_shown_ancestor():
    rows = tree_rows(ENTITIES, types=["mouse", "dataset"])
    assert shown(rows) == [("m1", 0, 0), ("d1", 1, 0), ("m2", 0, 0)]
    rows = tree_rows(ENTITIES, depth=0, types=("mouse", "recording", "dataset"))
    assert shown(rows) == [("m1", 0, 3), ("m2", 0, 0)]
    assert tree_rows(ENTITIES, types=["nothing"]) == []


def test_a_single_type_given_as_text_is_one_type():
    assert shown(tree_rows(ENTITIES, types="mouse")) == [("m1", 0, 0), ("m2", 0, 0)]


def test_a_negative_depth_is_refused():
    with pytest.raises(ValueError, match="depth"):
        tree_rows(ENTITIES, depth=-1)
    with pytest.raises(ValueError, match="depth"):
        format_tree(ENTITIES, depth=-2)


def test_format_tree_draws_branches_and_labels():
    assert format_tree(ENTITIES) == FULL
    assert format_tree([]) == ""


def test_format_tree_says_what_the_depth_hides():
    assert format_tree(ENTITIES, depth=1) == (
        "mouse M1\n├── session S1 (+3 below)\n└── sample brain\nmouse M2"
    )
    assert format_tree(ENTITIES, depth=2, types=["mouse", "session", "dataset"]) == (
        "mouse M1\n└── session S1\n    └── dataset ds1 (scanimage)\nmouse M2"
    )


def test_an_entity_without_attributes_is_labelled_by_its_name():
    bare = {"id": "x", "type": "mouse", "name": "bare"}
    assert format_tree([bare]) == "mouse bare"


def test_tree_frame_has_one_row_per_shown_entity():
    frame = tree_frame(ENTITIES, depth=1)
    assert list(frame.columns) == [
        "level",
        "type",
        "name",
        "id",
        "parent_id",
        "hidden_below",
    ]
    assert frame.drop(columns="parent_id").values.tolist() == [
        [0, "mouse", "M1", "m1", 0],
        [1, "session", "M1_S1", "s1", 3],
        [1, "sample", "brain", "b", 0],
        [0, "mouse", "M2", "m2", 0],
    ]
    assert frame["parent_id"].isna().tolist() == [True, False, False, True]
    assert frame["parent_id"].tolist()[1:3] == ["m1", "m1"]
    empty = tree_frame([])
    assert empty.empty and list(empty.columns) == list(frame.columns)


@pytest.fixture
def session(store, project):
    """A project with M1 > M1_S1 > R1 > ds1 and M2."""
    session = LocalSession(store, project_id=project.id, username="tester")
    mouse = session.post("mouse", "M1", {"sex": "F"})
    day = session.post(
        "session", "M1_S1", {"genealogy": ["M1", "S1"]}, origin_id=mouse["id"]
    )
    rec = session.post(
        "recording", "M1_S1_R1", {"protocol": "dots"}, origin_id=day["id"]
    )
    session.post(
        "dataset",
        "ds1",
        {"path": "a", "dataset_type": "scanimage"},
        origin_id=rec["id"],
    )
    session.post("mouse", "M2", {"sex": "M"})
    return session


def test_project_tree_of_the_whole_project_and_below_one_entity(session):
    assert project_tree(session) == (
        "mouse M1\n"
        "└── session S1\n"
        "    └── recording M1_S1_R1 (dots)\n"
        "        └── dataset ds1 (scanimage)\n"
        "mouse M2"
    )
    assert project_tree(session, "M1_S1") == (
        "session S1\n└── recording M1_S1_R1 (dots)\n    └── dataset ds1 (scanimage)"
    )


def test_subtree_is_the_root_and_everything_below_it(session):
    assert [e["name"] for e in subtree(session, None)] == [
        "M1",
        "M1_S1",
        "M1_S1_R1",
        "ds1",
        "M2",
    ]
    (recording,) = session.get("recording")
    below = subtree(session, recording)
    assert [e["name"] for e in below] == ["M1_S1_R1", "ds1"]


def test_project_tree_of_an_unknown_entity_is_a_clear_error(session):
    with pytest.raises(FlexilimsError, match="No entity named M9 in the project"):
        project_tree(session, "M9")
