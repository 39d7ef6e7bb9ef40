"""Read-only users of the embedded warehouse cannot write files, read files or reach the network.

Every escape found so far gets a test here, against a real gateway over HTTP: the statement is
refused with the ClickHouse error a client can act on, and the side effect it aimed at did not
happen (no file written, no request received, no secret in the answer). The same gateway keeps
serving the read-write user, whose writes are not limited.
"""

from __future__ import annotations

import base64
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http import server as http_server
from pathlib import Path

import pytest

from pipeline.warehouse.gateway_errors import ClickHouseError
from pipeline.warehouse.gateway_sandbox import (
    ALLOWED_TABLE_FUNCTIONS,
    Limits,
    check_setting,
    check_statement,
)
from pipeline.warehouse.gateway_sql import SqlError, tokens
from tests.conftest import Child, buzz_cmd, clean_env, free_port, wait_for

pytestmark = pytest.mark.timeout(180)

MAX_ROWS = 1000
SECRET = "top-secret-line-7f3a"


# Fixtures -------------------------------------------------------------------------------------
class Listener:
    """A local HTTP server that records every request it receives (url() must never reach it)."""

    def __init__(self) -> None:
        hits: list[str] = []

        class Handler(http_server.BaseHTTPRequestHandler):
            def _hit(self) -> None:
                hits.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"a\n")

            do_GET = do_POST = do_PUT = _hit

            def log_message(self, *args: object) -> None:
                pass

        self.hits = hits
        self.server = http_server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.server.shutdown()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("files")
    (d / "secret.txt").write_text(SECRET + "\n")
    return d


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("sandbox-wh")
    port = free_port()
    child = Child(
        buzz_cmd("warehouse", "--port", str(port), "--data-dir", str(tmp / "warehouse")),
        tmp / "warehouse.log",
        clean_env(
            BUZZ_ANALYST_MAX_RESULT_ROWS=str(MAX_ROWS), BUZZ_ANALYST_MAX_EXECUTION_SECONDS="2"
        ),
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _ping(base), "buzz warehouse", child)
    status, _, body = http(
        base, b"CREATE TABLE default.t (id UInt32) ENGINE = MergeTree ORDER BY id"
    )
    assert status == 200, body
    http(base, b"INSERT INTO default.t SELECT number FROM numbers(5000)")
    yield base
    child.stop()


def _ping(base: str) -> bool:
    with urllib.request.urlopen(base + "/ping", timeout=2) as r:
        return bool(r.status == 200)


