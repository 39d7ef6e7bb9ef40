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

Read-only users (``Statement.sandboxed``) get a readonly=2 connection that starts with the
sandbox's limits (``gateway_sandbox.Limits``) before their own settings are applied. The engine
runs with a small generated config (``gateway-config/`` in the data directory) that gives chDB's
single user access management, so ``SHOW POLICIES``, ``SHOW GRANTS`` and the like answer.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chdb import state as chdb_state

from pipeline.warehouse import gateway_exec as ex
from pipeline.warehouse.gateway_errors import (
    BAD_ARGUMENTS,
    READONLY,
    SESSION_IS_LOCKED,
    SESSION_NOT_FOUND,
    TOO_MANY_SIMULTANEOUS_QUERIES,
    UNKNOWN_TABLE,
    ClickHouseError,
)
from pipeline.warehouse.gateway_exec import ExternalTable, Outcome
from pipeline.warehouse.gateway_sandbox import Limits
from pipeline.warehouse.gateway_sql import InsertSplit, quote_string

log = logging.getLogger(__name__)

MAX_SESSIONS = 256
# Users whose every request is sandboxed (gateway_sandbox): readonly=2, limits, allow-lists.
READ_ONLY_USERS = frozenset({"analyst"})
MAX_SESSION_TIMEOUT = 3600.0
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Names chDB's Python wrapper turns into Python objects instead of bytes; never valid over HTTP.
_PYTHON_ONLY_FORMATS = {"dataframe", "datastore", "arrowtable", "debug"}
_CONFIG = """<clickhouse>
    <user_directories><users_xml><path>users.xml</path></users_xml></user_directories>
</clickhouse>
"""
# The one user chDB runs as; access_management lets SHOW POLICIES/GRANTS answer.
_USERS = """<clickhouse>
    <profiles><default/></profiles>
    <quotas><default/></quotas>
    <users>
        <default>
            <no_password/>
            <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
            <access_management>1</access_management>
        </default>
    </users>
</clickhouse>
"""


@dataclass
class Statement:
    """One request, ready to run: either SQL text or an INSERT reading a spooled data file."""

    sql: bytes = b""
    insert: InsertSplit | None = None
    spool_path: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    database: str | None = None
    default_format: str = "TabSeparated"
    output_format: str = "TabSeparated"  # the SQL's own FORMAT, else default_format
    session_id: str | None = None
    session_timeout: float = 60.0
    session_check: bool = False
    read_only: bool = False  # GET requests and sandboxed requests
    sandboxed: bool = False  # read-only users: gateway_sandbox applies
    stream: bool = False  # send blocks as they come (wait_end_of_query is not 1)
    keyword: str = ""  # first keyword of the SQL, upper-case
    user: str = "default"  # who asked (basic auth, X-ClickHouse-User or ``user``)
    external: list[ExternalTable] = field(default_factory=list)


@dataclass
class _Session:
    conn: Any
    timeout: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    database: str | None = None  # tracked so a per-query ``database`` can be undone


