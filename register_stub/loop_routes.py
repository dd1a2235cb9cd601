"""Lookup and 方法2 on PostgreSQL without a standby, answered on the event loop: what
register_stub/fast_routes.py serves there.

Why: with the framework gone, a lookup's cost was the thread pool — each request handed from the
event loop to a pool thread and back, the threads passing the interpreter lock between them —
and three round trips. Here the caller's token check, the read and the access record of a lookup
are one statement (`LOOKUP`), and 方法2's are two (`METHOD2_READ`, then the record with the
outcome the comparison decided in Python), all awaited on the loop (service/async_pg.py).
Measured with wrk (docs/scale.md): 2 workers went from ~900 to ~3,000 lookups/s.

The work is the routes' own: the same record values (`access.record_values`), the same
comparison (`method2.compare`), the same answers (`lookup.answer`, `method2.shown`), and
method2's read is its own query (`method2.current_record`) compiled for PostgreSQL. Refusals are
passed on to the framework's route as `FastRoutes` passes them: an unknown token or one of a role
the route does not admit (the statement returns no row and writes nothing), a body that does not
validate, and also a number that fails its check digit or a fact that cannot be read, which the
framework refuses after its token check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from psycopg import Error as PostgresError
from psycopg_pool import PoolTimeout
from sqlalchemy import bindparam
from starlette.responses import Response

from mynacard.register_stub import lookup, method2
from mynacard.register_stub.access import RECORD_INSERT, record_values
from mynacard.register_stub.errors_api import database_error_response
from mynacard.register_stub.models import AccessRecord, MyNumber, Resident, api_tokens
from mynacard.service.async_pg import AsyncStatements, postgres_sql
from mynacard.service.auth import Caller, digest
from mynacard.service.errors import ApiError, error_response
from mynacard.service.fast_paths import Answerer, Scope, parsed

#: The caller: the holder of the token digest, if its role is one the route admits.
CALLER = f"caller AS (SELECT name, role FROM {api_tokens.name} WHERE digest = %(digest)s AND role = ANY(%(roles)s))"  # noqa: S608

#: `lookup.lookup` with the token check before it, in one statement: one round trip and one
#: transaction. The holder of the number is read as `numbers.holder_of_number` reads it; the access
#: record is written only when there is a caller, whether or not a record holds the number. One
#: row back: the caller was admitted (the holder's code and status, NULL when none); no row: the
#: token is unknown or not admitted, and nothing was written.
LOOKUP = f"""
WITH {CALLER}, holder AS (
    SELECT resident.resident_code, resident.status
    FROM {MyNumber.__tablename__} AS held
    JOIN {Resident.__tablename__} AS resident ON resident.resident_code = held.resident_code
    WHERE held.number = %(number)s AND held.retired_at IS NULL AND EXISTS (SELECT FROM caller)
), recorded AS (
    INSERT INTO {AccessRecord.__tablename__} (resident_code, at, actor, role, action, purpose, items, outcome)
    SELECT (SELECT resident_code FROM holder), %(at)s, caller.name, caller.role, %(action)s, %(purpose)s,
           %(items)s, CASE WHEN EXISTS (SELECT FROM holder) THEN %(found)s ELSE %(not_found)s END
    FROM caller
    RETURNING id
)
SELECT holder.resident_code, holder.status, (SELECT count(*) FROM recorded) AS recorded
FROM caller LEFT JOIN holder ON true
"""  # noqa: S608 - only the models' table names are formatted in; every value is a parameter

#: The caller and `method2.current_record` in one statement: no row for a caller not admitted; else
#: the caller's name and role with the record's columns (NULL when no current record holds it).
METHOD2_READ = f"""
WITH {CALLER}
SELECT caller.name AS caller_name, caller.role AS caller_role, record.*
FROM caller LEFT JOIN ({postgres_sql(method2.current_record(bindparam("number")))}) AS record ON true
"""  # noqa: S608 - the SQL of the models' own query; every value is a parameter

RECORD = postgres_sql(RECORD_INSERT)


class LoopRoutes:
    """Lookup and 方法2 on one PostgreSQL database, given the roles each path admits."""

    def __init__(self, database_url: str, roles: Mapping[str, Iterable[str]]) -> None:
        self.statements = AsyncStatements(database_url)
        self.roles = {path: sorted(admitted) for path, admitted in roles.items()}

    def answerer(self, path: str) -> Answerer:
        return {"/v1/lookup": self.lookup, "/v1/method2": self.method2}[path]

    async def close(self) -> None:
        await self.statements.close()

    async def lookup(self, scope: Scope, body: bytes) -> Response | None:
        request = parsed(scope, body, lookup.LookupIn)
        if request is None:
            return None
        token, query = request
        try:
            number = method2.checked_my_number(query.my_number)
        except ApiError:
            return None
        try:
            rows = await self.statements.rows(LOOKUP, {
                "digest": digest(token), "roles": self.roles["/v1/lookup"], "number": number, "at": datetime.now(UTC),
                "action": lookup.ACTION, "purpose": query.purpose, "items": lookup.ITEMS, "found": lookup.FOUND,
                "not_found": lookup.NOT_FOUND})
        except (PostgresError, PoolTimeout) as exc:
            return database_error_response(exc)
        if not rows:
            return None
        holder = rows[0]
        try:
            found = lookup.answer(None if holder.resident_code is None else (holder.resident_code, holder.status))
        except ApiError as exc:
            return error_response(exc.status, exc.error, exc.detail, exc.headers)
        return Response(found.model_dump_json().encode(), media_type="application/json")

    async def method2(self, scope: Scope, body: bytes) -> Response | None:
        request = parsed(scope, body, method2.Method2Query)
        if request is None:
            return None
        token, query = request
        try:
            number, wanted = method2.understood(query)
        except ApiError:
            return None
        at = datetime.now(UTC)
        try:
            async with self.statements.connection() as statements:
                rows = await statements.rows(METHOD2_READ, {
                    "digest": digest(token), "roles": self.roles["/v1/method2"], "number": number})
                if not rows:
                    return None
                row = rows[0]
                caller = Caller(row.caller_name, row.caller_role)
                code, answer = method2.compare(None if row.resident_code is None else row, wanted)
                recorded = await statements.rows(RECORD, record_values(
                    caller, code, method2.ACTION, query.purpose, method2.RECORD_ITEMS, answer.result, at))
        except (PostgresError, PoolTimeout) as exc:
            return database_error_response(exc)
        answer = method2.shown(answer, query, caller, recorded[0].id, at)
        return Response(answer.model_dump_json(exclude_none=True).encode(), media_type="application/json")
