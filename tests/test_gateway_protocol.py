"""The parts of ClickHouse's HTTP protocol that clients lean on beyond plain queries.

Streamed results and errors after the first block, statements without a result set, external
data tables, SQL that is not UTF-8, and the protocol features the embedded warehouse refuses
rather than answers wrongly. clickhouse-connect's own suite checks these too
(test_gateway_clickhouse_connect_suite.py); these tests pin them without ../shared.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import uuid

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, StreamFailureError
from clickhouse_connect.driver.external import ExternalData
from clickhouse_connect.driver.summary import QuerySummary

pytestmark = pytest.mark.timeout(120)


def client(url: str) -> clickhouse_connect.driver.client.Client:
    parts = urllib.parse.urlsplit(url)
    return clickhouse_connect.get_client(host=parts.hostname, port=parts.port)


def raw(url: str, body: bytes, **params: str) -> tuple[int, dict[str, str], bytes]:
    full = url + "/?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(urllib.request.Request(full, data=body), timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_an_error_after_the_first_block_is_an_exception_block(warehouse_url: str) -> None:
    sql = b"SELECT number, throwIf(number = 5) FROM numbers(10) SETTINGS max_block_size = 1"
    status, headers, body = raw(warehouse_url, sql, wait_end_of_query="0")
    tag = headers["X-ClickHouse-Exception-Tag"]
    assert status == 200 and body.startswith(b"0\t0\n1\t0\n")
    marker = f"__exception__\r\n{tag}\r\n".encode()
    assert marker in body and b"FUNCTION_THROW_IF_VALUE_IS_NON_ZERO" in body
    assert body.endswith(f" {tag}\r\n__exception__\r\n".encode())
    # clickhouse-connect raises it rather than returning the first rows.
    stream = client(warehouse_url).query_rows_stream(
        sql.decode(), settings={"wait_end_of_query": 0}
    )
    with pytest.raises(StreamFailureError, match="throwIf"), stream:
        for _ in stream:
            pass
    # With wait_end_of_query=1 the whole result is built first: the error has its own status.
    status, headers, _ = raw(warehouse_url, sql, wait_end_of_query="1")
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (500, "395")


def test_streamed_and_whole_results_are_the_same(warehouse_url: str) -> None:
    sql = b"SELECT number, toString(number) FROM numbers(200000) FORMAT Native"
    whole = raw(warehouse_url, sql, wait_end_of_query="1")[2]
    streamed = raw(warehouse_url, sql, wait_end_of_query="0", enable_http_compression="1")[2]
    assert whole == streamed and len(whole) > 1_000_000
    rows = client(warehouse_url).query_row_block_stream("SELECT number FROM numbers(100000)")
    with rows:
        assert sum(len(block) for block in rows) == 100_000


def test_statements_without_a_result_set_return_a_summary(warehouse_url: str) -> None:
    c = client(warehouse_url)
    summary = c.command("DROP TABLE IF EXISTS no_such_table_here")
    assert isinstance(summary, QuerySummary) and summary.query_id()
    assert c.command("SELECT 1 WHERE 0") == ""  # an empty read is still a read
    assert "query_id" in c.query("SET max_threads = 2").first_item
    assert not isinstance(c.command("SHOW POLICIES"), QuerySummary)
    status, headers, _ = raw(warehouse_url, b"CREATE TEMPORARY TABLE tmp_x (a UInt8)")
    assert status == 200 and "X-ClickHouse-Format" not in headers


def test_external_data_tables(warehouse_url: str) -> None:
    data = ExternalData(file_name="films.csv", data=b"a,1\nb,2\n", fmt="CSV", types="String,UInt8")
    data.add_file(file_name="more.tsv", data=b"c\t3\n", structure="name String, n UInt8")
    rows = (
        client(warehouse_url)
        .query(
            "SELECT _1, _2 FROM films UNION ALL SELECT name, n FROM more ORDER BY 2",
            external_data=data,
        )
        .result_rows
    )
    assert rows == [("a", 1), ("b", 2), ("c", 3)]


def test_sql_that_is_not_utf8_reaches_the_engine(warehouse_url: str) -> None:
    status, _, body = raw(warehouse_url, b"SELECT hex('\xff\xfe\x00')")
    assert (status, body) == (200, b"FFFE00\n")


def test_show_create_of_a_system_table(warehouse_url: str) -> None:
    result = client(warehouse_url).query("SHOW CREATE TABLE system.one")
    assert result.column_names == ("statement",)
    assert result.result_rows[0][0].startswith("CREATE TABLE system.one\n(\n    `dummy` UInt8")


def test_unsupported_protocol_features_get_clear_errors(warehouse_url: str) -> None:
    _, headers, body = raw(
        warehouse_url, b"SELECT now() FORMAT Native", client_protocol_version="54405"
    )
    assert headers["X-ClickHouse-Exception-Code"] == "48" and b"client_protocol_version" in body
    # clickhouse-connect probes for it and carries on with protocol 0.
    assert client(warehouse_url).protocol_version == 0
    _, headers, _ = raw(warehouse_url, b"SELECT 1", compress="1")
    assert headers["X-ClickHouse-Exception-Code"] == "48"
    with pytest.raises(DatabaseError) as err:
        client(warehouse_url).command(f"CREATE USER u_{uuid.uuid4().hex[:6]}")
    assert err.value.code in (497, 514)