def http(
    base: str, body: bytes | None, user: str | None = None, **params: str
) -> tuple[int, dict[str, str], bytes]:
    headers = {}
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:".encode()).decode()
    full = base + "/" + ("?" + urllib.parse.urlencode(params) if params else "")
    req = urllib.request.Request(full, data=body, headers=headers, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def analyst(base: str, sql: str, **params: str) -> tuple[int, str, bytes]:
    """POST ``sql`` as the analyst; returns status, ClickHouse error code ('' if none) and body."""
    status, headers, body = http(base, sql.encode(), "analyst", **params)
    return status, headers.get("X-ClickHouse-Exception-Code", ""), body


def refused(base: str, sql: str, code: str, **params: str) -> bytes:
    status, got, body = analyst(base, sql, **params)
    assert (status >= 400, got) == (True, code), (sql, status, body[:300])
    assert SECRET.encode() not in body
    return body


# The escapes of the issue -----------------------------------------------------------------------
def test_dollar_quoted_string_does_not_smuggle_a_file_write(url: str, files: Path) -> None:
    target = files / "pwn.csv"
    sql = f"SELECT $$'$$; INSERT INTO FUNCTION file('{target}', 'CSV', 'a String') VALUES ('x')"
    refused(url, sql, "62")
    refused(url, sql.replace("$$", "$tag$"), "62")
    assert not target.exists()


def test_dollar_quoted_string_does_not_smuggle_a_post(url: str, listener: Listener) -> None:
    target = f"url('{listener.url}/post', 'CSV', 'a String')"
    sql = f"SELECT $$'$$; INSERT INTO FUNCTION {target} VALUES ('x')"
    refused(url, sql, "62")
    assert listener.hits == []


def test_files_cannot_be_read(url: str, files: Path) -> None:
    secret = files / "secret.txt"
    refused(url, f"SELECT * FROM file('{secret}', 'LineAsString')", "497")
    refused(url, "SELECT * FROM file('/etc/passwd')", "497")
    refused(url, f"SELECT file('{secret}')", "497")
    refused(url, f"SELECT * FROM `file`('{secret}', 'LineAsString')", "497")
    refused(url, f"SELECT \"file\"('{secret}')", "497")
    refused(url, f"DESCRIBE file('{secret}', 'LineAsString')", "497")
    refused(url, f"EXPLAIN SELECT * FROM file('{secret}', 'LineAsString')", "497")


def test_urls_cannot_be_fetched(url: str, listener: Listener) -> None:
    refused(url, f"SELECT * FROM url('{listener.url}/get', 'CSV', 'a String')", "497")
    refused(url, f"SELECT * FROM urlCluster('default', '{listener.url}/c', 'CSV')", "497")
    refused(url, f"SELECT * FROM s3('{listener.url}/b/k.csv', 'CSV', 'a String')", "497")
    assert listener.hits == []


@pytest.mark.parametrize(
    "call",
    [
        "s3Cluster('c', 'http://x/y')", "hdfs('hdfs://x/y', 'CSV', 'a String')",
        "remote('127.0.0.1', system.one)", "remoteSecure('127.0.0.1', system.one)",
        "cluster('default', system.one)", "mysql('h:3306', 'd', 't', 'u', 'p')",
        "postgresql('h:5432', 'd', 't', 'u', 'p')", "jdbc('jdbc:x', 't')", "odbc('dsn', 't')",
        "executable('ls', 'TSV', 'a String')", "input('a String')", "python(x)",
        "merge('system', '.*')", "dictionary('d')", "sqlite('/tmp/x.db', 't')",
        "icebergLocal('/tmp/x')", "deltaLakeLocal('/tmp/x')", "azureBlobStorage('x')",
        "mongodb('h', 'd', 'c', 'u', 'p', 'a String')", "redis('h', 'k', 'k String')",
        "loop(numbers(1))", "filesystem('/etc')", "zeros(3)", "fuzzQuery('SELECT 1')",
    ],
)  # fmt: skip
def test_table_functions_that_reach_outside_are_refused(url: str, call: str) -> None:
    refused(url, f"SELECT * FROM {call}", "497")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT count() FROM numbers(10)", b"10\n"),
        ("SELECT count() FROM numbers_mt(10)", b"10\n"),
        ("SELECT sum(x) FROM values('x UInt8', 1, 2, 3)", b"6\n"),
        ("SELECT count() FROM (SELECT * FROM generateRandom('a UInt8') LIMIT 5)", b"5\n"),
        ("SELECT count() FROM null('a UInt8')", b"0\n"),
        ("SELECT * FROM view(SELECT 42)", b"42\n"),
        ("SELECT * FROM format(CSV, 'a\n1')", b"1\n"),
        ("SELECT count() FROM generate_series(1, 4)", b"4\n"),
        ("SELECT format('{}-{}', 'a', 'b')", b"a-b\n"),
    ],
)
def test_table_functions_on_the_allow_list_work(url: str, sql: str, expected: bytes) -> None:
    status, code, body = analyst(url, sql)
    assert (status, body) == (200, expected), (code, body[:300])


# Lexing: whatever cannot be read with certainty is refused ------------------------------------
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 /* a /* b */ ; INSERT INTO FUNCTION file('{t}', 'CSV', 'a UInt8') VALUES (1)",
        "SELECT 1 -- x\n; INSERT INTO FUNCTION file('{t}', 'CSV', 'a UInt8') VALUES (1)",
        "SELECT $a$ $$ ' $a$; INSERT INTO FUNCTION file('{t}', 'CSV', 'a UInt8') VALUES (1)",
        "SELECT 'a\\\\'; INSERT INTO FUNCTION file('{t}', 'CSV', 'a UInt8') VALUES (1)",
        "SELECT 'it''s'; INSERT INTO FUNCTION file('{t}', 'CSV', 'a UInt8') VALUES (1)",
        "SELECT \u2018$$\u2019; INSERT INTO FUNCTION file('{t}', 'CSV', 'a UInt8') VALUES (1)",
        "SELECT 1\uff1b INSERT INTO FUNCTION file('{t}', 'CSV', 'a UInt8') VALUES (1)",
        "SELECT * FROM f\u0456le('{t}')",
        "SELECT 1 #x\n; INSERT INTO FUNCTION file('{t}', 'CSV', 'a UInt8') VALUES (1)",
        "SELECT $$unterminated",
        "SELECT 1 /* unterminated",
        "SELECT 1 FORMAT CSV; INSERT INTO FUNCTION file('{t}', 'CSV', 'a UInt8') VALUES (1)",
    ],
    ids=[
        "nested-comment", "line-comment", "nested-heredoc", "backslash", "doubled-quote",
        "typographic-quotes", "fullwidth-semicolon", "cyrillic-i", "hash", "open-heredoc",
        "open-comment", "format-then-insert",
    ],
)  # fmt: skip
def test_tricky_lexing_is_refused_and_writes_nothing(url: str, files: Path, sql: str) -> None:
    target = files / "lexed.csv"
    status, code, body = analyst(url, sql.replace("{t}", str(target)))
    assert status >= 400 and code in ("62", "164", "497"), (sql, status, body[:300])
    assert not target.exists()


