"""The chDB side of the gateway: connections, sessions, settings and statement execution.

Concurrency (measured with chdb-core 26.9, and what chDB documents for ``chdb.state.connect``):
one process hosts one engine; any number of connections to it may be open, each with its own
session state (``USE``, ``SET``), and queries on *different* connections run in parallel (two
``SELECT sleep(1)`` on two threads took 1.0 s in total). A single connection must not run two
queries at once. So every request gets a connection of its own: a fresh one (0.2 ms to open,
closed after the request, so no state leaks between clients) or, for an HTTP ``session_id``, the
session's connection, used by one request at a time (a second concurrent request gets
ClickHouse's SESSION_IS_LOCKED, as from a real server). A root connection stays open for the
process's lifetime so the engine is never shut down between requests.

Per-request settings from the URL are applied with ``SET`` on the request's connection; on a
session connection the previous values are restored afterwards, so URL settings apply to one
query as in ClickHouse. Every method here blocks and is meant to run in a worker thread.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chdb import state as chdb_state

from pipeline.warehouse.gateway_errors import (
    BAD_ARGUMENTS,
    READONLY,
    SESSION_IS_LOCKED,
    SESSION_NOT_FOUND,
    TOO_MANY_SIMULTANEOUS_QUERIES,
    ClickHouseError,
)
from pipeline.warehouse.gateway_sql import InsertSplit, quote_string

log = logging.getLogger(__name__)

MAX_SESSIONS = 256
# Users whose every request runs with readonly=2 (SELECT and per-query settings, no writes/DDL).
READ_ONLY_USERS = frozenset({"analyst"})
MAX_SESSION_TIMEOUT = 3600.0
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Names chDB's Python wrapper turns into Python objects instead of bytes; never valid over HTTP.
_PYTHON_ONLY_FORMATS = {"dataframe", "datastore", "arrowtable", "debug"}


@dataclass
class Statement:
    """One request, ready to run: either SQL text or an INSERT reading a spooled data file."""

    sql: str = ""
    insert: InsertSplit | None = None
    spool_path: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    database: str | None = None
    default_format: str = "TabSeparated"
    session_id: str | None = None
    session_timeout: float = 60.0
    session_check: bool = False
    read_only: bool = False  # GET requests and read-only users' requests
    keyword: str = ""  # first keyword of the SQL, upper-case
    user: str = "default"  # who asked (basic auth, X-ClickHouse-User or ``user``)


@dataclass
class Outcome:
    body: bytes
    rows_read: int = 0
    bytes_read: int = 0
    rows_written: int = 0
    bytes_written: int = 0
    elapsed: float = 0.0


@dataclass
class _Session:
    conn: Any
    timeout: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    database: str | None = None  # tracked so a per-query ``database`` can be undone


class Engine:
    """Owns the chDB data directory for this process."""

    def __init__(self, data_dir: Path, readonly: bool = False) -> None:
        self.data_dir = data_dir
        self.readonly = readonly
        self._path = str(data_dir)
        self._root: Any = None
        self._sessions: dict[str, _Session] = {}
        self._sessions_lock = threading.Lock()
        self.version = ""
        self.timezone = "UTC"

    # Life cycle ---------------------------------------------------------------------------
    def open(self) -> None:
        # mode=ro starts the engine with readonly=2: writes and DDL are refused by chDB itself,
        # per-query settings (what clickhouse-connect sends) stay allowed.
        self._root = chdb_state.connect(self._path + ("?mode=ro" if self.readonly else ""))
        row = bytes(self._root.query("SELECT version(), timezone()", "TabSeparated").bytes())
        self.version, self.timezone = row.decode().strip().split("\t")

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for s in sessions:
            _close(s.conn)
        if self._root is not None:
            _close(self._root)
            self._root = None

    def expire_sessions(self) -> int:
        """Close sessions idle for longer than their timeout; returns how many."""
        now = time.monotonic()
        expired: list[_Session] = []
        with self._sessions_lock:
            for sid, s in list(self._sessions.items()):
                if now - s.last_used > s.timeout and not s.lock.locked():
                    expired.append(self._sessions.pop(sid))
        for s in expired:
            _close(s.conn)
        return len(expired)

    # Execution ----------------------------------------------------------------------------
    def execute(self, st: Statement) -> Outcome:
        if st.default_format.lower() in _PYTHON_ONLY_FORMATS:
            raise ClickHouseError.make(73, f"Unknown format {st.default_format}")
        if st.session_id:
            session = self._session(st)
            if not session.lock.acquire(blocking=False):
                raise ClickHouseError.make(
                    SESSION_IS_LOCKED,
                    f"Session {st.session_id} is locked by a concurrent client",
                )
            try:
                return self._run_in_session(session, st)
            finally:
                session.last_used = time.monotonic()
                session.lock.release()
        conn = self._connect(read_only=st.read_only or st.user in READ_ONLY_USERS)
        try:
            if st.database:
                _run(conn, f"USE {_ident(st.database)}")
            for name, value in st.settings.items():
                _run(conn, f"SET {_setting(name)} = {quote_string(value)}")
            return self._run_statement(conn, st)
        finally:
            _close(conn)

    def _run_in_session(self, s: _Session, st: Statement) -> Outcome:
        previous = self._snapshot(s.conn, st.settings) if st.settings else []
        old_db = s.database
        try:
            if st.database and st.database != s.database:
                _run(s.conn, f"USE {_ident(st.database)}")
            for name, value in st.settings.items():
                _run(s.conn, f"SET {_setting(name)} = {quote_string(value)}")
            outcome = self._run_statement(s.conn, st)
            if st.keyword == "USE":
                old_db = _current_database(s.conn)  # the session itself moved on
            return outcome
        finally:
            # Undo this query's URL settings and database; the session keeps only its own SETs.
            for name, value, changed in previous:
                sql = f"SET {name} = {quote_string(value) if changed else 'DEFAULT'}"
                _run_quietly(s.conn, sql)
            if st.database and old_db and _current_database(s.conn) != old_db:
                _run_quietly(s.conn, f"USE {_ident(old_db)}")
            s.database = old_db

    def _run_statement(self, conn: Any, st: Statement) -> Outcome:
        if st.insert is not None and st.spool_path is not None:
            sql = st.insert.from_file(st.spool_path)
        else:
            sql = st.sql
        try:
            result = conn.query(sql, st.default_format, params=st.params or None)
        except Exception as exc:
            raise self._translate(exc, st.user) from None
        return Outcome(
            body=result.bytes(),
            rows_read=int(result.rows_read()),
            bytes_read=int(result.bytes_read()),
            rows_written=int(result.rows_written()),
            bytes_written=int(result.bytes_written()),
            elapsed=float(result.elapsed()),
        )

    def _translate(self, exc: BaseException, user: str = "default") -> ClickHouseError:
        err = ClickHouseError.from_chdb(exc)
        if err.code == READONLY and (self.readonly or user != "default"):
            # ClickHouse names the user here; chDB always says "default". The read-only process
            # is "buzz.readonly"; otherwise name the user who asked (e.g. analyst).
            who = "buzz.readonly" if self.readonly else user
            err = ClickHouseError(err.code, err.message.replace("default: ", f"{who}: ", 1))
        return err

    # Connections and sessions -------------------------------------------------------------
    def _connect(self, read_only: bool = False) -> Any:
        if self._root is None:
            raise ClickHouseError.make(210, "The warehouse is shutting down")
        suffix = "?readonly=2" if (read_only or self.readonly) else ""
        try:
            return chdb_state.connect(self._path + suffix)
        except Exception as exc:
            raise ClickHouseError.from_chdb(exc) from None

    def _session(self, st: Statement) -> _Session:
        assert st.session_id is not None
        # Sessions belong to a user, as in ClickHouse: the same session_id sent by another user
        # is another session, so an analyst can never borrow a writer's read-write connection.
        key = f"{st.user}\0{st.session_id}"
        with self._sessions_lock:
            s = self._sessions.get(key)
            if s is not None:
                s.timeout = st.session_timeout
                return s
            if st.session_check:
                raise ClickHouseError.make(SESSION_NOT_FOUND, f"Session {st.session_id} not found")
            if len(self._sessions) >= MAX_SESSIONS:
                raise ClickHouseError.make(
                    TOO_MANY_SIMULTANEOUS_QUERIES,
                    f"Too many open sessions ({MAX_SESSIONS}); close some or wait for them to "
                    "time out",
                )
            s = _Session(self._connect(read_only=st.user in READ_ONLY_USERS), st.session_timeout)
            s.database = "default"
            self._sessions[key] = s
            return s

    @staticmethod
    def _snapshot(conn: Any, settings: dict[str, str]) -> list[tuple[str, str, bool]]:
        names = ", ".join(quote_string(_setting(n)) for n in settings)
        sql = f"SELECT name, value, changed FROM system.settings WHERE name IN ({names})"
        rows = _run(conn, sql, "JSONCompactEachRow").decode().splitlines()
        out = []
        for line in rows:
            name, value, changed = _json_row(line)
            out.append((str(name), str(value), bool(int(changed))))
        return out


def _json_row(line: str) -> list[Any]:
    return list(json.loads(line))


def _run(conn: Any, sql: str, fmt: str = "TabSeparated") -> bytes:
    try:
        return bytes(conn.query(sql, fmt).bytes())
    except Exception as exc:
        raise ClickHouseError.from_chdb(exc) from None


def _run_quietly(conn: Any, sql: str) -> None:
    try:
        conn.query(sql, "TabSeparated")
    except Exception as exc:  # restoring state must not hide the query's own outcome
        log.warning("could not restore session state (%s): %s", sql.split("=")[0], exc)


def _current_database(conn: Any) -> str:
    return _run(conn, "SELECT currentDatabase()").decode().strip()


def _close(conn: Any) -> None:
    try:
        conn.close()
    except Exception as exc:  # closing is best effort; the engine outlives this connection
        log.debug("closing a chDB connection failed: %s", exc)


def _setting(name: str) -> str:
    if not _SETTING_NAME.match(name):
        raise ClickHouseError.make(BAD_ARGUMENTS, f"Invalid setting name {name!r}")
    return name


def _ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"
