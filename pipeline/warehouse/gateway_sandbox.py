"""What a read-only user may run on the embedded warehouse, and within which limits.

chDB runs every query as one all-powerful user, so the gateway itself must keep read-only users
(``analyst``, every request of ``buzz warehouse --readonly``, and requests that ask for
``readonly``) from reading the machine's files or reaching the network. A ClickHouse server does
this with grants (deploy/clickhouse/users.d/buzz-users.xml gives the analyst ``SELECT`` on
``buzz.*`` and nothing else); here it is four checks, each failing closed:

1. The text is lexed strictly (``gateway_sql.tokens(strict=True)``): anything ClickHouse might
   read differently from us is refused, never guessed at.
2. One statement of an allowed kind, with no word that starts a write (``INSERT`` after ``WITH``,
   ``PARALLEL WITH``, ``KILL``, temporary tables, ``INTO OUTFILE``). chDB's own parser confirms
   the statement count and class before anything runs (``gateway_engine``).
3. Every call of a table function must be on ``ALLOWED_TABLE_FUNCTIONS`` (chDB's list of table
   functions is read at start-up, so a new one is refused until reviewed), and a few plain
   functions that read files or the network (``DENIED_FUNCTIONS``) are refused everywhere.
4. Settings, from the URL, a ``SET`` or any ``SETTINGS`` clause, stay inside ``constraints``:
   the row and time limits can be lowered, not raised, and settings that name files, URLs or
   credentials, switch on introspection or silence the query log cannot be changed at all.

Each connection of a read-only user starts with ``Limits.settings()``: a query returning more
than ``max_result_rows`` rows fails with ``TOO_MANY_ROWS_OR_BYTES`` (396), one running longer than
``max_execution_time`` with ``TIMEOUT_EXCEEDED`` (159), one needing more memory with
``MEMORY_LIMIT_EXCEEDED`` (241); nothing is cut short silently. The analyst cannot switch that to
``'break'`` (which returns whole blocks past the limit, so with a large ``max_block_size`` it
would lift the row limit); a read-write user who asks for ``readonly`` (the dashboard's Explore
page, which caps what it shows itself) may.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.warehouse.gateway_errors import (
    ACCESS_DENIED,
    READONLY,
    SETTING_CONSTRAINT_VIOLATION,
    SYNTAX_ERROR,
    ClickHouseError,
)
from pipeline.warehouse.gateway_sql import READ_ONLY_KEYWORDS, SqlError, Token, tokens, unquote

# Table functions that read nothing but their own arguments or the tables the user may read
# anyway: those a ClickHouse server lets a user with no grants call in readonly mode, less the
# ones that reach other servers (cluster), read request bodies (input) or other tables by pattern
# (merge), or show storage internals; plus format(), which only parses its own argument and whose
# name is also the string function format(). Everything else is refused: file, url, s3, hdfs,
# remote, mysql, postgresql, jdbc, odbc, executable, python, dictionary, the lake formats, ...
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {
        "numbers", "numbers_mt", "generate_series", "generateseries", "primes", "values",
        "null", "view", "generaterandom", "format",
    }
)  # fmt: skip
# Plain functions that reach outside the database: file() reads any file the gateway can, the
# AI functions call out to a provider.
DENIED_FUNCTIONS = frozenset({"file", "aiembed"})
# Words that only start a write or a second statement; refused wherever they stand (quote a
# column that happens to have such a name).
DENIED_WORDS = frozenset(
    {
        "INSERT", "KILL", "TEMPORARY", "OUTFILE", "INFILE", "PARALLEL", "ATTACH", "EXECUTE",
        "GRANT", "REVOKE", "BACKUP", "RESTORE",
    }
)  # fmt: skip
ALLOWED_STATEMENTS = READ_ONLY_KEYWORDS | {"SET", "USE"}

# Settings a read-only user may not change at all: they name files or URLs to read or write,
# carry credentials, or hide the query from the log. (``readonly`` itself chDB guards.)
FORBIDDEN_SETTINGS = frozenset(
    {
        "format_schema", "format_schema_source", "format_template_resultset",
        "format_template_row", "output_format_schema", "input_format_record_errors_file_path",
        "format_avro_schema_registry_url", "rename_files_after_processing",
        "into_outfile_create_parent_directories", "engine_file_truncate_on_insert",
        "engine_file_allow_create_multiple_files", "engine_file_empty_if_not_exists",
        "max_http_get_redirects", "allow_get_client_http_header", "url_base", "profile",
        "log_queries", "log_queries_min_type", "log_queries_min_query_duration_ms",
        "log_queries_probability", "log_queries_cut_to_length", "allow_ddl",
    }
)  # fmt: skip
FORBIDDEN_PREFIXES = ("ai_function_",)
# Settings with one allowed value (ClickHouse's ``<const/>`` after setting it in the profile).
FIXED_SETTINGS = {
    "allow_introspection_functions": "0",
    "allow_experimental_ai_functions": "0",
}
# Fixed for the analyst, free for a read-write user who asks for readonly (see above).
OVERFLOW_SETTINGS = {"result_overflow_mode": "throw", "timeout_overflow_mode": "throw"}
_TRUE_WORDS = {"1": "1", "true": "1", "0": "0", "false": "0"}


@dataclass(frozen=True)
class Limits:
    """Per-query ceilings for read-only users (``BUZZ_ANALYST_*`` settings)."""

    max_result_rows: int = 1_000_000
    max_execution_seconds: int = 300
    max_memory_bytes: int = 4_000_000_000

    def bounds(self) -> dict[str, tuple[float, float]]:
        """Settings a read-only user may lower but not raise (0 would mean "no limit")."""
        return {
            "max_result_rows": (1, self.max_result_rows),
            "max_execution_time": (1, self.max_execution_seconds),
            "max_memory_usage": (1, self.max_memory_bytes),
        }

    def settings(self) -> dict[str, str]:
        """What every connection of a read-only user starts with."""
        out = {name: str(int(high)) for name, (_, high) in self.bounds().items()}
        return out | OVERFLOW_SETTINGS | FIXED_SETTINGS


def check_setting(
    name: str, value: str | None, limits: Limits, who: str, overflow_fixed: bool = True
) -> None:
    """Refuse a change of ``name`` to ``value`` outside the constraints.

    ``value`` is None when it is not a plain literal (an expression, a parameter, ``DEFAULT``):
    that is refused for any constrained setting, since its value cannot be known here.
    """
    low_name = name.lower()
    if low_name in FORBIDDEN_SETTINGS or low_name.startswith(FORBIDDEN_PREFIXES):
        _violation(who, f"Setting {name} should not be changed")
    fixed = FIXED_SETTINGS | (OVERFLOW_SETTINGS if overflow_fixed else {})
    if low_name in fixed:
        wanted = fixed[low_name]
        got = None if value is None else _TRUE_WORDS.get(value.lower(), value.lower())
        if got != wanted:
            _violation(who, f"Setting {name} should not be changed")
    bounds = limits.bounds().get(low_name)
    if bounds is not None:
        low, high = bounds
        number = _number(value)
        if number is None:
            _violation(who, f"Setting {name} needs a plain number here (at most {high:g})")
        elif number < low:
            _violation(who, f"Setting {name} shouldn't be less than {low:g}")
        elif number > high:
            _violation(who, f"Setting {name} shouldn't be greater than {high:g}")


def check_statement(
    sql: bytes,
    table_functions: Iterable[str],
    limits: Limits,
    who: str,
    overflow_fixed: bool = True,
) -> str:
    """Check one statement of a read-only user; returns its first keyword.

    Raises ``ClickHouseError`` (SYNTAX_ERROR, READONLY, ACCESS_DENIED or
    SETTING_CONSTRAINT_VIOLATION) naming the reason.
    """
    try:
        toks = list(tokens(sql, strict=True))
    except SqlError as exc:
        raise ClickHouseError.make(
            SYNTAX_ERROR,
            f"Syntax error: {exc} at position {exc.at + 1}; queries of read-only users are "
            "read strictly (ASCII outside quotes, no unterminated quotes, comments or heredocs)",
        ) from None
    keyword = _first_keyword(toks)
    if not keyword:
        raise ClickHouseError.make(SYNTAX_ERROR, "Empty query")
    if keyword not in ALLOWED_STATEMENTS:
        raise ClickHouseError.make(READONLY, f"{who}: Cannot execute query in readonly mode")
    for idx, tok in enumerate(toks):
        nxt = toks[idx + 1] if idx + 1 < len(toks) else None
        if tok.depth == 0 and tok.text == b";" and any(t.text != b";" for t in toks[idx + 1 :]):
            raise ClickHouseError.make(SYNTAX_ERROR, "Multi-statements are not allowed")
        if tok.upper in DENIED_WORDS:
            raise ClickHouseError.make(
                READONLY,
                f"{who}: Cannot execute query in readonly mode ({tok.upper} is not allowed; "
                "quote it if it is a name)",
            )
        if nxt is not None and nxt.text == b"(":
            _check_call(toks, idx, table_functions, who)
    if keyword == "SET":
        for name, value in _assignments(toks, 1, who, clause="SET"):
            check_setting(name, value, limits, who, overflow_fixed)
    elif keyword == "USE" and not (len(toks) == 2 and toks[1].kind in ("word", "quoted")):
        raise ClickHouseError.make(SYNTAX_ERROR, "USE takes one database name")
    for idx, tok in enumerate(toks):
        if tok.upper == "SETTINGS" and not _names_settings_table(toks, idx):
            for name, value in _assignments(toks, idx + 1, who, clause="SETTINGS"):
                check_setting(name, value, limits, who, overflow_fixed)
    return keyword


def _first_keyword(toks: list[Token]) -> str:
    for tok in toks:
        if tok.kind == "word":
            return tok.upper
        if tok.text != b"(":
            return ""
    return ""


def _check_call(toks: list[Token], idx: int, table_functions: Iterable[str], who: str) -> None:
    tok = toks[idx]
    if tok.text == b"}":
        raise ClickHouseError.make(
            SYNTAX_ERROR, "A query parameter cannot name a function for read-only users"
        )
    name = tok.name.lower()
    if not name or (idx > 0 and toks[idx - 1].text == b"."):
        return  # db.f(...) is not a table function; lambdas and tuples have no name
    known = {f.lower() for f in table_functions}
    if name in DENIED_FUNCTIONS or (name in known and name not in ALLOWED_TABLE_FUNCTIONS):
        raise ClickHouseError.make(
            ACCESS_DENIED,
            f"{who}: Not enough privileges. {tok.name}() reads files or the network (or runs "
            "code) and is not available to read-only users",
        )


def _names_settings_table(toks: list[Token], idx: int) -> bool:
    """``system.settings`` and ``SHOW [CHANGED] SETTINGS`` name settings, they set none."""
    prev = toks[idx - 1] if idx > 0 else None
    return prev is not None and (prev.text == b"." or prev.upper in ("SHOW", "CHANGED"))


def _assignments(
    toks: list[Token], start: int, who: str, clause: str
) -> Iterator[tuple[str, str | None]]:
    """``name [= value], ...`` from ``toks[start:]``: a setting's name and its literal value (as
    text), or None when the value is not a plain literal."""
    i, depth = start, toks[start - 1].depth if start > 0 else 0
    while True:
        if i >= len(toks) or toks[i].kind not in ("word", "quoted"):
            raise ClickHouseError.make(
                SYNTAX_ERROR,
                f"{who}: cannot read the {clause} clause (expected a setting name; quote a "
                f"column named {clause.lower()})",
            )
        name = toks[i].name
        i += 1
        value: str | None = "1"  # ``SETTINGS flag`` sets a boolean to 1
        if i < len(toks) and toks[i].text == b"=":
            i, value = _value(toks, i + 1)
        yield name, value
        if i < len(toks) and toks[i].text == b"," and toks[i].depth == depth:
            i += 1
            continue
        return


def _value(toks: list[Token], i: int) -> tuple[int, str | None]:
    """Read one setting value starting at ``toks[i]``; returns the next index and the value."""
    if i >= len(toks):
        return i, None
    tok = toks[i]
    if tok.text == b"-" and i + 1 < len(toks) and toks[i + 1].kind == "number":
        return i + 2, "-" + toks[i + 1].text.decode()
    if tok.kind in ("number", "string"):
        text = unquote(tok.text) if tok.kind == "string" else tok.text
        return i + 1, text.decode("utf-8", "replace")
    if tok.kind == "word" and tok.upper != "DEFAULT":
        return i + 1, tok.text.decode()
    # A bracketed literal (map, array, tuple), a query parameter or DEFAULT: skip it whole.
    j = i + 1
    if tok.text in (b"(", b"[", b"{"):
        while j < len(toks) and toks[j].depth > tok.depth:
            j += 1
        j += 1
    return j, None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _violation(who: str, text: str) -> None:
    raise ClickHouseError.make(SETTING_CONSTRAINT_VIOLATION, f"{who}: {text}")
