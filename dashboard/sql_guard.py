"""The Explore page's read-only guard: one SELECT/WITH/SHOW/DESCRIBE statement, nothing else.

It exists to give analysts a clear message before a query reaches the warehouse; the warehouse's
own ``readonly=2`` (sent with every Explore query) is what actually enforces it. So the guard
only needs to see statements as ClickHouse does in the ways that matter: keywords and ``;``
inside string literals, quoted identifiers and comments do not count.
"""

from __future__ import annotations

import re

ALLOWED_STATEMENTS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC")

_FIRST_WORD = re.compile(r"[A-Za-z_]+")
# Writes a file on the warehouse's machine even from a SELECT.
_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.IGNORECASE)


class QueryRejected(ValueError):
    """The query is not a single read-only statement; the message says what is allowed."""


def _mask(sql: str) -> str:
    """``sql`` with literals, quoted identifiers and comments blanked out, same length."""
    out = list(sql)
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            j = i + 1
            while j < n:
                if sql[j] == "\\":  # backslash escapes the next character
                    j += 2
                    continue
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:  # doubled quote escapes itself
                        j += 2
                        continue
                    break
                j += 1
            end = min(j + 1, n)
        elif sql.startswith(("--", "# ", "#!"), i):
            nl = sql.find("\n", i)
            end = n if nl < 0 else nl
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            end = n if close < 0 else close + 2
        else:
            i += 1
            continue
        out[i:end] = " " * (end - i)
        i = end
    return "".join(out)


def check_readonly(sql: str) -> str:
    """Return the one statement in ``sql`` (trailing ``;`` dropped) or raise QueryRejected."""
    masked = _mask(sql)
    first_semicolon = masked.find(";")
    if first_semicolon >= 0:
        if masked[first_semicolon:].replace(";", "").strip():
            raise QueryRejected("Run one statement at a time (remove everything after the `;`).")
        sql, masked = sql[:first_semicolon], masked[:first_semicolon]
    word = _FIRST_WORD.search(masked)
    if word is None:
        raise QueryRejected("Write a query first, e.g. `SELECT count() FROM buzz.mentions FINAL`.")
    keyword = word.group(0).upper()
    if keyword not in ALLOWED_STATEMENTS:
        raise QueryRejected(
            f"This page only reads: {keyword} is not allowed. Use SELECT, WITH, SHOW or "
            "DESCRIBE; changes to the warehouse go through `buzz migrate` and the pipeline."
        )
    if _OUTFILE.search(masked):
        raise QueryRejected("INTO OUTFILE is not allowed here; use the CSV download instead.")
    return sql.strip()
