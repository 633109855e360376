"""Idempotency keys of ``batch`` requests: a retry replays, it never re-applies.

A client that sends a batch and loses the reply (the connection broke, the
server was killed after the commit) cannot know whether it was applied. Sent
with a key of its choosing (the ``X-Flexilims-Idempotency-Key`` header), the
batch and its reply are written in ONE transaction; the same user sending the
same key with the same request within :data:`LIFETIME_MS` gets that reply
again, and nothing is applied twice. The same key with another request is
refused (:class:`~flexilims.errors.IdempotencyKeyReused`, HTTP 422).

Concurrent requests with one key are serialized by the key's row: the second
waits for the first's transaction, then replays its reply.
"""

import hashlib
import json
import re

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .. import protocol
from ..errors import BadRequest, IdempotencyKeyReused
from . import models as m
from .entities import now_ms

#: The request header of ours that carries the key.
HEADER = protocol.IDEMPOTENCY_HEADER
#: The reply header of ours that marks a replayed reply.
REPLAY_HEADER = protocol.REPLAY_HEADER
#: How long a key is remembered: a day.
LIFETIME_MS = 24 * 3600 * 1000
#: A key: 1 to 200 visible ASCII characters (a UUID fits well).
KEY = re.compile(r"^[\x21-\x7e]{1,200}$")

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def fingerprint(operation: str, params: dict, body) -> str:
    """A digest of a request: its operation, query parameters and JSON body
    (keys sorted, so that the same JSON written otherwise is the same)."""
    text = json.dumps(
        {"operation": operation, "params": params, "body": body},
        sort_keys=True,
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


class IdempotentRequest:
    """One keyed request, claimed and recorded in the caller's transaction.

    Parameters
    ----------
    username : str
        Who sends it: keys are per user.
    key : str
        The client's key.
    operation, params, body
        The request, to recognize a retry (see :func:`fingerprint`).

    Attributes
    ----------
    replayed : bool
        Whether :meth:`claim` found the reply of an earlier request.

    Raises
    ------
    BadRequest
        A key that is empty, too long or not visible ASCII.
    """

    def __init__(self, username: str, key: str, operation: str, params: dict, body):
        if not isinstance(key, str) or not KEY.match(key):
            raise BadRequest(
                f"{HEADER} must be 1 to 200 visible ASCII characters "
                "(a UUID, for example)."
            )
        self.username = username
        self.key = key
        self.fingerprint = fingerprint(operation, params, body)
        self.replayed = False

    def claim(self, conn: sa.Connection) -> dict | None:
        """Take the key in the write transaction ``conn``; the earlier reply
        if the key was taken already by the same request.

        Raises
        ------
        IdempotencyKeyReused
            The key was used (within a day) for another request.
        """
        table = m.idempotency_keys
        stamp = now_ms()
        conn.execute(table.delete().where(table.c.created_at <= stamp - LIFETIME_MS))
        insert = _INSERTS[conn.dialect.name](table).values(
            username=self.username,
            key=self.key,
            fingerprint=self.fingerprint,
            status=0,
            reply=None,
            created_at=stamp,
        )
        taken = conn.execute(
            insert.on_conflict_do_nothing().returning(table.c.key)
        ).first()
        if taken is not None:
            return None
        row = conn.execute(
            sa.select(table.c.fingerprint, table.c.status, table.c.reply).where(
                table.c.username == self.username, table.c.key == self.key
            )
        ).one()
        if row.fingerprint != self.fingerprint:
            raise IdempotencyKeyReused(
                f"The idempotency key {self.key} was used for another request "
                "within the last day: send a new key with a new request."
            )
        self.replayed = True
        return orjson.loads(row.reply)

    def record(self, conn: sa.Connection, reply: dict, status: int = 200) -> None:
        """Keep the reply in the same transaction as the writes it reports.

        A batch that wrote nothing (every creation skipped) keeps no key
        either: sent again, it writes nothing again, and a request that
        changes nothing leaves the database exactly as it was.
        """
        table = m.idempotency_keys
        mine = (table.c.username == self.username, table.c.key == self.key)
        if not (reply.get("created") or reply.get("updated")):
            conn.execute(table.delete().where(*mine))
            return
        conn.execute(
            table.update()
            .where(*mine)
            .values(status=status, reply=orjson.dumps(reply).decode())
        )
