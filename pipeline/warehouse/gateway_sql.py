"""Just enough SQL lexing for the gateway to route a request; chDB does the real parsing.

The gateway must find a few things before chDB sees a statement: where an INSERT's inline data
starts (``INSERT INTO t (a, b) FORMAT Native\\n<binary>`` or ``... VALUES (1, 'x')``), which output
format a query asks for (for the response headers), whether a body holds more than one statement,
and the statement's first keyword (the read-only guard). A real parser is not needed for that, but
quotes, comments and parentheses must be respected so that ``'FORMAT'`` inside a string or
``format(...)`` the function never fool it. Everything here works on bytes, so binary insert data
after the SQL head is never decoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_$]*")
_NUMBER = re.compile(rb"[0-9][A-Za-z0-9_.]*")

# Statements a read-only gateway lets through; chDB's own readonly=2 check backs this up.
READ_ONLY_KEYWORDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS"})
# Statements that only change the state of the connection they run on.
SESSION_KEYWORDS = frozenset({"SET", "USE"})


class SqlError(ValueError):
    """The text cannot be routed (unterminated quote or comment, SQL head too long)."""


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "quoted", "string", "number", "punct"
    start: int
    end: int
    depth: int  # parenthesis depth before the token
    text: bytes

    @property
    def upper(self) -> str:
        return self.text.decode("ascii", "replace").upper() if self.kind == "word" else ""


def tokens(sql: bytes) -> Iterator[Token]:
    """Top-down tokens of ``sql``, skipping whitespace and comments.

    Raises ``SqlError`` on an unterminated string, quoted identifier or block comment; callers
    that lex only the head of a stream treat that as "need more bytes".
    """
    i, n, depth = 0, len(sql), 0
    while i < n:
        c = sql[i : i + 1]
        if c in (b" ", b"\t", b"\r", b"\n", b"\f", b"\v"):
            i += 1
        elif sql.startswith(b"--", i) or c == b"#":
            j = sql.find(b"\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith(b"/*", i):
            j = sql.find(b"*/", i + 2)
            if j < 0:
                raise SqlError("unterminated comment")
            i = j + 2
        elif c in (b"'", b'"', b"`"):
            j = i + 1
            while True:
                if j >= n:
                    raise SqlError("unterminated quote")
                ch = sql[j : j + 1]
                if ch == b"\\":
                    j += 2
                elif ch == c:
                    if sql[j + 1 : j + 2] == c:  # doubled quote is an escaped quote
                        j += 2
                    else:
                        break
                else:
                    j += 1
            kind = "string" if c == b"'" else "quoted"
            yield Token(kind, i, j + 1, depth, sql[i : j + 1])
            i = j + 1
        elif m := _WORD.match(sql, i):
            yield Token("word", i, m.end(), depth, m.group())
            i = m.end()
        elif m := _NUMBER.match(sql, i):
            yield Token("number", i, m.end(), depth, m.group())
            i = m.end()
        else:
            if c == b"(" or c == b"[":
                yield Token("punct", i, i + 1, depth, c)
                depth += 1
            elif c == b")" or c == b"]":
                depth = max(0, depth - 1)
                yield Token("punct", i, i + 1, depth, c)
            else:
                yield Token("punct", i, i + 1, depth, c)
            i += 1


def first_keyword(sql: bytes) -> str:
    """The statement's first keyword, upper-case (``(SELECT 1)`` gives ``SELECT``); "" if none."""
    for tok in tokens(sql):
        if tok.kind == "word":
            return tok.upper
        if tok.text != b"(":
            return ""
    return ""


@dataclass(frozen=True)
class InsertSplit:
    """An INSERT whose data follows the SQL head in the same stream."""

    head: str  # the statement up to (not including) FORMAT/VALUES
    fmt: str  # input format of the data ("Values" for a VALUES clause)
    data_start: int  # offset of the first data byte in the stream
    settings_at: int  # offset in head of a top-level SETTINGS clause, or len(head)

    def from_file(self, path: str) -> str:
        """The same INSERT reading its data from ``path`` (chDB's ``FROM INFILE``)."""
        before, after = self.head[: self.settings_at], self.head[self.settings_at :]
        fmt = self.fmt.replace("`", "")
        return f"{before.rstrip()} FROM INFILE {quote_string(path)} {after.strip()} FORMAT `{fmt}`"


