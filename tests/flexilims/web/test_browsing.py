"""Reading pages: projects, a project's page and tree, an entity's page and
files, search and its CSV, and the escaping of what users typed."""

import csv
import html
import io
import re

import numpy as np
import pytest
import sqlalchemy as sa
import tifffile

from flexilims.store import browse
from flexilims.store import models as m

NASTY = '<script>alert("x")</script>&<b>'


def text_of(page: str) -> str:
    """The page's text without tags, unescaped (what a reader sees)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def words(page: str) -> str:
    """The page's text on one line, words separated by one space."""
    return " ".join(text_of(page).split())


def test_projects_page_lists_the_users_projects(browser, lab):
    jane = browser("jane").get("/").text
    assert "/projects/test" in jane and "/projects/other" not in jane
    assert re.search(r"test</a></td>\s*<td class=\"num\">5</td>", jane)
    ada = browser("ada").get("/").text
    assert "/projects/test" in ada and "/projects/other" in ada
    olga = browser("olga")
    assert "/projects/test" not in olga.get("/").text


def test_project_page_counts_charts_changes_and_tree(browser, lab, wstore):
    jane = browser("jane")
    wstore.update_one(
        lab["jane"],
        datatype="mouse",
        entity_id=lab["mouse"]["id"],
        attributes={"sex": "M"},
    )
    page = jane.get("/projects/test").text
    words = text_of(page)
    assert "5 entities" in words
    for datatype in ("dataset", "mouse", "recording", "sample", "session"):
        assert f"search?type={datatype}" in page
    assert 'role="img"' in page and "Sessions per month" in page
    assert "2021-05: 1" in page  # the chart's description
    assert "scanimage: 1" in page
    assert "Jane Doe updated mouse" in " ".join(words.split())
    assert f'href="/entities/{lab["mouse"]["id"]}"' in page
    assert "1 sample, 1 session" in page
    assert f'hx-get="/entities/{lab["mouse"]["id"]}/tree"' in page
    # By id as well as by name.
    assert browser("jane").get(f"/projects/{lab['project'].id}").status_code == 200


def test_tree_opens_level_by_level_with_pages(browser, lab):
    jane = browser("jane")
    for index in range(230):
        lab["save"]("sample", f"slice_{index:03d}", {}, lab["mouse"]["id"])
    level = jane.get(
        f"/entities/{lab['mouse']['id']}/tree", headers={"HX-Request": "true"}
    ).text
    assert "<html" not in level
    assert level.count('class="node"') == 100
    assert "PZAH6.4b_S20210513" in level and "1 recording" in level
    assert "100 of 232 shown" in level
    assert f"/entities/{lab['mouse']['id']}/tree?offset=100" in level
    last = jane.get(f"/entities/{lab['mouse']['id']}/tree?offset=200").text
    assert last.count('class="node"') == 32 and "more" not in last
    assert "slice_229" in last
    top = jane.get("/projects/test/tree").text
    assert top.count('class="node"') == 1 and "232 samples" not in top
    assert "231 samples, 1 session" in top


def test_entity_page_shows_fields_attributes_children_links_chain(browser, lab):
    jane = browser("jane")
    page = jane.get(f"/entities/{lab['recording']['id']}").text
    words = " ".join(text_of(page).split())
    assert "RECORDING0000001" in page and lab["recording"]["id"] in page
    assert "recording_type two_photon" in words
    assert "Projects › test › PZAH6.4b mouse › PZAH6.4b_S20210513 session" in (
        words.replace(" › ", " › ")
    ) or ("PZAH6.4b" in words and "PZAH6.4b_S20210513" in words)
    crumbs = page.split('class="crumbs"')[1].split("</nav>")[0]
    assert crumbs.index("PZAH6.4b<") < crumbs.index("PZAH6.4b_S20210513")
    assert 'aria-current="page">R101' in crumbs
    assert "R101_scan" in page.split('id="children-h"')[1]
    mouse = jane.get(f"/entities/{lab['mouse']['id']}").text
    linked_from = mouse.split("Linked from")[1]
    assert "R101_scan" in linked_from
    dataset = jane.get(f"/entities/{lab['dataset']['id']}").text
    assert "PZAH6.4b" in dataset.split("It links to")[1].split("Linked from")[0]
    assert f'hx-get="/entities/{lab["dataset"]["id"]}/files"' in dataset


