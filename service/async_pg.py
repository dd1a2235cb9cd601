"""PostgreSQL on the event loop, for hot routes of one or two statements: psycopg's own async
connection pool (`psycopg_pool.AsyncConnectionPool`), opened in the worker that serves.

Why: a synchronous SQLAlchemy call has to leave the event loop for the thread pool. Profiled
under wrk, a lookup on two workers spent more CPU handing requests between the loop and pool
threads (and those threads handing the interpreter lock to each other) than on its own work;
a statement awaited on the loop costs neither. Everything else keeps SQLAlchemy: this is only for
routes whose every statement is already one round trip (register_stub/loop_routes.py).

The pool opens on first use, inside the running loop (`mynacard serve --workers N` builds each
worker's app before its loop runs, and a pool belongs to one loop). Connections are in autocommit,
so one statement is one transaction, and psycopg prepares a statement on the server once a
connection has run it `PREPARE_AFTER` times. As the synchronous pools do (service/db.py), a
connection that sat idle longer than `db.PING_IDLE_SECONDS` is pinged before use, so one the server
closed (a restart, an idle timeout) is replaced instead of failing a request.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import ClauseElement
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.engine import make_url

from mynacard.service import db

#: Connections per worker process. Few: a statement holds its connection for one round trip, and
#: more backends than cores only take turns on them — measured with wrk on 2 cores and 2 workers,
#: 4 each served ~10 % more lookups (and 方法2 ~18 %) than 16, with a far shorter tail at the
#: maximum; requests beyond them wait for a connection in the pool, in order.
POOL_SIZE = 4
#: Server-side prepared after this many runs on a connection (psycopg's default is 5).
PREPARE_AFTER = 1
#: How long a request waits for a free connection (or for a down server) before it is refused.
WAIT_SECONDS = 10.0


def libpq_url(sqlalchemy_url: str) -> str:
    """The libpq connection URI of a SQLAlchemy PostgreSQL URL (`postgresql+psycopg://…`)."""
    url = make_url(sqlalchemy_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("an async PostgreSQL pool needs a PostgreSQL URL")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


#: When each pooled connection last finished a statement (noted by `rows`, not by a pool `reset`
#: callback: with one, psycopg_pool hands every returning connection to a background task).
_returned: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()


def postgres_sql(statement: ClauseElement) -> str:
    """The SQL of a SQLAlchemy statement as psycopg runs it on PostgreSQL (`%(name)s` parameters for
    its bound parameters): one definition of a query for both ways of running it."""
    return str(statement.compile(dialect=psycopg_dialect.dialect()))


async def _configure(connection: AsyncConnection[Any]) -> None:
    connection.prepare_threshold = PREPARE_AFTER
    await connection.set_autocommit(True)


async def _check_when_idle(connection: AsyncConnection[Any]) -> None:
    """Raise for a connection that sat idle and does not answer: the pool then takes another."""
    if time.monotonic() - _returned.get(connection, 0.0) > db.PING_IDLE_SECONDS:
        await connection.execute("SELECT 1")


class Statements:
    """Statements on one pooled connection, each its own transaction (autocommit)."""

    def __init__(self, connection: AsyncConnection[Any]) -> None:
        self._connection = connection

    async def rows(self, query: str, params: Mapping[str, Any]) -> Sequence[Any]:
        """Run `query` (psycopg's `%(name)s` parameters); its rows, as named tuples."""
        cursor = self._connection.cursor(row_factory=namedtuple_row)
        await cursor.execute(query, params)
        rows = await cursor.fetchall()
        _returned[self._connection] = time.monotonic()
        return rows


class AsyncStatements:
    """Statements on an async pool of one database."""

    def __init__(self, sqlalchemy_url: str, size: int = POOL_SIZE) -> None:
        self._conninfo = libpq_url(sqlalchemy_url)
        self._size = size
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] | None = None
        self._opening = asyncio.Lock()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Statements]:
        """One pooled connection for a request's statements (one checkout, however many)."""
        pool = self._pool or await self._open()
        async with pool.connection(timeout=WAIT_SECONDS) as connection:
            yield Statements(connection)

    async def rows(self, query: str, params: Mapping[str, Any]) -> Sequence[Any]:
        """Run `query` as its own transaction on a pooled connection; its rows, as named tuples."""
        async with self.connection() as statements:
            return await statements.rows(query, params)

    async def _open(self) -> AsyncConnectionPool[AsyncConnection[Any]]:
        async with self._opening:
            if self._pool is None:
                pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
                    self._conninfo, min_size=1, max_size=self._size, open=False, configure=_configure,
                    check=_check_when_idle, timeout=WAIT_SECONDS, name="hot-routes")
                await pool.open()
                self._pool = pool
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
