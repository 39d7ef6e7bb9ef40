"""Running one statement on a chDB connection: checks by chDB's own parser, then the query.

Before anything runs, chDB's parser classifies the text (``classify_query``): more than one
statement is refused for everyone (chDB would run them one after another, and even run the
first of two when the second does not parse), text that does not parse gets ClickHouse's own
syntax error from ``formatQuery`` (which parses without running), and a read-only user's
statement must be a read (or a ``SET``/``USE``, whose contents ``gateway_sandbox`` checked).

Results are either built whole (``wait_end_of_query=1``, what clickhouse-connect sends for
ordinary queries) or streamed block by block for formats whose blocks can be concatenated
(Native, TSV, CSV, JSONEachRow, RowBinary); an error after the first block then reaches the
client as ClickHouse's mid-stream exception block (``gateway_http``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.warehouse.gateway_errors import (
    READONLY,
    SYNTAX_ERROR,
    ClickHouseError,
)
from pipeline.warehouse.gateway_sql import SqlError, quote_string, tokens

log = logging.getLogger(__name__)

# Statements that answer with a result set although chDB does not class them as reads.
_RESULT_KEYWORDS = frozenset({"KILL", "CHECK", "BACKUP", "RESTORE", "WATCH"})
# Formats whose output for a whole result is the concatenation of the output for its blocks.
STREAMABLE_FORMATS = frozenset(
    {
        "native", "rowbinary", "tabseparated", "tsv", "tabseparatedraw", "tsvraw", "csv",
        "jsoneachrow", "jsoncompacteachrow", "jsonlines", "ndjson", "jsonstringseachrow",
        "jsoncompactstringseachrow",
    }
)  # fmt: skip
_READ = 0  # chDB's query_class values
_UNKNOWN = 4
_CONTROL = 3


@dataclass
class ExternalTable:
    """An external data table sent with a query (multipart file field), spooled to ``path``."""

    name: str
    structure: str
    fmt: str
    path: str


@dataclass
class Outcome:
    body: bytes
    rows_read: int = 0
    bytes_read: int = 0
    rows_written: int = 0
    bytes_written: int = 0
    elapsed: float = 0.0
    has_result: bool = True  # the statement answers with a result set (X-ClickHouse-Format)
    # Streamed results: ``body`` is the first block; ``more()`` gives the next (None at the end)
    # and ``close()`` must be called once, whatever happened.
    more: Callable[[], bytes | None] | None = None
    close: Callable[[], None] = field(default=lambda: None)


def raw(conn: Any) -> Any:
    """chDB's native connection: ``classify_query`` and streaming are only there."""
    return getattr(conn, "_conn", conn)


def check_parse(conn: Any, sql: bytes, keyword: str, sandboxed: bool, who: str) -> bool:
    """Refuse what must not run; returns whether the statement answers with a result set."""
    info = raw(conn).classify_query(sql)
    count, kind = int(info["statement_count"]), int(info["query_class"])
    if count > 1:
        raise ClickHouseError.make(SYNTAX_ERROR, "Multi-statements are not allowed")
    if kind == _UNKNOWN or count == 0:
        raise syntax_error(conn, sql)
    if sandboxed and not (kind == _READ or (kind == _CONTROL and keyword in ("SET", "USE"))):
        raise ClickHouseError.make(READONLY, f"{who}: Cannot execute query in readonly mode")
    return kind == _READ or keyword in _RESULT_KEYWORDS


def syntax_error(conn: Any, sql: bytes) -> ClickHouseError:
    """ClickHouse's own message for text that does not parse, found without running it."""
    try:
        conn.query("SELECT formatQuery({q:String})", "TabSeparated", params={"q": sql.decode()})
    except UnicodeDecodeError:
        return ClickHouseError.make(SYNTAX_ERROR, "Syntax error: the query does not parse")
    except Exception as exc:
        err = ClickHouseError.from_chdb(exc)
        if err.code == SYNTAX_ERROR:
            return err
    return ClickHouseError.make(SYNTAX_ERROR, "Syntax error: the query does not parse")


def load_external(conn: Any, tables: list[ExternalTable]) -> None:
    for t in tables:
        name = ident(t.name)
        fmt = ident(t.fmt)
        run(conn, f"CREATE TEMPORARY TABLE {name} ({t.structure})")
        run(conn, f"INSERT INTO {name} FROM INFILE {quote_string(t.path)} FORMAT {fmt}")


def drop_external(conn: Any, tables: list[ExternalTable]) -> None:
    for t in tables:
        run_quietly(conn, f"DROP TEMPORARY TABLE IF EXISTS {ident(t.name)}")


