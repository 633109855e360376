"""Mixed load against a real server: many clients reading and writing at
once, every acknowledged write remembered, so that a final count can prove
each is present exactly once. Used by ``tests/flexilims/server/test_load.py``
(a few seconds) and ``bench/bench_load.py`` (the full minute)."""

import random
import statistics
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests
import sqlalchemy as sa

from flexilims.store import models as m

#: What a client does, with its weight.
MIX = {
    "get": 30,
    "get-children": 10,
    "save": 20,
    "update-one": 20,
    "batch": 12,
    "authenticate": 8,
}
#: Creations per batch.
BATCH_SIZE = 5


@dataclass
class Figures:
    """What the load did and saw."""

    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    by_operation: Counter = field(default_factory=Counter)
    connection_errors: int = 0
    latencies: list = field(default_factory=list)
    created: dict = field(default_factory=dict)  # name -> id, acknowledged
    updates: dict = field(default_factory=dict)  # entity id -> last acknowledged n
    update_acks: int = 0
    unexpected: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def summary(self) -> str:
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000 if ordered else 0
        p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000 if ordered else 0
        return (
            f"{self.requests} requests in {self.seconds:.1f} s "
            f"({self.requests / max(self.seconds, 1e-9):.0f}/s), "
            f"statuses {dict(self.statuses)}, 5xx {self.server_errors}, "
            f"connection errors {self.connection_errors}, "
            f"median {p50:.1f} ms, p99 {p99:.1f} ms, "
            f"acknowledged creations {len(self.created)}, "
            f"acknowledged updates {self.update_acks}"
        )


def _client(number, base, project_id, user, password, deadline, figures, seed):
    rng = random.Random(seed)
    http = requests.Session()
    token = http.post(base + "authenticate", auth=(user, password), timeout=60).text
    http.headers["Authorization"] = f"Bearer {token}"
    own = http.post(
        base + "save",
        json={
            "type": "mouse",
            "name": f"c{number}",
            "project_id": project_id,
            "attributes": {"n": 0},
        },
        timeout=60,
    ).json()
    with figures.lock:
        figures.created[own["name"]] = own["id"]
        figures.updates[own["id"]] = 0
    operations, weights = zip(*MIX.items(), strict=True)
    step = 0
    while time.monotonic() < deadline:
        step += 1
        operation = rng.choices(operations, weights)[0]
        kwargs, made = {}, []
        if operation == "get":
            kwargs = {
                "params": {"type": "mouse", "project_id": project_id, "limit": "50"}
            }
        elif operation == "get-children":
            kwargs = {"params": {"id": own["id"]}}
        elif operation == "save":
            name = f"c{number}_s{step}"
            made = [name]
            kwargs = {
                "json": {
                    "type": "sample",
                    "name": name,
                    "project_id": project_id,
                    "origin_id": own["id"],
                    "attributes": {"step": step},
                }
            }
        elif operation == "update-one":
            kwargs = {
                "params": {"type": "mouse", "id": own["id"]},
                "json": {"attributes": {"n": step}},
            }
        elif operation == "batch":
            made = [f"c{number}_b{step}_{j}" for j in range(BATCH_SIZE)]
            kwargs = {
                "params": {"project_id": project_id},
                "json": {
                    "operations": [
                        {"type": "sample", "name": name, "origin_id": own["id"]}
                        for name in made
                    ]
                },
                "headers": {"X-Flexilims-Idempotency-Key": uuid.uuid4().hex},
            }
        method = {"get": "GET", "get-children": "GET", "update-one": "PUT"}.get(
            operation, "POST"
        )
        if operation == "authenticate":
            kwargs = {"auth": (user, password), "headers": {"Authorization": ""}}
        started = time.monotonic()
        try:
            reply = http.request(method, base + operation, timeout=120, **kwargs)
        except requests.ConnectionError:
            with figures.lock:
                figures.connection_errors += 1
            continue
        elapsed = time.monotonic() - started
        with figures.lock:
            figures.statuses[reply.status_code] += 1
            figures.by_operation[operation] += 1
            figures.latencies.append(elapsed)
            if reply.status_code != 200:
                figures.unexpected.append(
                    (operation, reply.status_code, reply.text[:300])
                )
                continue
            if operation == "save":
                figures.created[made[0]] = reply.json()["id"]
            elif operation == "batch":
                for result in reply.json()["results"]:
                    figures.created[result["name"]] = result["id"]
            elif operation == "update-one":
                figures.updates[own["id"]] = step
                figures.update_acks += 1


def run_load(base, project_id, users, clients, seconds, seed=0) -> Figures:
    """``clients`` threads, each as one of ``users`` ((name, password)
    pairs), for ``seconds``."""
    figures = Figures()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=_client,
            args=(
                n,
                base,
                project_id,
                *users[n % len(users)],
                deadline,
                figures,
                seed + n,
            ),
        )
        for n in range(clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures.seconds = time.monotonic() - started
    return figures


def verify(engine: sa.Engine, project_id: str, figures: Figures) -> dict:
    """Every acknowledged creation present exactly once (and nothing else),
    every entity's last acknowledged update in place; returns the counts."""
    e = m.entities
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(e.c.id, e.c.name, e.c.attributes).where(
                e.c.project_id == project_id
            )
        ).all()
    names = Counter(row.name for row in rows)
    by_id = {row.id: row for row in rows}
    missing = [name for name in figures.created if names[name] == 0]
    doubled = [name for name, n in names.items() if n > 1]
    unacknowledged = [name for name in names if name not in figures.created]
    wrong_ids = [
        n for n, i in figures.created.items() if i not in by_id or by_id[i].name != n
    ]
    stale = [
        entity_id
        for entity_id, n in figures.updates.items()
        if (by_id[entity_id].attributes or {}).get("n") != n
    ]
    return {
        "acknowledged": len(figures.created),
        "found": len(rows),
        "missing": missing,
        "doubled": doubled,
        "unacknowledged": unacknowledged,
        "wrong_ids": wrong_ids,
        "stale_updates": stale,
    }
