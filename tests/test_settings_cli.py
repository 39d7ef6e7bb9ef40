"""Settings validation, the CLI's option passing, and `buzz sql` against the real warehouse."""

from __future__ import annotations

import json
import subprocess

import pytest

from pipeline.cli import parse_extra_options
from pipeline.settings import ConfigError, load_settings
from tests.conftest import ROOT, buzz_cmd, clean_env


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [
        ("kafka_url", "not a url", "BUZZ_KAFKA_URL"),
        ("clickhouse_url", "ftp://x", "BUZZ_CLICKHOUSE_URL"),
        ("broker_port", 70000, "BUZZ_BROKER_PORT"),
        ("log_level", "LOUD", "BUZZ_LOG_LEVEL"),
    ],
)
def test_a_bad_setting_stops_with_one_message_naming_it(
    field: str, value: object, name: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(**{field: value})
    assert exc.value.message.startswith(name + ":")


def test_embedded_defaults_and_configured_urls() -> None:
    s = load_settings()
    assert s.embedded_broker and s.bootstrap_servers == "127.0.0.1:9092"
    s = load_settings(kafka_url="kafka://k1:9092,k2:9092", clickhouse_url="http://u:p@ch:8123")
    assert s.bootstrap_servers == "k1:9092,k2:9092" and not s.embedded_warehouse
    assert "p" not in repr(load_settings(pii_key="p").pii_key)


def test_connector_options_are_parsed() -> None:
    assert parse_extra_options(["--url", "a", "--url=b", "--once-more", "--max-items", "5"]) == {
        "url": ["a", "b"],
        "once_more": True,
        "max_items": "5",
    }


def _sql(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        buzz_cmd("sql", *args), env=clean_env(BUZZ_CLICKHOUSE_URL=url), cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_buzz_sql_formats_params_and_errors(migrated_warehouse: str) -> None:
    r = _sql(migrated_warehouse, "SELECT number AS n, toString(number) AS s FROM numbers(3)")
    assert r.returncode == 0 and "┃ n" in r.stdout and "3 rows" in r.stdout
    r = _sql(migrated_warehouse, "--format", "json", "--param", "k=2",
             "SELECT number AS n FROM numbers(5) WHERE n > {k:UInt8}")  # fmt: skip
    assert [json.loads(line) for line in r.stdout.splitlines()] == [{"n": 3}, {"n": 4}]
    r = _sql(migrated_warehouse, "--format", "csv", "SELECT 1 AS a, 'x' AS b")
    assert r.stdout.splitlines() == ['"a","b"', '1,"x"']
    r = _sql(migrated_warehouse, "SELECT * FROM buzz.no_such_table")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "Code: 60" in r.stderr and "Traceback" not in r.stderr
