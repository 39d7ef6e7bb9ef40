"""The embedded warehouse's ``analyst`` user is read-only; everyone else keeps read-write.

One gateway process serves the sink (default user) and analysts at once, so read-only must be a
property of the request, not of the process: these tests pin that an analyst can query with
clickhouse-connect (per-query settings included) and cannot write, create, drop or alter, however
they name themselves, while the default user in the same process still writes.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

pytestmark = pytest.mark.timeout(120)


def client(url: str, **kw: Any) -> Client:
    parts = urllib.parse.urlsplit(url)
    return clickhouse_connect.get_client(host=parts.hostname, port=parts.port, **kw)


def http(
    url: str, body: bytes, headers: dict[str, str] | None = None, **params: str
) -> tuple[int, dict[str, str], bytes]:
    full = url + "/" + ("?" + urllib.parse.urlencode(params) if params else "")
    req = urllib.request.Request(full, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture(scope="module")
def url(own_warehouse: str) -> str:
    writer = client(own_warehouse)
    writer.command(
        "CREATE TABLE IF NOT EXISTS default.ro_probe (id UInt32) ENGINE = MergeTree ORDER BY id"
    )
    writer.insert("default.ro_probe", [[1], [2]], column_names=["id"])
    return own_warehouse


def test_analyst_selects_with_clickhouse_connect_and_per_query_settings(url: str) -> None:
    analyst = client(url, username="analyst")
    assert analyst.query("SELECT id FROM default.ro_probe ORDER BY id").result_rows == [(1,), (2,)]
    # clickhouse-connect sends settings in the URL; readonly=2 allows them, readonly=1 would not.
    result = analyst.query(
        "SELECT getSetting('max_threads'), getSetting('readonly')",
        settings={"max_threads": 3, "max_execution_time": 30},
    )
    assert result.result_rows == [(3, 2)]
    params = analyst.query("SELECT {n:UInt32} + 1", parameters={"n": 41}).result_rows
    assert params == [(42,)]
    assert analyst.query("SELECT count() FROM buzz.schema_migrations").result_rows[0][0] > 0


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO default.ro_probe VALUES (3)",
        "INSERT INTO default.ro_probe SELECT 4",
        "CREATE TABLE default.ro_other (id UInt8) ENGINE = Memory",
        "CREATE TEMPORARY TABLE ro_tmp (id UInt8)",
        "DROP TABLE default.ro_probe",
        "TRUNCATE TABLE default.ro_probe",
        "ALTER TABLE default.ro_probe ADD COLUMN x UInt8",
        "ALTER TABLE default.ro_probe DELETE WHERE 1",
        "DELETE FROM default.ro_probe WHERE 1",
        "RENAME TABLE default.ro_probe TO default.ro_gone",
        "OPTIMIZE TABLE default.ro_probe FINAL",
        "SET readonly = 0",
        "KILL QUERY WHERE 1",
    ],
)
def test_analyst_cannot_write_or_change_schema(url: str, sql: str) -> None:
    analyst = client(url, username="analyst")
    with pytest.raises(DatabaseError) as err:
        analyst.command(sql)
    assert err.value.code == 164
    assert "analyst: Cannot execute query in readonly mode" in str(err.value) or (
        "Cannot modify 'readonly' setting" in str(err.value)
    )


def test_analyst_insert_through_clickhouse_connect_fails_and_nothing_changed(url: str) -> None:
    analyst = client(url, username="analyst")
    with pytest.raises(DatabaseError) as err:
        analyst.insert("default.ro_probe", [[5]], column_names=["id"])
    assert err.value.code == 164 and "analyst: Cannot execute query in readonly mode" in str(
        err.value
    )
    with pytest.raises(DatabaseError) as err:
        analyst.query("SELECT 1 SETTINGS readonly = 0")
    assert err.value.code == 164
    assert client(url).query("SELECT count() FROM default.ro_probe").result_rows == [(2,)]


@pytest.mark.parametrize(
    "how",
    [
        {"headers": {"Authorization": "Basic " + base64.b64encode(b"analyst:any").decode()}},
        {"headers": {"X-ClickHouse-User": "analyst"}},
        {"params": {"user": "analyst"}},
    ],
    ids=["basic-auth", "header", "url-param"],
)
def test_every_way_of_naming_the_analyst_is_read_only(
    url: str, how: dict[str, dict[str, str]]
) -> None:
    headers, params = how.get("headers", {}), how.get("params", {})
    status, _, body = http(url, b"SELECT count() FROM default.ro_probe", headers, **params)
    assert (status, body) == (200, b"2\n")
    status, resp_headers, body = http(
        url, b"INSERT INTO default.ro_probe VALUES (9)", headers, **params
    )
    assert status >= 400
    assert resp_headers["X-ClickHouse-Exception-Code"] == "164"
    assert body.startswith(b"Code: 164. DB::Exception: analyst: Cannot execute query")
    # A URL setting cannot lift it either.
    _, resp_headers, _ = http(url, b"SELECT 1", headers, readonly="0", **params)
    assert resp_headers["X-ClickHouse-Exception-Code"] == "164"


def test_sessions_belong_to_their_user(url: str) -> None:
    # The writer opens a session; the analyst reusing its id gets a read-only session of its own.
    writer = client(url, session_id="shared-session-id")
    analyst = client(url, username="analyst", session_id="shared-session-id")
    writer.command("SET max_threads = 5")
    with pytest.raises(DatabaseError) as err:
        analyst.command("INSERT INTO default.ro_probe VALUES (7)")
    assert err.value.code == 164
    assert analyst.query("SELECT getSetting('readonly')").result_rows == [(2,)]
    assert writer.query("SELECT getSetting('readonly')").result_rows == [(0,)]


def test_default_user_in_the_same_process_still_writes(url: str) -> None:
    for writer in (client(url), client(url, username="buzz"), client(url, username="default")):
        writer.command("CREATE TABLE IF NOT EXISTS default.rw_probe (id UInt8) ENGINE = Memory")
        writer.insert("default.rw_probe", [[1]], column_names=["id"])
        writer.command("DROP TABLE default.rw_probe")
    status, headers, _ = http(url, b"SELECT 1", {"Authorization": "Basic !!not-base64"})
    assert status == 403 and headers["X-ClickHouse-Exception-Code"] == "516"
