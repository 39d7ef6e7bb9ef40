"""The embedded warehouse gateway (``buzz warehouse``) speaks ClickHouse's HTTP interface.

Every test talks to a real gateway process over HTTP, with clickhouse-connect's default settings
or plain urllib, and pins what a client sees: results, ClickHouse errors, headers, concurrency,
read-only mode, persistence and start-up failures.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from tests.conftest import buzz_cmd, clean_env, free_port, start_warehouse

pytestmark = pytest.mark.timeout(120)


def client(url: str, **kw: object) -> Client:
    parts = urllib.parse.urlsplit(url)
    return clickhouse_connect.get_client(host=parts.hostname, port=parts.port, **kw)


def http(
    url: str, query: str | None = None, body: bytes | None = None, **params: str
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request; returns status, headers and body, also for error statuses."""
    if query is not None:
        params["query"] = query
    full = url + "/" + ("?" + urllib.parse.urlencode(params) if params else "")
    req = urllib.request.Request(full, data=body, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def table_name() -> str:
    return "t_" + uuid.uuid4().hex[:8]


# clickhouse-connect ------------------------------------------------------------------------
def test_clickhouse_connect_handshake_ddl_parameters_and_dataframes(warehouse_url: str) -> None:
    c = client(warehouse_url)
    assert c.server_version.startswith("26.")
    t = table_name()
    c.command(f"CREATE TABLE {t} (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
    c.command(f"INSERT INTO {t} VALUES (1, 'one'), (2, 'two'), (3, 'three')")
    result = c.query(
        f"SELECT name FROM {t} WHERE id >= {{low:UInt32}} AND name != {{skip:String}} ORDER BY id",
        parameters={"low": 2, "skip": "it's \t odd"},
    )
    assert result.result_rows == [("two",), ("three",)]
    df = c.query_df(f"SELECT id, name FROM {t} ORDER BY id")
    assert df["name"].tolist() == ["one", "two", "three"]
    assert c.query_arrow(f"SELECT id FROM {t} ORDER BY id").column("id").to_pylist() == [1, 2, 3]


def test_insert_10000_rows_of_nine_types_round_trips(warehouse_url: str) -> None:
    c = client(warehouse_url)
    t = table_name()
    c.command(
        f"CREATE TABLE {t} (i Int64, u UInt16, f Float64, s String, ts DateTime64(3, 'UTC'), "
        "tags Array(String), n Nullable(Int32), lc LowCardinality(String), b Bool) "
        "ENGINE = MergeTree ORDER BY i"
    )
    base = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    rows = [
        (
            i - 5000,
            i % 65536,
            i / 7,
            f"post {i} ✓ 'quoted'\n",
            base + dt.timedelta(milliseconds=i * 1001),
            [f"#{i % 5}", "tag"][: i % 3],
            None if i % 4 == 0 else i,
            ("x", "y", "z")[i % 3],
            i % 2 == 0,
        )
        for i in range(10_000)
    ]
    # Columns in an order unlike the table's, to pin the column-list mapping.
    names = ["s", "i", "u", "f", "ts", "tags", "n", "lc", "b"]
    order = [3, 0, 1, 2, 4, 5, 6, 7, 8]
    summary = c.insert(t, [[r[k] for k in order] for r in rows], column_names=names)
    assert summary.written_rows == 10_000
    got = c.query(f"SELECT * FROM {t} ORDER BY i").result_rows
    # clickhouse-connect returns UTC DateTime64 as naive UTC datetimes (its default tz_mode).
    expected = [(*r[:4], r[4].replace(tzinfo=None), *r[5:]) for r in rows]
    assert got == expected


def test_insert_deduplication_token_drops_a_repeated_batch(warehouse_url: str) -> None:
    c = client(warehouse_url)
    t = table_name()
    c.command(
        f"CREATE TABLE {t} (id UInt32) ENGINE = MergeTree ORDER BY id "
        "SETTINGS non_replicated_deduplication_window = 100"
    )
    batch = [[1], [2], [3]]
    for _ in range(2):
        c.insert(t, batch, column_names=["id"], settings={"insert_deduplication_token": "b-1"})
    c.insert(t, batch, column_names=["id"], settings={"insert_deduplication_token": "b-2"})
    assert c.query(f"SELECT count() FROM {t}").result_rows == [(6,)]


def test_url_settings_reach_chdb_and_sessions_keep_state(warehouse_url: str) -> None:
    c = client(warehouse_url)
    q = "SELECT getSetting('max_threads')"
    assert str(c.query(q, settings={"max_threads": 3}).result_rows[0][0]) == "3"
    # A URL setting applies to that query only, also inside clickhouse-connect's session.
    assert str(c.query(q).result_rows[0][0]) != "3"
    c.command("SET max_threads = 1")
    assert str(c.query(q).result_rows[0][0]) == "1"
    with pytest.raises(DatabaseError) as err:
        c.query("SELECT 1", settings={"no_such_setting_xyz": 1})
    assert err.value.code == 115


# Raw HTTP ----------------------------------------------------------------------------------
def test_plain_http_get_post_ping_and_formats(warehouse_url: str) -> None:
    with urllib.request.urlopen(warehouse_url + "/ping", timeout=5) as r:
        assert r.read() == b"Ok.\n"
    assert http(warehouse_url)[2] == b"Ok.\n"
    status, headers, body = http(warehouse_url, "SELECT 1, 'a'")
    assert (status, body) == (200, b"1\ta\n")
    assert headers["X-ClickHouse-Format"] == "TabSeparated"
    assert "X-ClickHouse-Query-Id" in headers and "X-ClickHouse-Timezone" in headers
    assert http(warehouse_url, body=b"SELECT number FROM numbers(3)")[2] == b"0\n1\n2\n"

    t = table_name()
    create = f"CREATE TABLE {t} (id UInt8, name String) ENGINE = MergeTree ORDER BY id"
    assert http(warehouse_url, body=create.encode())[0] == 200
    insert = f"INSERT INTO {t} FORMAT CSV"
    assert http(warehouse_url, insert, body=b"1,one\n2,two\n")[0] == 200
    gz = gzip.compress(f"INSERT INTO {t} FORMAT TSV\n3\tthree\n".encode())
    req = urllib.request.Request(
        warehouse_url + "/", data=gz, headers={"Content-Encoding": "gzip"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
        summary = json.loads(r.headers["X-ClickHouse-Summary"])
    assert summary["written_rows"] == "1"

    status, headers, body = http(warehouse_url, f"SELECT * FROM {t} ORDER BY id FORMAT JSON")
    assert headers["X-ClickHouse-Format"] == "JSON"
    assert [row["name"] for row in json.loads(body)["data"]] == ["one", "two", "three"]
    body = http(warehouse_url, f"SELECT id FROM {t} ORDER BY id", default_format="JSONEachRow")[2]
    assert body.splitlines() == [b'{"id":1}', b'{"id":2}', b'{"id":3}']
    # Harmless client settings are accepted.
    body = http(
        warehouse_url, "SELECT 7", wait_end_of_query="1", send_progress_in_http_headers="1",
        cancel_http_readonly_queries_on_client_close="1", session_timeout="60", query_id="q-1",
    )[2]  # fmt: skip
    assert body == b"7\n"


def test_get_is_read_only_as_in_clickhouse(warehouse_url: str) -> None:
    _, headers, body = http(warehouse_url, "CREATE TABLE g (a UInt8) ENGINE = Memory")
    assert headers["X-ClickHouse-Exception-Code"] == "164"
    assert b"readonly" in body


# Errors ------------------------------------------------------------------------------------
def test_errors_come_back_as_clickhouse_errors(warehouse_url: str) -> None:
    c = client(warehouse_url)
    with pytest.raises(DatabaseError) as err:
        c.query("SELEC 1")
    assert err.value.code == 62 and "Syntax error" in str(err.value)
    with pytest.raises(DatabaseError) as err:
        c.query("SELECT * FROM no_such_table")
    assert err.value.code == 60 and "no_such_table" in str(err.value)

    status, headers, body = http(warehouse_url, "SELECT * FROM no_such_table")
    assert status == 404
    assert headers["X-ClickHouse-Exception-Code"] == "60"
    assert body.startswith(b"Code: 60. DB::Exception: ") and b"(UNKNOWN_TABLE)" in body
    status, headers, body = http(warehouse_url, body=b"SELECT 1; SELECT 2")
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (400, "62")
    status, headers, _ = http(warehouse_url, body=b"SELECT 1 INTO OUTFILE '/tmp/x.tsv'")
    assert headers["X-ClickHouse-Exception-Code"] == "48"
    req = urllib.request.Request(
        warehouse_url + "/", data=b"\x00garbage", headers={"Content-Encoding": "lz4"}
    )
    with pytest.raises(urllib.error.HTTPError) as http_err:
        urllib.request.urlopen(req, timeout=10)
    assert http_err.value.headers["X-ClickHouse-Exception-Code"] == "271"
    assert http(warehouse_url, "SELECT 1")[2] == b"1\n"  # still serving


# Concurrency -------------------------------------------------------------------------------
def test_concurrent_clients_insert_and_select_exactly(warehouse_url: str) -> None:
    t = table_name()
    client(warehouse_url).command(
        f"CREATE TABLE {t} (worker UInt8, n UInt32) ENGINE = MergeTree ORDER BY (worker, n)"
    )
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            c = client(warehouse_url)
            for batch in range(5):
                rows = [[worker, batch * 100 + i] for i in range(100)]
                c.insert(t, rows, column_names=["worker", "n"])
                got = c.query(f"SELECT count() FROM {t} WHERE worker = {worker}").result_rows
                assert got == [((batch + 1) * 100,)]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    counts = client(warehouse_url).query(f"SELECT worker, count() FROM {t} GROUP BY worker")
    assert sorted(counts.result_rows) == [(w, 500) for w in range(8)]


def test_ping_answers_while_a_long_query_runs(warehouse_url: str) -> None:
    finished: dict[str, float] = {}

    def long_query() -> None:
        client(warehouse_url).query("SELECT sleep(3)")
        finished["long"] = time.monotonic()

    th = threading.Thread(target=long_query)
    th.start()
    time.sleep(0.5)
    with urllib.request.urlopen(warehouse_url + "/ping", timeout=5) as r:
        assert r.read() == b"Ok.\n"
    assert http(warehouse_url, "SELECT 42")[2] == b"42\n"
    answered = time.monotonic()
    th.join()
    assert "long" in finished and answered < finished["long"]


# Process life cycle ------------------------------------------------------------------------
def test_data_persists_and_readonly_mode_rejects_writes(tmp_path: Path) -> None:
    child, url = start_warehouse(tmp_path)
    try:
        c = client(url)
        c.command("CREATE TABLE kept (id UInt32) ENGINE = MergeTree ORDER BY id")
        c.insert("kept", [[1], [2]], column_names=["id"])
        # A second gateway on the same data directory refuses to start.
        args = ["--port", str(free_port()), "--data-dir", str(tmp_path / "warehouse")]
        other = subprocess.run(
            buzz_cmd("warehouse", *args),
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=60,
        )
        assert other.returncode == 1 and "in use by another process" in other.stderr
    finally:
        child.stop()
    assert child.proc.returncode == 0  # SIGTERM is a clean shutdown

    child, url = start_warehouse(tmp_path, None, "--readonly")
    try:
        c = client(url)
        assert c.query("SELECT id FROM kept ORDER BY id").result_rows == [(1,), (2,)]
        for sql in (
            "INSERT INTO kept VALUES (3)",
            "CREATE TABLE other (id UInt8) ENGINE = Memory",
            "DROP TABLE kept",
            "SET readonly = 0",
            "KILL QUERY WHERE 1",
        ):
            with pytest.raises(DatabaseError) as err:
                c.command(sql)
            assert err.value.code == 164, sql
        with pytest.raises(DatabaseError) as err:
            c.insert("kept", [[4]], column_names=["id"])
        assert err.value.code == 164 and "buzz.readonly: Cannot execute query" in str(err.value)
        # Escapes through settings: clickhouse-connect refuses them itself, so send them raw.
        with pytest.raises(DatabaseError) as err:
            c.query("SELECT 1 SETTINGS readonly = 0")
        assert err.value.code == 164
        _, headers, _ = http(url, body=b"SELECT 1", readonly="0")
        assert headers["X-ClickHouse-Exception-Code"] == "164"
        assert c.query("SELECT count() FROM kept").result_rows == [(2,)]
    finally:
        child.stop()


def test_port_in_use_gives_one_clear_line_and_exit_code_1(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            buzz_cmd("warehouse", "--port", str(port), "--data-dir", str(tmp_path / "wh")),
            capture_output=True, text=True, env=clean_env(), timeout=60,
        )  # fmt: skip
    assert proc.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use; set BUZZ_WAREHOUSE_PORT or --port" in (
        proc.stderr
    )
