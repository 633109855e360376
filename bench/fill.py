"""Filling a store for a benchmark: entity rows through the store's one write
path (:meth:`flexilims.store.Store.apply`), ids chosen beforehand so that rows
can name their parents, in transactions of a few thousand."""

from flexilims.store import Actor, Operation

#: Who the benchmarks' entities are created by.
BENCH = Actor(username="bench", full_name="bench", is_admin=True)

#: Rows per transaction.
CHUNK = 20_000


def insert(store, rows: list[dict]) -> None:
    """Create entities from rows with ``id``, ``project_id``, ``type``,
    ``name``, ``attributes`` and ``origin_id`` (parents before children)."""
    for start in range(0, len(rows), CHUNK):
        store.apply(
            BENCH,
            [
                Operation(
                    index=index,
                    op="create",
                    type=row["type"],
                    name=row["name"],
                    project_id=row["project_id"],
                    origin_id=row["origin_id"],
                    attributes=row["attributes"],
                    kept={"id": row["id"]},
                    check_settings=False,
                )
                for index, row in enumerate(rows[start : start + CHUNK])
            ],
        )