def execute(
    conn: Any,
    sql: bytes | str,
    fmt: str,
    params: dict[str, str],
    stream: bool,
    translate: Callable[[BaseException], ClickHouseError],
) -> Outcome:
    """Run ``sql``; with ``stream``, return after the first block (see ``Outcome.more``)."""
    if not stream:
        try:
            result = conn.query(sql, fmt, params=params or None)
        except Exception as exc:
            raise translate(exc) from None
        return Outcome(
            body=bytes(result.bytes()),
            rows_read=int(result.rows_read()),
            bytes_read=int(result.bytes_read()),
            rows_written=int(result.rows_written()),
            bytes_written=int(result.bytes_written()),
            elapsed=float(result.elapsed()),
        )
    native = raw(conn)
    try:
        handle = native.send_query(sql, fmt, params=params or {})
    except Exception as exc:
        raise translate(exc) from None
    state = {"open": True}

    def fetch() -> bytes | None:
        if not state["open"]:
            return None
        try:
            chunk = native.streaming_fetch_result(handle)
        except Exception as exc:
            state["open"] = False
            raise translate(exc) from None
        data = bytes(chunk.bytes()) if chunk is not None else b""
        if not data:
            state["open"] = False
            return None
        return data

    def close() -> None:
        if state["open"]:
            state["open"] = False
            try:
                native.streaming_cancel_query(handle)
            except Exception as exc:  # the connection is closed next anyway
                log.debug("cancelling a streamed query failed: %s", exc)

    try:
        first = fetch()
    except BaseException:
        close()
        raise
    return Outcome(body=first or b"", more=fetch, close=close)


def run(conn: Any, sql: str, fmt: str = "TabSeparated") -> bytes:
    try:
        return bytes(conn.query(sql, fmt).bytes())
    except Exception as exc:
        raise ClickHouseError.from_chdb(exc) from None


def run_quietly(conn: Any, sql: str) -> None:
    try:
        conn.query(sql, "TabSeparated")
    except Exception as exc:  # restoring state must not hide the query's own outcome
        log.warning("could not restore session state (%s): %s", sql.split("=")[0], exc)


def ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def show_create_system(conn: Any, sql: bytes, fmt: str) -> Outcome | None:
    """``SHOW CREATE TABLE system.x``, which chDB cannot answer (system tables have no stored
    metadata there), rebuilt from system.columns and system.tables; None for anything else."""
    try:
        words = [t for t in tokens(sql) if t.text != b";"]
    except SqlError:
        return None
    names = [t.name for t in words]
    upper = [n.upper() for n in names]
    if upper[:2] != ["SHOW", "CREATE"]:
        return None
    rest = names[2:]
    if rest and rest[0].upper() in ("TABLE", "TEMPORARY"):
        rest = rest[1:]
    if len(rest) < 3 or rest[0] != "system" or words[len(names) - len(rest) + 1].text != b".":
        return None
    tail = [n.upper() for n in rest[3:]]
    if tail and tail[0] != "FORMAT":
        return None
    table = rest[2]
    try:
        statement = _rebuild_create(conn, table)
        # Parameter values are read in TSV's escaped form.
        escaped = statement.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
        result = conn.query("SELECT {s:String} AS statement", fmt, params={"s": escaped})
    except Exception as exc:  # the caller reports chDB's own error instead
        log.warning("could not rebuild SHOW CREATE for system.%s: %s", table, exc)
        return None
    return Outcome(body=bytes(result.bytes()))


def _rebuild_create(conn: Any, table: str) -> str:
    params = {"t": table}
    found = conn.query(
        "SELECT engine, comment FROM system.tables WHERE database = 'system' AND name = {t:String}",
        "JSONCompactEachRow", params=params,
    )  # fmt: skip
    rows = [json.loads(line) for line in bytes(found.bytes()).decode().splitlines()]
    if not rows:
        raise LookupError(table)
    engine, comment = rows[0]
    cols = conn.query(
        "SELECT name, type, comment FROM system.columns WHERE database = 'system' "
        "AND table = {t:String} ORDER BY position",
        "JSONCompactEachRow", params=params,
    )  # fmt: skip
    lines = []
    for line in bytes(cols.bytes()).decode().splitlines():
        name, type_, col_comment = json.loads(line)
        note = f" COMMENT {quote_string(col_comment)}" if col_comment else ""
        lines.append(f"    `{name}` {type_}{note}")
    text = f"CREATE TABLE system.{table}\n(\n" + ",\n".join(lines) + f"\n)\nENGINE = {engine}"
    return text + (f"\nCOMMENT {quote_string(comment)}" if comment else "")