def test_names_and_attributes_holding_html_are_escaped(browser, lab, wstore):
    jane = browser("jane")
    nasty = lab["save"]("sample", NASTY, {"note": NASTY, NASTY[:0] + "x": [NASTY]})
    wstore.update_one(
        lab["jane"],
        datatype="sample",
        entity_id=nasty["id"],
        attributes={"note": NASTY + "2"},
    )
    pages = [
        f"/entities/{nasty['id']}",
        f"/entities/{nasty['id']}/edit",
        f"/entities/{nasty['id']}/history",
        f"/entities/{nasty['id']}/delete",
        "/projects/test",
        "/projects/test/history",
        "/projects/test/search?name=script",
        "/projects/test/search?key=note&value=" + NASTY.replace("&", "%26"),
        "/projects/test/names?parent=script",
    ]
    for url in pages:
        reply = jane.get(url)
        assert reply.status_code == 200, url
        assert "<script>" not in reply.text, url
        assert "<b>" not in reply.text.replace("<b>Message", ""), url
        assert "&lt;script&gt;" in reply.text, url
    wstore.delete(lab["jane"], nasty["id"])
    page = browser("ada").get("/trash").text
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_dataset_files_inside_the_data_root(browser, lab, data_root):
    jane = browser("jane")
    folder = data_root / "raw" / "PZAH6.4b" / "S20210513" / "R101"
    folder.mkdir(parents=True)
    frame = (np.arange(64 * 48, dtype=np.uint16).reshape(48, 64)) * 7
    tifffile.imwrite(folder / "scan_00001_00001.tif", np.stack([frame, frame]))
    (folder / "notes.txt").write_text("hello")
    url = f"/entities/{lab['dataset']['id']}"
    fragment = jane.get(url + "/files").text
    assert str(folder) in fragment
    assert "exists (folder)" in fragment and ">2<" in fragment
    assert 'src="/entities/' in fragment
    png = jane.client.get(url + "/thumbnail.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    cached = list((data_root.parent / "cache" / "thumbnails").glob("*.png"))
    assert len(cached) == 1
    assert jane.client.get(url + "/thumbnail.png").content == png.content
    # A member of another project sees nothing of it.
    olga = browser("olga")
    assert olga.client.get(url + "/thumbnail.png").status_code == 404
    assert olga.get(url + "/files").status_code == 404


@pytest.mark.parametrize(
    "path", ["../../../etc", "/etc", "PZAH6.4b/../../../../etc", "missing/folder"]
)
def test_dataset_files_outside_the_data_root_are_not_read(
    browser, lab, wstore, data_root, path
):
    """The store refuses such paths; one written by another server (behind
    the rules, here straight in SQL) is shown but never read."""
    jane = browser("jane")
    (data_root / "raw" / "link").symlink_to("/etc")
    dataset = lab["save"](
        "dataset",
        "elsewhere",
        {"path": "placeholder", "dataset_type": "scanimage"},
        lab["recording"]["id"],
    )
    with wstore.write() as conn:
        conn.execute(
            sa.update(m.entities)
            .where(m.entities.c.id == dataset["id"])
            .values(attributes={"path": path, "dataset_type": "scanimage"})
        )
    fragment = jane.get(f"/entities/{dataset['id']}/files").text
    if path.startswith("missing"):
        assert "missing" in fragment
    else:
        assert "outside the data root" in fragment
    assert "thumbnail.png" not in fragment
    reply = jane.client.get(f"/entities/{dataset['id']}/thumbnail.png")
    assert reply.status_code == 404
    linked = lab["save"](
        "dataset", "through_link", {"path": "link", "dataset_type": "x"}, None
    )
    assert "outside the data root" in jane.get(f"/entities/{linked['id']}/files").text


def test_search_by_name_type_attributes_creator_dates(browser, lab, wstore):
    jane = browser("jane")
    for index in range(60):
        lab["save"](
            "sample",
            f"slice_{index:02d}",
            {"sample_type": "slice", "stain": "dapi" if index % 2 else "gfp"},
            lab["mouse"]["id"],
        )
    page = jane.get("/projects/test/search?name=LICE_1").text
    assert "10 results" in page and "slice_19" in page and "slice_20" not in page
    page = jane.get("/projects/test/search?name=sl").text
    assert "at least 3 characters" in page
    assert jane.get("/projects/test/search?name=sl").status_code == 400
    page = jane.get("/projects/test/search?type=sample").text
    assert "61 results" in page and "Results 1–50" in page and "Next 50" in page
    page = jane.get("/projects/test/search?type=sample&offset=50").text
    assert "Results 51–61" in page and "Previous 50" in page
    query = "key=sample_type&value=slice&key=stain&value=dapi"
    page = jane.get(f"/projects/test/search?{query}").text
    assert "30 results" in page and "slice_01" in page and "slice_02<" not in page
    assert ">stain</th>" in page
    page = jane.get("/projects/test/search?created_by=Jane+Doe&type=mouse").text
    assert "1 result Download" in words(page)
    page = jane.get("/projects/test/search?created_by=Nobody").text
    assert "0 results" in words(page)
    page = jane.get("/projects/test/search?from=2000-01-01&to=2999-12-31").text
    assert "65 results" in page
    page = jane.get("/projects/test/search?to=2000-01-01").text
    assert "0 results" in words(page)
    reply = jane.get("/projects/test/search?from=yesterday")
    assert reply.status_code == 400 and "use YYYY-MM-DD" in reply.text
    reply = jane.get("/projects/test/search?type=unicorn")
    assert reply.status_code == 400 and "no datatype unicorn" in reply.text
    reply = jane.get("/projects/test/search?value=orphan")
    assert reply.status_code == 400 and "Name the attribute" in reply.text
    assert "Search test" in jane.get("/projects/test/search").text
    assert browser("olga").get("/projects/test/search?name=sli").status_code == 404


def test_search_csv_has_every_result_with_attribute_columns(browser, lab):
    jane = browser("jane")
    lab["save"]("sample", "formula", {"note": "=SUM(A1)", "depth": -3})
    reply = jane.client.get("/projects/test/search?type=sample&format=csv")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert [row["name"] for row in rows] == ["brain", "formula"]
    assert rows[1]["note"] == "'=SUM(A1)" and rows[1]["depth"] == "-3"
    assert rows[0]["sample_type"] == "brain" and rows[0]["note"] == ""
    assert rows[0]["createdBy"] == "Jane Doe"
    assert rows[0]["dateCreated"].startswith("20")


def test_substring_search_uses_the_index(wstore, lab):
    """The name search runs on the trigram index (pg_trgm or FTS5), not a scan
    of the entities table."""
    import sqlalchemy as sa

    from flexilims.store import models as m

    with wstore.read() as conn:
        query = browse._name_filter(  # noqa: SLF001 (the query is the subject)
            conn, sa.select(m.entities.c.id), "R101"
        )
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        if wstore.is_postgres:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = conn.exec_driver_sql(f"EXPLAIN {compiled}").all()
            assert "ix_entities_name_trgm" in " ".join(row[0] for row in plan)
        else:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
            text = " ".join(row[-1] for row in plan)
            assert "VIRTUAL TABLE INDEX" in text and "entity_name_search" in text