def split_insert(stream_head: bytes, complete: bool) -> InsertSplit | None:
    """Find where an INSERT's inline data starts.

    ``stream_head`` is the first part of the request (query parameter + body); ``complete`` says
    whether it is the whole request. Returns None for anything that is not an INSERT carrying
    inline data (``INSERT ... SELECT``, other statements). Raises ``SqlError`` when the head is cut
    off before the data starts and more bytes are needed.
    """
    toks = tokens(stream_head)
    first = next(toks, None)
    if first is None or (first.end == len(stream_head) and not complete):
        if complete:
            return None
        raise SqlError("need more bytes")
    if first.upper != "INSERT":
        return None
    prev: Token | None = None
    settings_at: int | None = None
    try:
        for tok in toks:
            if tok.depth == 0 and tok.kind == "word":
                word = tok.upper
                if word == "SETTINGS" and settings_at is None:
                    settings_at = tok.start
                if word in ("SELECT", "WITH") and (prev is None or prev.upper != "FUNCTION"):
                    return None
                if word == "VALUES":
                    head = stream_head[: tok.start].decode("utf-8")
                    return InsertSplit(head, "Values", tok.end, _at(settings_at, head))
                if word == "FORMAT":
                    name = next(toks)
                    if name.kind not in ("word", "quoted"):
                        raise SqlError("expected a format name after FORMAT")
                    if name.end == len(stream_head) and not complete:
                        raise SqlError("need more bytes")
                    head = stream_head[: tok.start].decode("utf-8")
                    # Data starts after the first newline following the format name; blanks
                    # before it are skipped (ClickHouse's rule, so binary data may begin with
                    # bytes that look like whitespace).
                    j = name.end
                    while j < len(stream_head) and stream_head[j] in b" \t\r":
                        j += 1
                    if j < len(stream_head) and stream_head[j : j + 1] == b"\n":
                        j += 1
                    fmt = name.text.decode("utf-8").strip('`"')
                    return InsertSplit(head, fmt, j, _at(settings_at, head))
            prev = tok
    except StopIteration:
        raise SqlError("expected a format name after FORMAT") from None
    if not complete:
        raise SqlError("need more bytes")
    return None


def _at(settings_at: int | None, head: str) -> int:
    # Offsets are in bytes; the head before SETTINGS is ASCII-safe to re-measure as text.
    if settings_at is None:
        return len(head)
    return len(head.encode("utf-8")[:settings_at].decode("utf-8", "replace"))


def output_format(sql: bytes) -> str | None:
    """The format named by a query's own top-level ``FORMAT x`` clause, if any."""
    found: str | None = None
    prev: Token | None = None
    toks = list(tokens(sql))
    for idx, tok in enumerate(toks):
        if tok.depth == 0 and tok.upper == "FORMAT" and idx + 1 < len(toks):
            nxt = toks[idx + 1]
            if nxt.kind in ("word", "quoted") and (prev is None or prev.upper != "AS"):
                found = nxt.text.decode("utf-8").strip('`"')
        prev = tok
    return found


def is_multi_statement(sql: bytes) -> bool:
    """True when something other than comments follows a top-level ``;``."""
    seen_semicolon = False
    for tok in tokens(sql):
        if seen_semicolon and tok.text != b";":
            return True
        if tok.depth == 0 and tok.text == b";":
            seen_semicolon = True
    return False


def uses_local_files(sql: bytes) -> str | None:
    """``INTO OUTFILE`` / ``FROM INFILE`` would touch the gateway's own disk; name the clause."""
    prev = ""
    for tok in tokens(sql):
        pair = f"{prev} {tok.upper}"
        if pair in ("INTO OUTFILE", "FROM INFILE"):
            return pair
        prev = tok.upper
    return None


def quote_string(value: str) -> str:
    """A ClickHouse single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