def test_an_escaped_quote_keeps_the_insert_inside_the_string(url: str, files: Path) -> None:
    target = files / "inside.csv"
    sql = f"SELECT 'a\\'; INSERT INTO FUNCTION file(''{target}'') VALUES (1) --'"
    status, _, body = analyst(url, sql)
    assert status == 200 and body.startswith(b"a\\'; INSERT"), body[:200]
    assert not target.exists()


# Multi-statements, whichever way they arrive ---------------------------------------------------
def test_multi_statements_split_between_url_and_body_are_refused(url: str, files: Path) -> None:
    target = files / "split.csv"
    insert = f"INSERT INTO FUNCTION file('{target}', 'CSV', 'a UInt8') VALUES (1)"
    status, headers, _ = http(url, insert.encode(), "analyst", query="SELECT $$'$$;")
    assert status >= 400 and headers["X-ClickHouse-Exception-Code"] in ("62", "164")
    status, headers, _ = http(url, b"; SELECT 2", "analyst", query="SELECT 1")
    assert headers.get("X-ClickHouse-Exception-Code") == "62"
    status, headers, _ = http(url, None, "analyst", query="SELECT 1; SELECT 2")
    assert headers.get("X-ClickHouse-Exception-Code") == "62"
    assert not target.exists()


def test_a_half_parsed_multi_statement_runs_nothing_for_any_user(url: str) -> None:
    # chDB alone would create the table and only then fail on the second statement.
    sql = b"CREATE TABLE default.half (a UInt8) ENGINE = Memory; SELEC 2"
    status, headers, body = http(url, sql)
    assert status >= 400 and headers["X-ClickHouse-Exception-Code"] == "62", body
    assert http(url, None, query="EXISTS TABLE default.half")[2] == b"0\n"
    status, headers, _ = http(url, b"SELECT 1; SELECT 2")
    assert headers["X-ClickHouse-Exception-Code"] == "62"
    # Nor can a second statement hide in the head of an INSERT with inline data.
    sql = b"INSERT INTO default.t (id) ; CREATE TABLE default.hidden (a UInt8) ENGINE = Memory;"
    status, headers, _ = http(url, sql + b" INSERT INTO default.t FORMAT CSV\n1\n")
    assert headers["X-ClickHouse-Exception-Code"] == "62"
    assert http(url, None, query="EXISTS TABLE default.hidden")[2] == b"0\n"


# Statements that write or reach the server ------------------------------------------------------
@pytest.mark.parametrize(
    "sql",
    [
        "SYSTEM FLUSH LOGS", "SYSTEM RELOAD DICTIONARIES", "KILL QUERY WHERE 1",
        "ATTACH TABLE default.att (a String) ENGINE = File(TSV, '/etc/passwd')",
        "CREATE TEMPORARY TABLE tmp (a UInt8)",
        "WITH 1 AS x INSERT INTO FUNCTION null('a UInt8') VALUES (1)",
        "SELECT 1 PARALLEL WITH SELECT 2", "EXECUTE AS default SELECT 1",
        "CREATE DICTIONARY default.d (line String) PRIMARY KEY line "
        "SOURCE(FILE(path '/etc/passwd' format 'LineAsString')) LAYOUT(FLAT()) LIFETIME(0)",
        "GRANT ALL ON *.* TO analyst", "BACKUP TABLE default.t TO Disk('default', 'b.zip')",
    ],
)  # fmt: skip
def test_statements_beyond_reading_are_refused(url: str, sql: str) -> None:
    status, code, body = analyst(url, sql)
    assert status >= 400 and code in ("62", "164", "497"), (sql, status, body[:300])


def test_into_outfile_writes_nothing(url: str, files: Path) -> None:
    target = files / "out.tsv"
    refused(url, f"SELECT 1 INTO OUTFILE '{target}'", "164")
    _status, headers, _ = http(url, f"SELECT 1 INTO OUTFILE '{target}'".encode())
    assert headers["X-ClickHouse-Exception-Code"] == "48"  # nor for the writer
    assert not target.exists()


