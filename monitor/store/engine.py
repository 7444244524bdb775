"""Database engines: SQLite in WAL mode with immediate write locks, or any URL SQLAlchemy knows.

Migrations are explicit (`mention-monitor migrate`). Opening a database only checks that its
schema is the one this version needs: an embedded SQLite database that is empty or behind is
brought up to date there and then (one box, one program: nothing else can be running an older
version against it); a PostgreSQL database that is behind is refused with a one-line error, since
other processes may share it and the upgrade is an operator's step (compose runs `migrate` once).

A full disk becomes `StoreFull`, one line for the person running the service: SQLite rolls back
the write it refused, so nothing stored before is lost, and the next write retries.
"""

from __future__ import annotations

import errno
import sqlite3
from functools import cache
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Insert, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(Exception):
    """The database cannot be used right now; the message is one line for a person."""


class StoreFull(StoreError):
    """The disk (or the database's size limit) is full: no write can be stored until space is
    freed. Earlier data is intact, and the service retries on its next tick."""


def _is_full(exc: BaseException | None) -> bool:
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
            "database or disk is full" in str(exc)
        )
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _full_message(where: str) -> str:
    return (
        f"the database is full: no space left on the disk holding {where} "
        "(free some space; nothing stored before is lost, and the service retries)"
    )


def upsert_insert(session: Session, table: Table) -> Any:
    """The dialect's own INSERT for `table` (SQLite >= 3.24 or PostgreSQL), the one that has
    `on_conflict_do_nothing()` / `on_conflict_do_update()`: the store's bulk writes use it."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"bulk insert on {dialect}")  # pragma: no cover


def insert_ignoring_conflicts(session: Session, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING (SQLite >= 3.24, PostgreSQL): a row that breaks a unique
    key is skipped, not an error, and RETURNING lists only the rows that went in."""
    return cast(Insert, upsert_insert(session, table).on_conflict_do_nothing())


def insert_if_new(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row; False (nothing written) when it breaks a unique key: the database settles
    the race in one statement, without a check query, a savepoint or an ORM flush."""
    # RETURNING, not rowcount: the PostgreSQL driver reported a skipped row as inserted.
    key = next(iter(table.primary_key.columns))
    stmt = insert_ignoring_conflicts(session, table).values(values).returning(key)
    return session.execute(stmt).first() is not None


# Execution option of the engine behind Store.reading(): its SQLite transactions begin DEFERRED.
READ_ONLY = "monitor_read_only"


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below): pysqlite's implicit transactions upgrade read locks
        # to write locks mid-transaction, which deadlocks concurrent writers.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A transaction that only reads (Store.reading) needs no write lock: in WAL mode it reads
        # a snapshot beside the writer instead of queueing behind every other worker's writes.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "handle_error")
    def _on_error(ctx: Any) -> None:
        # Every statement, commit and connect (the WAL pragma included) comes through here.
        exc = ctx.original_exception
        info = ctx.connection.info if ctx.connection is not None else {}
        if _is_full(exc):
            info["disk_full"] = True
        elif not (info.get("disk_full") and "no such savepoint" in str(exc)):
            return
        # SQLite rolls the whole transaction back on SQLITE_FULL, so the savepoint's own
        # rollback then fails too: that is the same full disk, not a second problem.
        raise StoreFull(_full_message(url.database or "the database")) from exc

    return engine


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class SchemaNotCurrent(Exception):
    """The database's schema is not the one this version of the program needs."""


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_sqlite(engine: Engine) -> bool:
    return engine.url.get_backend_name() == "sqlite"


def ensure_current(engine: Engine) -> None:
    """Return when the schema is current; migrate an embedded SQLite database; else refuse."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if is_sqlite(engine):
        migrate(engine)
        return
    raise SchemaNotCurrent(
        f"the database schema is at {current or 'nothing (empty database)'}, this version needs "
        f"{head}: run `mention-monitor migrate` first"
    )
