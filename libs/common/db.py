"""The database layer: one MetaData for every table, async engines for PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import asyncpg
import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Insert,
    MetaData,
    Select,
    Table,
    Text,
    Update,
    any_,
    bindparam,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Declarative base of every laborwatch table; each service prefixes its own tables."""

    metadata = metadata


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware timestamp stored in UTC, read back aware on SQLite as well."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: laborwatch stores only timezone-aware times")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Create the async engine for a laborwatch database URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        # One connection, shared in turn: SQLite has one writer anyway, and many connections
        # would only spin on its lock. Transactions queue for the connection instead.
        engine = create_async_engine(
            url,
            connect_args={"timeout": 30},
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            hide_parameters=True,
            **_JSON_CODEC,
        )
        _serialise_sqlite_writes(engine)
        return engine
    # No pre-ping: it costs two round trips per checkout. A connection the server dropped fails
    # its first statement instead; SQLAlchemy then invalidates the pool, the request answers
    # 503 (or the consumer waits), and the next checkout connects afresh.
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, hide_parameters=True, **_JSON_CODEC
    )


def _private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner alone (0600) before SQLite opens it; its
    journal and WAL files take the same mode. It holds personal data, sealed or not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# Every engine is made with `hide_parameters=True`: a failing statement's message (and so any
# traceback logged) names the SQL, never the bound values, which hold personal data.

# JSON columns (regions, figures, timeline details, escalation chains …) through orjson: the
# standard library's codec showed in the profiles of the busiest loops.
_JSON_CODEC: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def _serialise_sqlite_writes(engine: AsyncEngine) -> None:
    # SQLite allows one writer. A deferred transaction that reads and then writes can fail at
    # once with "database is locked"; BEGIN IMMEDIATE takes the write lock up front instead, so
    # concurrent transactions wait their turn (busy timeout) rather than fail.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# session.info key: rows to insert and to update at commit (_AtCommit).
_AT_COMMIT = "db.at_commit"