class Engine:
    """Owns the chDB data directory for this process."""

    def __init__(
        self, data_dir: Path, readonly: bool = False, limits: Limits | None = None
    ) -> None:
        self.data_dir = data_dir
        self.readonly = readonly
        self.limits = limits or Limits()
        self._path = str(data_dir)
        self._root: Any = None
        self._sessions: dict[str, _Session] = {}
        self._sessions_lock = threading.Lock()
        self.version = ""
        self.timezone = "UTC"
        self.table_functions: frozenset[str] = frozenset()

    # Life cycle ---------------------------------------------------------------------------
    def open(self) -> None:
        config = self.data_dir / "gateway-config"
        config.mkdir(exist_ok=True)
        (config / "config.xml").write_text(_CONFIG, "utf-8")
        (config / "users.xml").write_text(_USERS, "utf-8")
        # mode=ro starts the engine with readonly=2: writes and DDL are refused by chDB itself,
        # per-query settings (what clickhouse-connect sends) stay allowed.
        args = f"?config-file={config / 'config.xml'}" + ("&mode=ro" if self.readonly else "")
        self._root = chdb_state.connect(self._path + args)
        if not hasattr(ex.raw(self._root), "classify_query"):
            raise RuntimeError("this chDB cannot classify queries; install the pinned chdb-core")
        row = bytes(self._root.query("SELECT version(), timezone()", "TabSeparated").bytes())
        self.version, self.timezone = row.decode().strip().split("\t")
        names = ex.run(self._root, "SELECT name FROM system.table_functions").decode()
        self.table_functions = frozenset(names.split())

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
        """Run ``st``; a streamed outcome owns its connection until ``Outcome.close()``."""
        if st.default_format.lower() in _PYTHON_ONLY_FORMATS:
            raise ClickHouseError.make(73, f"Unknown format {st.default_format}")
        cleanup: list[Callable[[], None]] = []
        if st.session_id:
            session = self._session(st)
            if not session.lock.acquire(blocking=False):
                raise ClickHouseError.make(
                    SESSION_IS_LOCKED,
                    f"Session {st.session_id} is locked by a concurrent client",
                )

            def release() -> None:
                session.last_used = time.monotonic()
                session.lock.release()

            cleanup.append(release)
            conn = session.conn
        else:
            conn = self._connect(read_only=st.read_only or st.sandboxed)
            cleanup.append(lambda: _close(conn))
        try:
            if st.session_id:
                cleanup.insert(0, self._enter_session(session, st))
            else:
                if st.sandboxed:
                    self._apply(conn, self.limits.settings())
                if st.database:
                    ex.run(conn, f"USE {ex.ident(st.database)}")
                self._apply(conn, st.settings)
            if st.external:
                ex.load_external(conn, st.external)
                if st.session_id:
                    cleanup.insert(0, lambda: ex.drop_external(conn, st.external))
            outcome = self._run_statement(conn, st)
        except BaseException:
            _run_all(cleanup)
            raise
        if outcome.more is None:
            _run_all(cleanup)
            return outcome
        stream_close = outcome.close

        def close() -> None:
            try:
                stream_close()
            finally:
                _run_all(cleanup)

        outcome.close = close
        return outcome

    def _enter_session(self, s: _Session, st: Statement) -> Callable[[], None]:
        """Apply this query's database and URL settings; returns what undoes them."""
        previous = self._snapshot(s.conn, st.settings) if st.settings else []
        old_db = s.database
        if st.database and st.database != s.database:
            ex.run(s.conn, f"USE {ex.ident(st.database)}")
        try:
            self._apply(s.conn, st.settings)
        except BaseException:
            self._leave_session(s, st, previous, old_db)
            raise
        return lambda: self._leave_session(s, st, previous, old_db)

    def _leave_session(
        self, s: _Session, st: Statement, previous: list[tuple[str, str, bool]], old_db: str | None
    ) -> None:
        # Undo this query's URL settings and database; the session keeps only its own SETs.
        if st.keyword == "USE":
            old_db = _current_database(s.conn)  # the session itself moved on
        for name, value, changed in previous:
            sql = f"SET {name} = {quote_string(value) if changed else 'DEFAULT'}"
            ex.run_quietly(s.conn, sql)
        if st.database and old_db and _current_database(s.conn) != old_db:
            ex.run_quietly(s.conn, f"USE {ex.ident(old_db)}")
        s.database = old_db

    @staticmethod
    def _apply(conn: Any, settings: dict[str, str]) -> None:
        for name, value in settings.items():
            ex.run(conn, f"SET {_setting(name)} = {quote_string(value)}")

    def _run_statement(self, conn: Any, st: Statement) -> Outcome:
        def translate(exc: BaseException) -> ClickHouseError:
            return self._translate(exc, st.user)

        if st.insert is not None and st.spool_path is not None:
            outcome = ex.execute(
                conn, st.insert.from_file(st.spool_path), st.default_format, st.params, False,
                translate,
            )  # fmt: skip
            outcome.has_result = False
            return outcome
        who = self.who(st)
        has_result = ex.check_parse(conn, st.sql, st.keyword, st.sandboxed, who)
        stream = (
            st.stream
            and has_result
            and st.keyword in ("SELECT", "WITH")
            and st.output_format.lower() in ex.STREAMABLE_FORMATS
        )
        try:
            outcome = ex.execute(conn, st.sql, st.default_format, st.params, stream, translate)
        except ClickHouseError as err:
            rebuilt = None
            if err.code == UNKNOWN_TABLE and st.keyword == "SHOW":
                rebuilt = ex.show_create_system(conn, st.sql, st.output_format)
            if rebuilt is None:
                raise
            outcome = rebuilt
        outcome.has_result = has_result
        return outcome

    def who(self, st: Statement) -> str:
        """The user named in errors: ``buzz.readonly`` for a read-only process."""
        return "buzz.readonly" if self.readonly else st.user

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
        key = f"{st.user}\0{st.sandboxed}\0{st.session_id}"
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
            conn = self._connect(read_only=st.sandboxed)
            if st.sandboxed:
                try:
                    self._apply(conn, self.limits.settings())
                except BaseException:
                    _close(conn)
                    raise
            s = _Session(conn, st.session_timeout)
            s.database = "default"
            self._sessions[key] = s
            return s

    @staticmethod
    def _snapshot(conn: Any, settings: dict[str, str]) -> list[tuple[str, str, bool]]:
        names = ", ".join(quote_string(_setting(n)) for n in settings)
        sql = f"SELECT name, value, changed FROM system.settings WHERE name IN ({names})"
        rows = ex.run(conn, sql, "JSONCompactEachRow").decode().splitlines()
        out = []
        for line in rows:
            name, value, changed = _json_row(line)
            out.append((str(name), str(value), bool(int(changed))))
        return out


def _run_all(steps: list[Callable[[], None]]) -> None:
    for step in steps:
        try:
            step()
        except Exception as exc:  # every step must run; the query's own outcome wins
            log.warning("cleaning up after a request failed: %s", exc)


def _json_row(line: str) -> list[Any]:
    return list(json.loads(line))


def _current_database(conn: Any) -> str:
    return ex.run(conn, "SELECT currentDatabase()").decode().strip()


def _close(conn: Any) -> None:
    try:
        conn.close()
    except Exception as exc:  # closing is best effort; the engine outlives this connection
        log.debug("closing a chDB connection failed: %s", exc)


def _setting(name: str) -> str:
    if not _SETTING_NAME.match(name):
        raise ClickHouseError.make(BAD_ARGUMENTS, f"Invalid setting name {name!r}")
    return name
