"""Migrations: from empty to latest, from every earlier version with data kept, idempotent.

One real gateway for the module; each test starts from an empty warehouse (``DROP DATABASE
buzz``). Upgrade tests fill every table that exists at version N with random rows of its own
columns (``generateRandom``, times set to now so no retention TTL applies), upgrade to the latest
version and check each table still has the same rows (count and a hash over those columns), and
that the rollups added later were backfilled from the rows already there.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from pipeline.warehouse.client import get_client
from pipeline.warehouse.migrate import apply_migrations, available_migrations
from pipeline.warehouse.retention import apply_retention, current_ttls
from tests.conftest import buzz_cmd, clean_env, start_warehouse

pytestmark = pytest.mark.timeout(300)

VERSIONS = [m.version for m in available_migrations()]
LATEST = VERSIONS[-1]
# Objects this migrations add; the test fails if one goes missing.
ANALYST_OBJECTS = {
    "rollup_subject_minute", "rollup_subject_hour", "rollup_subject_day",
    "rollup_platform_minute", "rollup_platform_hour", "rollup_platform_day",
    "subject_mentions_per_minute", "subject_mentions_per_hour", "subject_mentions_per_day",
    "platform_mentions_per_minute", "platform_mentions_per_hour", "platform_mentions_per_day",
    "mentions_latest", "thread_posts_latest", "signups_latest", "mention_scores_latest",
    "share_of_voice_daily", "spike_history", "validator_signups", "validator_scorecard_daily",
    "golden_threads", "unanswered_questions", "signups_attributed", "signups_daily",
    "buzz_signup_lead",
}  # fmt: skip


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    child, url = start_warehouse(tmp_path_factory.mktemp("migrations"))
    yield url
    child.stop()


@pytest.fixture
def client(url: str) -> Client:
    c = get_client(url=url)
    c.command("DROP DATABASE IF EXISTS buzz SYNC")
    return c


def tables(c: Client) -> dict[str, str]:
    rows = c.query("SELECT name, engine FROM system.tables WHERE database = 'buzz'").result_rows
    return {str(n): str(e) for n, e in rows}


def schema(c: Client) -> list[tuple[object, ...]]:
    tables_sql = "SELECT name, engine, create_table_query, comment FROM system.tables"
    columns_sql = "SELECT table, name, type, comment FROM system.columns"
    where = " WHERE database = 'buzz' ORDER BY ALL"
    return [tuple(r) for sql in (tables_sql, columns_sql) for r in c.query(sql + where).result_rows]


def columns(c: Client, table: str) -> list[tuple[str, str]]:
    rows = c.query(
        "SELECT name, type FROM system.columns WHERE database = 'buzz' AND table = {t:String}"
        " AND default_kind NOT IN ('MATERIALIZED', 'ALIAS', 'EPHEMERAL') ORDER BY position",
        parameters={"t": table},
    ).result_rows
    return [(str(n), str(t)) for n, t in rows]


def fill_randomly(c: Client, table: str, rows: int = 25) -> None:
    cols = columns(c, table)
    structure = ", ".join(f"`{n}` {t}" for n, t in cols)

    # Times are set to now: random dates would fall outside the retention TTLs and be cleared.
    # event_ids are unique, as sources make them: random ones collide ('' twice) across
    # platforms, which no real replay does.
    def value(n: str, t: str) -> str:
        if "Date" in t:
            return f"CAST(now64(3) AS {t}) AS `{n}`"
        if n == "event_id":
            return f"concat('{table}:', toString(rowNumberInAllBlocks())) AS `{n}`"
        return f"`{n}`"

    select = ", ".join(value(n, t) for n, t in cols)
    names = ", ".join(f"`{n}`" for n, _ in cols)
    literal = "'" + structure.replace("\\", "\\\\").replace("'", "\\'") + "'"
    c.command(
        f"INSERT INTO buzz.`{table}` ({names}) SELECT {select}"
        f" FROM generateRandom({literal}, {zlib.crc32(table.encode())}, 12, 3) LIMIT {rows}"
    )


def fingerprint(c: Client, table: str, cols: list[tuple[str, str]]) -> tuple[int, int]:
    names = ", ".join(f"`{n}`" for n, _ in cols)
    row = c.query(f"SELECT count(), sum(cityHash64({names})) FROM buzz.`{table}`").result_rows[0]
    return int(row[0]), int(row[1])


def test_from_empty_to_latest_every_object_has_a_comment(client: Client) -> None:
    applied = apply_migrations(client)
    assert [int(name[:4]) for name in applied] == VERSIONS
    assert set(tables(client)) >= ANALYST_OBJECTS
    no_comment = client.query(
        "SELECT name FROM system.tables WHERE database = 'buzz' AND comment = ''"
    ).result_rows
    assert no_comment == []
    # Columns analysts see: every table and view, not the materialised views' own plumbing.
    bare = client.query(
        "SELECT c.table, c.name FROM system.columns AS c INNER JOIN system.tables AS t"
        " ON t.database = c.database AND t.name = c.table"
        " WHERE c.database = 'buzz' AND t.engine != 'MaterializedView' AND c.comment = ''"
    ).result_rows
    assert bare == []
    for name, engine in tables(client).items():
        if engine == "View":
            client.query(f"SELECT * FROM buzz.`{name}` LIMIT 1")  # every view runs


@pytest.mark.parametrize("start", VERSIONS[:-1])
def test_upgrade_from_each_version_keeps_data(client: Client, start: int) -> None:
    apply_migrations(client, target=start)
    assert (
        max(
            int(r[0])
            for r in client.query("SELECT version FROM buzz.schema_migrations").result_rows
        )
        == start
    )
    before: dict[str, tuple[list[tuple[str, str]], tuple[int, int]]] = {}
    for name, engine in tables(client).items():
        if (
            name == "schema_migrations"
            or not engine.endswith("MergeTree")
            or engine.startswith("Aggregating")
        ):
            continue
        fill_randomly(client, name)
        cols = columns(client, name)
        before[name] = (cols, fingerprint(client, name, cols))
    assert bool(before) == (start >= 2)  # 0001 holds only the ledger

    apply_migrations(client)

    assert set(tables(client)) >= ANALYST_OBJECTS
    for name, (cols, fp) in before.items():
        assert fingerprint(client, name, cols) == fp, name
    # Rollups created after the data arrived were backfilled from it.
    if "mentions" in before:
        distinct = client.query(
            "SELECT platform, uniqExact(event_id) FROM buzz.mentions GROUP BY ALL ORDER BY ALL"
        ).result_rows
        for grain in ("minute", "hour", "day"):
            rolled = client.query(
                f"SELECT platform, sum(mentions) FROM buzz.platform_mentions_per_{grain}"
                " GROUP BY ALL ORDER BY ALL"
            ).result_rows
            assert rolled == distinct, grain
    if "mention_scores" in before:
        distinct = client.query(
            "SELECT subject, uniqExact(event_id) FROM buzz.mention_scores GROUP BY ALL ORDER BY ALL"
        ).result_rows
        rolled = client.query(
            "SELECT subject, sum(mentions) FROM buzz.subject_mentions_per_day"
            " GROUP BY ALL ORDER BY ALL"
        ).result_rows
        assert rolled == distinct


def test_applying_twice_changes_nothing(client: Client) -> None:
    apply_migrations(client)
    first = schema(client)
    assert apply_migrations(client) == []
    assert schema(client) == first
    assert apply_retention(client, 365, 90) == []  # the defaults are already in place


def test_rollups_count_a_replayed_mention_once(client: Client) -> None:
    apply_migrations(client)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cols = ["event_id", "platform", "occurred_at", "ingested_at", "author_id", "text"]
    for seen in range(3):  # the same post ingested three times (a replay), not merged
        row = ["x:1", "x", now, now + dt.timedelta(seconds=seen), "a", "hi"]
        client.insert("buzz.mentions", [row], column_names=cols)
    client.insert("buzz.mentions", [["x:2", "x", now, now, "b", "hello"]], column_names=cols)
    assert client.query("SELECT count() FROM buzz.mentions").result_rows == [(4,)]
    for grain in ("minute", "hour", "day"):
        rows = client.query(
            f"SELECT mentions, authors FROM buzz.platform_mentions_per_{grain} WHERE platform = 'x'"
        ).result_rows
        assert rows == [(2, 2)], grain
    assert client.query("SELECT count() FROM buzz.mentions_latest").result_rows == [(2,)]


def test_retention_ttls_follow_settings_and_expire_old_values(client: Client) -> None:
    apply_migrations(client, retention=False)
    assert apply_retention(client, 365, 90) != []
    assert (
        current_ttls(client, "mentions")["text"] == "toDateTime(occurred_at) + toIntervalDay(365)"
    )
    assert (
        current_ttls(client, "signups")["email_hmac"]
        == "toDateTime(occurred_at) + toIntervalDay(90)"
    )
    assert (
        current_ttls(client, "dead_letters")["payload"]
        == "toDateTime(received_at) + toIntervalDay(90)"
    )
    now = dt.datetime.now(dt.UTC)
    cols = ["event_id", "occurred_at", "ingested_at", "channel", "email_hmac", "phone_hmac"]
    client.insert("buzz.signups", [
        ["old", now - dt.timedelta(days=120), now, "web", "h-old", "p-old"],
        ["new", now - dt.timedelta(days=3), now, "web", "h-new", None],
    ], column_names=cols)  # fmt: skip
    mcols = ["event_id", "occurred_at", "ingested_at", "text"]
    client.insert("buzz.mentions", [
        ["m-old", now - dt.timedelta(days=400), now, "old words"],
        ["m-new", now - dt.timedelta(days=3), now, "new words"],
    ], column_names=mcols)  # fmt: skip
    client.command("OPTIMIZE TABLE buzz.signups FINAL")  # TTLs apply when parts merge
    client.command("OPTIMIZE TABLE buzz.mentions FINAL")
    rows = client.query(
        "SELECT event_id, email_hmac, phone_hmac FROM buzz.signups ORDER BY event_id"
    )
    assert rows.result_rows == [("new", "h-new", None), ("old", None, None)]  # row kept, PII gone
    texts = client.query("SELECT event_id, text FROM buzz.mentions ORDER BY event_id").result_rows
    assert texts == [("m-new", "new words"), ("m-old", "")]
    # 0 removes a TTL; comments survive every change.
    assert "buzz.signups.email_hmac: TTL removed (kept for ever)" in apply_retention(client, 365, 0)
    assert current_ttls(client, "signups")["email_hmac"] == ""
    comment = client.query(
        "SELECT comment FROM system.columns WHERE database = 'buzz' AND table = 'signups'"
        " AND name = 'email_hmac'"
    ).result_rows[0][0]
    assert comment.startswith("Keyed HMAC-SHA256 of the normalised email")


def test_buzz_migrate_applies_retention_from_settings(
    url: str, client: Client, tmp_path: Path
) -> None:
    env = clean_env(BUZZ_CLICKHOUSE_URL=url, BUZZ_PII_TTL_DAYS="30", BUZZ_RAW_TEXT_TTL_DAYS="180")
    first = subprocess.run(
        buzz_cmd("migrate"), capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    assert f"applied {len(VERSIONS)} migration(s)" in first.stdout
    assert "retention: buzz.signups.email_hmac: expires 30 days after occurred_at" in first.stdout
    assert "retention: buzz.mentions.text: expires 180 days after occurred_at" in first.stdout
    again = subprocess.run(
        buzz_cmd("migrate"), capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path
    )
    assert again.returncode == 0 and again.stdout.strip() == "warehouse schema is up to date"
    bad = subprocess.run(
        buzz_cmd("migrate"), capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env=env | {"BUZZ_PII_TTL_DAYS": "-1"},
    )  # fmt: skip
    assert bad.returncode != 0 and "BUZZ_PII_TTL_DAYS" in bad.stderr
