"""SQLite gradebooks shared by parallel graders.

SQLite lets one writer at a time; two connections that both read and then try
to write can deadlock, and SQLite then fails one of them at once with
"database is locked" (waiting would not help).  Starting every transaction
with BEGIN IMMEDIATE takes the write lock up front, so writers queue (for up
to the busy timeout) instead of failing.  This is SQLAlchemy's documented
recipe for pysqlite, applied to every engine created in this process.
"""
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 10 * 60 * 1000
_installed = False


def serialize_sqlite_writes() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, _record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
            dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    @event.listens_for(Engine, "begin")
    def _on_begin(connection):
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
