"""Lexing SQL the way ClickHouse does, for the gateway to route and check a request.

chDB does the real parsing; the gateway must still find a few things before chDB sees a
statement: where an INSERT's inline data starts (``INSERT INTO t (a, b) FORMAT Native\\n<binary>``
or ``... VALUES (1, 'x')``), which output format a query asks for (for the response headers), the
statement's first keyword, and, for read-only users, which functions and settings it uses
(``gateway_sandbox``). So quotes, heredocs (``$$...$$``, ``$tag$...$tag$``), nested comments and
brackets are read exactly as ClickHouse reads them: ``'FORMAT'`` inside a string or ``format(...)``
the function never fool it. Everything here works on bytes, so binary insert data after the SQL
head is never decoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_WORD = re.compile(rb"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER = re.compile(rb"(?:[0-9][A-Za-z0-9_.]*|\.[0-9][A-Za-z0-9_]*)")
_HEREDOC_TAG = re.compile(rb"\$[A-Za-z0-9_]*\$")
_SPACE = b" \t\r\n\f\v"
# ClickHouse also reads typographic quotes as quotes and a few Unicode spaces as spaces.
_UNICODE_QUOTES = {"\u2018".encode(): "\u2019".encode(), "\u201c".encode(): "\u201d".encode()}
_UNICODE_SPACES = tuple(
    c.encode() for c in ("\u00a0", "\u2000", "\u2001", "\u2002", "\u2003", "\u2009", "\u3000")
)
_OPEN = {b"(": b")", b"[": b"]", b"{": b"}"}
_CLOSE = frozenset(_OPEN.values())

# Statements a read-only gateway lets through; chDB's own readonly=2 check backs this up.
READ_ONLY_KEYWORDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS"})
# Statements that only change the state of the connection they run on.
SESSION_KEYWORDS = frozenset({"SET", "USE"})


class SqlError(ValueError):
    """The text cannot be lexed with certainty (unterminated quote, comment or heredoc, or, in
    strict mode, anything ClickHouse might read differently); ``at`` is the byte offset."""

    def __init__(self, message: str, at: int = 0) -> None:
        super().__init__(message)
        self.at = at


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "quoted" (identifier), "string", "number", "punct"
    start: int
    end: int
    depth: int  # bracket depth before the token: ( [ {
    text: bytes

    @property
    def upper(self) -> str:
        return self.text.decode("ascii", "replace").upper() if self.kind == "word" else ""

    @property
    def name(self) -> str:
        """A word or quoted identifier as ClickHouse names it (quotes and escapes removed)."""
        if self.kind == "word":
            return self.text.decode("ascii", "replace")
        if self.kind == "quoted":
            return unquote(self.text).decode("utf-8", "replace")
        return ""


def tokens(sql: bytes, strict: bool = False) -> Iterator[Token]:
    """Tokens of ``sql`` as ClickHouse's lexer sees them, skipping whitespace and comments.

    Raises ``SqlError`` on an unterminated string, quoted identifier, heredoc or block comment;
    callers that lex only the head of a stream treat that as "need more bytes". ``strict`` (for
    read-only users) also refuses what could be read two ways: bytes outside ASCII anywhere but
    in a string, identifier or comment (look-alike letters, typographic quotes, Unicode spaces),
    ``$`` outside a heredoc, control characters, a backslash, and ``#`` not starting a comment.
    """
    i, n, depth = 0, len(sql), 0
    while i < n:
        c = sql[i : i + 1]
        if c in _SPACE:
            i += 1
        elif sql.startswith(b"--", i) or sql.startswith((b"# ", b"#!"), i):
            j = sql.find(b"\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith(b"/*", i):
            i = _block_comment_end(sql, i)
        elif c in (b"'", b'"', b"`"):
            j = _quote_end(sql, i, c, c)
            yield Token("string" if c == b"'" else "quoted", i, j, depth, sql[i:j])
            i = j
        elif c == b"$" and (m := _HEREDOC_TAG.match(sql, i)):
            close = sql.find(m.group(), m.end())
            if close < 0:
                raise SqlError("unterminated heredoc", i)
            j = close + len(m.group())
            yield Token("string", i, j, depth, sql[i:j])
            i = j
        elif (m := _WORD.match(sql, i)) is not None:
            if strict and b"$" in m.group():
                raise SqlError("'$' outside a heredoc", i)
            yield Token("word", i, m.end(), depth, m.group())
            i = m.end()
        elif (m := _NUMBER.match(sql, i)) is not None:
            yield Token("number", i, m.end(), depth, m.group())
            i = m.end()
        elif sql[i] >= 0x80:
            if strict:
                raise SqlError("a character outside ASCII outside quotes", i)
            if (closing := _UNICODE_QUOTES.get(sql[i : i + 3])) is not None:
                j = _quote_end(sql, i, sql[i : i + 3], closing, width=3)
                kind = "string" if closing == _UNICODE_QUOTES["\u2018".encode()] else "quoted"
                yield Token(kind, i, j, depth, sql[i:j])
                i = j
            elif space := next((s for s in _UNICODE_SPACES if sql.startswith(s, i)), None):
                i += len(space)
            else:
                yield Token("punct", i, i + 1, depth, c)
                i += 1
        else:
            if strict and (sql[i] < 0x20 or c in (b"\\", b"#", b"\x7f")):
                raise SqlError(f"unexpected character {c!r}", i)
            if c in _OPEN:
                yield Token("punct", i, i + 1, depth, c)
                depth += 1
            elif c in _CLOSE:
                depth = max(0, depth - 1)
                yield Token("punct", i, i + 1, depth, c)
            else:
                yield Token("punct", i, i + 1, depth, c)
            i += 1


def _quote_end(sql: bytes, i: int, opening: bytes, closing: bytes, width: int = 1) -> int:
    """End (exclusive) of the quoted text starting at ``i``: backslash escapes the next byte
    and a doubled closing quote stands for itself, as in ClickHouse."""
    j, n = i + width, len(sql)
    while True:
        if j >= n:
            raise SqlError("unterminated quote", i)
        if sql[j : j + 1] == b"\\":
            j += 2
        elif sql.startswith(closing, j):
            if width == 1 and sql.startswith(closing, j + 1):
                j += 2
            else:
                return j + width
        else:
            j += 1


def _block_comment_end(sql: bytes, i: int) -> int:
    """ClickHouse's block comments nest: ``/* a /* b */ c */`` is one comment."""
    depth, j, n = 0, i, len(sql)
    while j < n:
        if sql.startswith(b"/*", j):
            depth += 1
            j += 2
        elif sql.startswith(b"*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    raise SqlError("unterminated comment", i)


def unquote(text: bytes) -> bytes:
    """The content of a quoted string or identifier token (escapes resolved)."""
    if text.startswith(b"$"):
        tag = _HEREDOC_TAG.match(text)
        return text[len(tag.group()) : -len(tag.group())] if tag else text
    for opening, closing in _UNICODE_QUOTES.items():
        if text.startswith(opening):
            return text[len(opening) : -len(closing)]
    q, body, out, k = text[:1], text[1:-1], bytearray(), 0
    while k < len(body):
        ch = body[k : k + 1]
        if ch == b"\\" and k + 1 < len(body):
            out += _ESCAPES.get(body[k + 1 : k + 2], body[k + 1 : k + 2])
            k += 2
        elif ch == q and body[k + 1 : k + 2] == q:
            out += q
            k += 2
        else:
            out += ch
            k += 1
    return bytes(out)


_ESCAPES = {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"0": b"\0", b"b": b"\b", b"f": b"\f"}


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
            if tok.depth == 0 and tok.text == b";":
                return None  # a second statement: read it all, chDB's parser refuses it
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
