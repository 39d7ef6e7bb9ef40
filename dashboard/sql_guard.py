"""The Explore page's read-only guard: one SELECT/WITH/SHOW/DESCRIBE statement, nothing else.

It exists to give analysts a clear message before a query reaches the warehouse; the warehouse
enforces read-only itself (the gateway's sandbox, or the analyst profile on a ClickHouse server).
It reads the SQL with the gateway's lexer (``pipeline.warehouse.gateway_sql``), which sees
statements as ClickHouse does: keywords and ``;`` inside strings (``'...'``, ``$$...$$``), quoted
identifiers and comments do not count.
"""

from __future__ import annotations

from itertools import pairwise

from pipeline.warehouse.gateway_sql import SqlError, tokens

ALLOWED_STATEMENTS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC")


class QueryRejected(ValueError):
    """The query is not a single read-only statement; the message says what is allowed."""


def check_readonly(sql: str) -> str:
    """Return the one statement in ``sql`` (trailing ``;`` dropped) or raise QueryRejected."""
    raw = sql.encode("utf-8")
    try:
        toks = list(tokens(raw))
    except SqlError as exc:
        raise QueryRejected(f"This query cannot be read: {exc} (at character {exc.at}).") from None
    ends = [i for i, t in enumerate(toks) if t.kind == "punct" and t.text == b";"]
    if ends:
        if any(not (t.kind == "punct" and t.text == b";") for t in toks[ends[0] :]):
            raise QueryRejected("Run one statement at a time (remove everything after the `;`).")
        raw = raw[: toks[ends[0]].start]
        toks = toks[: ends[0]]
    words = [t for t in toks if t.kind == "word"]
    if not words:
        raise QueryRejected("Write a query first, e.g. `SELECT count() FROM buzz.mentions FINAL`.")
    keyword = words[0].upper
    if keyword not in ALLOWED_STATEMENTS:
        raise QueryRejected(
            f"This page only reads: {keyword} is not allowed. Use SELECT, WITH, SHOW or "
            "DESCRIBE; changes to the warehouse go through `buzz migrate` and the pipeline."
        )
    if any(a.upper == "INTO" and b.upper == "OUTFILE" for a, b in pairwise(words)):
        raise QueryRejected("INTO OUTFILE is not allowed here; use the CSV download instead.")
    return raw.decode("utf-8").strip()