# Settings ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("SELECT 1 SETTINGS readonly = 0", "164"),
        ("SET readonly = 0", "164"),
        ("SELECT * FROM default.t SETTINGS max_result_rows = 0", "452"),
        ("SELECT * FROM default.t SETTINGS max_result_rows = 5000", "452"),
        ("SELECT 1 SETTINGS max_result_rows = {n:UInt64}", "452"),
        ("SELECT 1 SETTINGS max_execution_time = 0", "452"),
        ("SET max_execution_time = 3600", "452"),
        ("SET max_result_rows = DEFAULT", "452"),
        ("SELECT 1 SETTINGS allow_introspection_functions", "452"),
        ("SELECT 1 SETTINGS \"max_result_rows\" = 0", "452"),
        ("SELECT * FROM (SELECT * FROM default.t SETTINGS max_result_rows = 0)", "452"),
        ("SET profile = 'default'", "452"),
        ("SELECT 1 SETTINGS log_queries = 0", "452"),
        ("SELECT 1 FORMAT Template SETTINGS format_template_resultset = '{secret}'", "452"),
        ("SELECT 1 FORMAT Protobuf SETTINGS format_schema = '{secret}:M'", "452"),
        ("SELECT 1 FORMAT CapnProto SETTINGS output_format_schema = '{out}'", "452"),
    ],
)  # fmt: skip
def test_settings_cannot_raise_limits_or_name_files(
    url: str, files: Path, sql: str, code: str
) -> None:
    out = files / "schema.capnp"
    sql = sql.replace("{secret}", str(files / "secret.txt")).replace("{out}", str(out))
    refused(url, sql, code)
    assert not out.exists()


def test_url_settings_are_held_to_the_same_constraints(url: str, files: Path) -> None:
    secret = str(files / "secret.txt")
    refused(url, "SELECT 1", "164", readonly="0")
    refused(url, "SELECT 1", "452", max_result_rows="0")
    refused(url, "SELECT 1", "452", max_execution_time="100000")
    refused(url, "SELECT 1", "452", default_format="Template", format_template_resultset=secret)
    status, code, body = analyst(url, "SELECT count() FROM default.t", max_result_rows="10")
    assert (status, body) == (200, b"5000\n"), code


def test_parameters_are_values_not_sql(url: str, files: Path) -> None:
    target = files / "param.csv"
    evil = f"'); INSERT INTO FUNCTION file('{target}', 'CSV', 'a UInt8') VALUES (1) --"
    status, _, body = analyst(url, "SELECT {s:String}", param_s=evil)
    assert (status, body.decode().strip()) == (200, evil.replace("'", "\\'"))
    status, code, body = analyst(
        url, "SELECT * FROM {t:Identifier}", param_t=f"file('{files / 'secret.txt'}')"
    )
    assert status >= 400 and code == "60" and SECRET.encode() not in body
    refused(url, "SELECT {f:Identifier}('/etc/passwd')", "62", param_f="file")
    assert not target.exists()


# Limits ------------------------------------------------------------------------------------
def test_row_limit_fails_the_query_instead_of_cutting_it_short(url: str) -> None:
    status, code, body = analyst(url, "SELECT * FROM default.t")
    assert (status, code) == (500, "396") and b"Limit for result exceeded" in body
    # Aggregates over more rows are fine: the limit is on rows returned.
    assert analyst(url, "SELECT count() FROM default.t")[2] == b"5000\n"
    # An analyst may lower the limit, not raise it.
    status, code, _ = analyst(url, "SELECT * FROM default.t LIMIT 20 SETTINGS max_result_rows = 10")
    assert code == "396"
    assert analyst(url, f"SELECT * FROM default.t LIMIT {MAX_ROWS}")[0] == 200
    # 'break' would return whole blocks past the limit: the analyst cannot ask for it.
    refused(url, "SELECT * FROM default.t SETTINGS result_overflow_mode = 'break'", "452")
    refused(url, "SELECT 1", "452", timeout_overflow_mode="break")


def test_time_limit_stops_a_long_query(url: str) -> None:
    _status, code, body = analyst(url, "SELECT count() FROM numbers(1000000000000)")
    assert code == "159" and b"Timeout exceeded" in body, body[:300]