@dataclass
class _AtCommit:
    # by table, in the order they were added
    inserts: dict[type[Base], list[dict[str, Any]]] = field(default_factory=dict)
    # by table, then primary key: the latest values
    updates: dict[Table, dict[Any, dict[str, Any]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.inserts or self.updates)


def _at_commit(session: AsyncSession) -> _AtCommit:
    sync = session.sync_session
    pending: _AtCommit | None = sync.info.get(_AT_COMMIT)
    if pending is None:
        pending = sync.info[_AT_COMMIT] = _AtCommit()
        event.listen(sync, "before_commit", _write_pending)
        event.listen(sync, "after_rollback", _drop_pending)
    return pending


def insert_at_commit(session: AsyncSession, table: type[Base], row: dict[str, Any]) -> None:
    """Insert a row when the session's transaction commits, in one statement with the other
    rows of its table (rolled back with the transaction, like any other change).

    For append-only rows a transaction writes many of and never reads back (outbox events,
    timeline entries): no ORM object, nor its unit-of-work cost, per row. The ORM's own changes
    are flushed first, so such a row may refer to a row the transaction added.
    """
    _at_commit(session).inserts.setdefault(table, []).append(row)


def update_at_commit(session: AsyncSession, table: Table, key: Any, values: dict[str, Any]) -> None:
    """Set columns of the row whose primary key is `key` when the transaction commits, in one
    statement with the table's other such rows, after the inserts; a row set twice keeps the
    later values. For a few columns of a row the transaction holds no ORM object of (a
    timeline's anchor): no object loaded to change them. Every call for a table sets the same
    columns."""
    _at_commit(session).updates.setdefault(table, {})[key] = values


async def insert_now(session: AsyncSession) -> None:
    """Insert now the rows kept for commit: for a query of the transaction that must see them
    (as the ORM flushes its own changes before a query)."""
    pending: _AtCommit | None = session.sync_session.info.get(_AT_COMMIT)
    if pending is not None and pending.inserts:
        await session.run_sync(_insert_pending)


def _insert_pending(session: Session) -> None:
    pending: _AtCommit = session.info[_AT_COMMIT]
    session.flush()
    for table, rows in pending.inserts.items():
        session.execute(_insert_of(table), rows)  # in order: ids follow the list
    pending.inserts.clear()


def _write_pending(session: Session) -> None:
    _insert_pending(session)
    pending: _AtCommit = session.info[_AT_COMMIT]
    for table, rows in pending.updates.items():
        if rows:
            columns = tuple(next(iter(rows.values())))
            session.execute(
                _update_of(table, columns), [{"_key": k, **values} for k, values in rows.items()]
            )
    pending.updates.clear()


@functools.cache
def _insert_of(table: type[Base]) -> Insert:
    """The INSERT of a table's rows: a Core executemany against the `Table`, not the mapped
    class (whose ORM bulk insert is compiled anew on every call); one statement object per
    table, so that even its cache key is computed once."""
    return insert(cast(Table, table.__table__))


@functools.cache
def _update_of(table: Table, columns: tuple[str, ...]) -> Update:
    """The UPDATE of some columns of a table's rows by primary key (bound as `_key`)."""
    (key,) = table.primary_key.columns
    return (
        update(table)
        .where(key == bindparam("_key"))
        .values({name: bindparam(name) for name in columns})
    )


def _drop_pending(session: Session) -> None:
    pending: _AtCommit = session.info[_AT_COMMIT]
    pending.inserts.clear()
    pending.updates.clear()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Create the session factory every service uses."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _on_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def claim(query: Select[Any], session: AsyncSession) -> Select[Any]:
    """Lock the rows a query selects, skipping rows another transaction holds (PostgreSQL).

    Several replicas then share a queue without taking the same row twice; the lock is the
    lease, and ends with the transaction. SQLite has one writer at a time: nothing to add.
    """
    if _on_postgresql(session):
        return query.with_for_update(skip_locked=True)
    return query


def one_of(column: ColumnElement[int], values: Sequence[int], session: AsyncSession) -> Any:
    """`column IN values` as one statement whatever the count: PostgreSQL gets the values as one
    array (`= ANY($1)`); an `IN` list would be a new prepared statement for each count."""
    if _on_postgresql(session):
        return column == any_(literal(list(values), ARRAY(BigInteger)))
    return column.in_(values)


async def take_turn(session: AsyncSession, name: str) -> bool:
    """Take the named turn until the transaction ends, if no other transaction has it
    (PostgreSQL's advisory lock: it writes nothing, so the transaction stays a reader).
    SQLite has one writer at a time: the turn is always there."""
    if not _on_postgresql(session):
        return True
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(func.hashtext(name)))))


def lock(query: Select[Any], session: AsyncSession) -> Select[Any]:
    """Lock the rows a query selects until the transaction ends, waiting for other holders."""
    if _on_postgresql(session):
        return query.with_for_update()
    return query


# SQLSTATE: class 08 is "connection exception"; 57P01-57P03 are shutdown and start-up.
_OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def is_database_outage(error: BaseException) -> bool:
    """Say whether a database error means the server is away (not that the query is wrong)."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.OperationalError):
        return True
    seen: BaseException | None = error
    for _ in range(8):  # the driver's error hangs under SQLAlchemy's, a few causes deep
        if seen is None:
            return False
        if isinstance(seen, OSError | asyncpg.exceptions.ConnectionDoesNotExistError):
            return True
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_OUTAGE_SQLSTATES):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def list_holds(column: Any, value: str) -> ColumnElement[bool]:
    """Say whether a JSON list of ids holds an id, on PostgreSQL and SQLite alike: the lists
    are written compact by orjson (`["a","b"]`), and an id holds no quote."""
    return sql_cast(column, Text).contains(f'"{value}"', autoescape=True)