def test_limits_are_in_every_analyst_session_and_not_for_the_writer(url: str) -> None:
    status, _, body = analyst(
        url, "SELECT getSetting('max_result_rows'), getSetting('max_execution_time')",
        session_id="limits-session",
    )  # fmt: skip
    assert (status, body) == (200, f"{MAX_ROWS}\t2\n".encode())
    status, _, body = http(url, b"SELECT count() FROM (SELECT * FROM default.t)")
    assert body == b"5000\n"
    status, _, body = http(url, b"SELECT * FROM default.t FORMAT Null")
    assert status == 200
    assert len(http(url, b"SELECT * FROM default.t")[2].splitlines()) == 5000


def test_the_writer_still_writes_and_readonly_requests_are_sandboxed(url: str, files: Path) -> None:
    status, _, body = http(url, b"INSERT INTO default.t VALUES (99999)")
    assert status == 200, body
    assert http(url, None, query="SELECT count() FROM default.t WHERE id = 99999")[2] == b"1\n"
    # A request asking for readonly (the dashboard's Explore page does) gets the same sandbox,
    # except that it may ask for the rows up to the limit, as the Explore page does.
    explore = {"readonly": "2", "max_result_rows": "10", "result_overflow_mode": "break"}
    status, _, body = http(url, b"SELECT number FROM numbers(100000)", **explore)
    assert status == 200 and 0 < len(body.splitlines()) < 100000
    status, headers, body = http(
        url, f"SELECT file('{files / 'secret.txt'}')".encode(), readonly="2"
    )
    assert headers.get("X-ClickHouse-Exception-Code") == "497" and SECRET.encode() not in body


def test_external_data_is_not_for_read_only_users(url: str) -> None:
    boundary = "xyz"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="ext"; filename="ext.csv"\r\n'
        f"\r\n1\r\n--{boundary}--\r\n"
    ).encode()
    req = urllib.request.Request(
        url
        + "/?"
        + urllib.parse.urlencode({"query": "SELECT * FROM ext", "ext_structure": "a UInt8"}),
        data=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-ClickHouse-User": "analyst",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.headers["X-ClickHouse-Exception-Code"] == "164"


# The checks on their own ---------------------------------------------------------------------
TABLE_FUNCTIONS = frozenset({"file", "url", "numbers", "s3", "format", "values", "newThing"})


def test_a_table_function_unknown_to_the_allow_list_is_refused() -> None:
    with pytest.raises(ClickHouseError) as err:
        check_statement(b"SELECT * FROM newThing(1)", TABLE_FUNCTIONS, Limits(), "analyst")
    assert err.value.code == 497
    assert check_statement(b"SELECT * FROM numbers(1)", TABLE_FUNCTIONS, Limits(), "a") == "SELECT"
    assert "newthing" not in ALLOWED_TABLE_FUNCTIONS


def test_settings_clause_reading() -> None:
    limits = Limits(max_result_rows=100, max_execution_seconds=10)
    check_statement(
        b"SELECT 1 SETTINGS max_threads = 2, max_result_rows = 5, max_block_size = 10",
        TABLE_FUNCTIONS, limits, "a",
    )  # fmt: skip
    check_statement(b"SHOW SETTINGS LIKE '%rows%'", TABLE_FUNCTIONS, limits, "a")
    check_statement(b"SELECT name FROM system.settings", TABLE_FUNCTIONS, limits, "a")
    # A clause that cannot be read is refused rather than guessed at.
    for sql in (
        b"SELECT 1 SETTINGS",
        b"SELECT 1 SETTINGS 5",
        b"SELECT 1 SETTINGS max_result_rows = 101",
    ):
        with pytest.raises(ClickHouseError):
            check_statement(sql, TABLE_FUNCTIONS, limits, "a")
    check_setting("max_execution_time", "1.5", limits, "a")
    with pytest.raises(ClickHouseError):
        check_setting("ai_function_text_default_credentials", "x", limits, "a")


def test_lexer_reads_strings_as_clickhouse_does() -> None:
    sql = "SELECT $x$a$$b$x$, 'it''s', 'a\\'b', /* a /* b */ c */ \u2018q;\u2019 ;".encode()
    kinds = [(t.kind, t.text) for t in tokens(sql)]
    assert kinds[1] == ("string", b"$x$a$$b$x$")
    assert kinds[3] == ("string", b"'it''s'")
    assert kinds[5] == ("string", b"'a\\'b'")
    assert kinds[7] == ("string", "\u2018q;\u2019".encode())
    assert [t.text for t in tokens(sql) if t.text == b";"] == [b";"]
    for bad in (b"SELECT $$x", b"SELECT 1 /* /* */", b"SELECT 'x"):
        with pytest.raises(SqlError):
            list(tokens(bad))
    with pytest.raises(SqlError):
        list(tokens("SELECT \u2018x\u2019".encode(), strict=True))
