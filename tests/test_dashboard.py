"""The dashboard's pages, driven by Streamlit's AppTest against the real embedded warehouse.

The warehouse is filled with known rows placed relative to now (so they fall in the Now page's
windows) and each test asserts on what a staffer would read: metric values, table rows, the
dead-letter reasons. The module empties ``buzz.mentions`` and ``buzz.dead_letters`` first, so
its figures are exact whatever ran before it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from streamlit.testing.v1 import AppTest

from dashboard import queries
from dashboard.queries import QueryRejected, check_readonly
from pipeline.settings import get_settings
from pipeline.warehouse.client import get_client
from tests.conftest import free_port

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
TIMEOUT = 60

# Minutes ago (whole minutes before the current one) that hold mentions in the last hour. The
# gap at 12-17 keeps the 15-minute window's edge empty and the oldest is 41 minutes old, far
# from the hour's edge, so a minute ticking over during the test changes no figure.
RECENT_MINUTES = [*range(2, 12), *range(18, 42)]  # 34 minutes
PREVIOUS_HOUR_MINUTES = range(70, 100)  # 30 minutes in the hour before the last one
EXPECTED_1H = {
    "Jordan Kim": 170,
    "Dana Reyes": 68,
    "Riverline transit": 10,
    "Affordable housing": 12,
}
EXPECTED_15M = {
    "Jordan Kim": 50,
    "Dana Reyes": 20,
    "Riverline transit": 10,
    "Affordable housing": 0,
}
EXPECTED_STORED = 260 + 60 + 10  # last hour + previous hour + three days ago
DEAD_REASONS = [
    "invalid JSON: Expecting value: line 1 column 1 (char 0)",
    "missing field occurred_at",
]

MENTION_COLUMNS = [
    "event_id", "platform", "occurred_at", "ingested_at", "author_id", "author_handle",
    "author_name", "author_audience", "text", "url", "lang", "likes", "reshares", "replies",
    "quotes", "reshare_of", "reply_to", "links", "hashtags", "sunk_at",
]  # fmt: skip
DEAD_COLUMNS = [
    "event_id", "source_topic", "partition", "offset", "source", "reason", "payload",
    "received_at",
]  # fmt: skip


def _mention(
    n: int, at: datetime, text: str, author: str, tags: list[str], version: int = 0
) -> list[Any]:
    return [
        f"x:{n}", "x", at, at + timedelta(seconds=1 + version), author, author, author.title(),
        1000 + n, text, f"https://x.example/{author}/status/{n}", "en", n % 7, n % 3, n % 2, 0,
        None, None, [], tags, at + timedelta(seconds=2),
    ]  # fmt: skip


def known_mentions(now: datetime) -> list[list[Any]]:
    """Mentions whose counts per window and subject are the EXPECTED_* figures above.

    Texts are chosen so each matches exactly one subject's terms (no stray "rent" inside
    "parent"), and author ids repeat so unique authors are known: 17 in the last hour.
    """
    minute = now.replace(second=0, microsecond=0)
    rows: list[list[Any]] = []

    def add(minutes_ago: int, text: str, author: str, tags: list[str]) -> None:
        at = minute - timedelta(minutes=minutes_ago) + timedelta(seconds=20)
        rows.append(_mention(len(rows), at, text, author, tags))

    for m in RECENT_MINUTES:
        for i in range(5):
            add(m, f"Jordan Kim at the town hall tonight ({i})", f"kimfan{i * 2 + m % 2}",
                ["kimforsenate"])  # fmt: skip
        for i in range(2):
            add(m, "Dana Reyes ad spotted downtown", f"reyesfan{i * 2 + m % 2}", ["reyes2026"])
        if m < 12:
            add(m, "Bus lanes on Main St were packed this morning", "commuter", ["transit"])
        if m >= 30:
            add(m, "We need affordable housing near the school", f"neighbour{m % 2}", [])
    for m in PREVIOUS_HOUR_MINUTES:
        for i in range(2):
            add(m, "Jordan Kim on the radio", f"listener{i}", ["kimforsenate"])
    for i in range(10):
        add(3 * 24 * 60 + i, "Jordan Kim announces the campaign", "archive", [])
    return rows


def known_dead_letters(now: datetime) -> list[list[Any]]:
    return [
        ["dl:buzz.mentions:2:17", "buzz.mentions", 2, 17, "", DEAD_REASONS[0], "{not json",
         now - timedelta(minutes=10)],
        ["dl:x:9f2c", "", -1, -1, "x", DEAD_REASONS[1], '{"id": "17"}',
         now - timedelta(minutes=3)],
    ]  # fmt: skip


def seed_warehouse(client: Client, now: datetime) -> None:
    """Replace the contents of buzz.mentions and buzz.dead_letters with the known rows.

    A few mentions are written twice with a newer version, as a replay would: the pages read
    FINAL, so the figures must not change.
    """
    client.command("TRUNCATE TABLE IF EXISTS buzz.mentions")
    client.command("TRUNCATE TABLE IF EXISTS buzz.dead_letters")
    rows = known_mentions(now)
    client.insert("buzz.mentions", rows, column_names=MENTION_COLUMNS)
    replays = [[*r[:3], r[3] + timedelta(seconds=5), *r[4:]] for r in rows[:10]]
    client.insert("buzz.mentions", replays, column_names=MENTION_COLUMNS)
    client.insert("buzz.dead_letters", known_dead_letters(now), column_names=DEAD_COLUMNS)


@pytest.fixture(scope="module")
def filled_warehouse(own_warehouse: str) -> str:
    seed_warehouse(get_client(url=own_warehouse), datetime.now(UTC))
    return own_warehouse


@pytest.fixture
def dashboard_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Clean dashboard caches around a test; the test sets BUZZ_CLICKHOUSE_URL itself."""
    for name in ("BUZZ_CLICKHOUSE_URL", "BUZZ_CAMPAIGN_FILE", "BUZZ_DASHBOARD_REFRESH_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    queries.load_now.clear()
    queries.load_health.clear()
    queries.load_explore.clear()
    get_settings.cache_clear()  # the app reads settings fresh; clear it for anything that doesn't
    yield monkeypatch
    get_settings.cache_clear()


def open_page(url: str, monkeypatch: pytest.MonkeyPatch, page: str | None = None) -> AppTest:
    monkeypatch.setenv("BUZZ_CLICKHOUSE_URL", url)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> Any:
    found = [m for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return found[0]


def subject_counts(at: AppTest) -> dict[str, int]:
    table = next(df.value for df in at.dataframe if "Subject" in df.value.columns)
    return dict(zip(table["Subject"], table["Mentions"].astype(int), strict=True))


def chart_specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


# --- Now -----------------------------------------------------------------------------------


def test_now_shows_the_last_hour_by_subject(filled_warehouse: str, dashboard_env: Any) -> None:
    at = open_page(filled_warehouse, dashboard_env)

    assert at.title[0].value == "Buzz right now"
    mentions = metric(at, "Mentions, last 1 h")
    assert mentions.value == "260"
    assert mentions.delta == "+200 (+333%)"  # 60 in the hour before
    assert metric(at, "Unique authors, last 1 h").value == "17"
    top = metric(at, "Top hashtag")
    assert (top.value, top.delta) == ("#kimforsenate", "170 uses")
    assert metric(at, "Newest mention").value.endswith("min ago")
    assert subject_counts(at) == EXPECTED_1H

    specs = chart_specs(at)
    assert len(specs) == 1 and "Mentions per minute" in json.dumps(specs[0])
    newest = next(df.value for df in at.dataframe if "text" in df.value.columns)
    assert len(newest) == 20
    assert newest["occurred_at"].is_monotonic_decreasing
    assert at.query_params["window"] == "1h"
    assert not at.error


def test_now_window_comes_from_and_goes_to_the_url(
    filled_warehouse: str, dashboard_env: Any
) -> None:
    dashboard_env.setenv("BUZZ_CLICKHOUSE_URL", filled_warehouse)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["window"] = "15m"
    at.run()
    assert not at.exception
    assert metric(at, "Mentions, last 15 min").value == "80"
    assert subject_counts(at) == EXPECTED_15M

    at.segmented_control(key="now_window").set_value("24h").run()
    assert at.query_params["window"] == "24h"
    assert metric(at, "Mentions, last 24 h").value == str(260 + 60)
    assert "Mentions per 15 minutes" in json.dumps(chart_specs(at)[0])


def test_now_on_an_empty_warehouse_says_how_to_start(
    own_warehouse: str, dashboard_env: Any
) -> None:
    client = get_client(url=own_warehouse)
    client.command("TRUNCATE TABLE IF EXISTS buzz.mentions")
    try:
        at = open_page(own_warehouse, dashboard_env)
        assert "No mentions yet" in at.info[0].value
        assert "buzz up --demo" in at.info[0].value
        assert not at.error and not at.metric
    finally:
        seed_warehouse(client, datetime.now(UTC))


# --- Health --------------------------------------------------------------------------------


def test_health_shows_writes_and_dead_letters(filled_warehouse: str, dashboard_env: Any) -> None:
    at = open_page(filled_warehouse, dashboard_env, "health")

    assert at.title[0].value == "Pipeline health"
    assert metric(at, "Written, last hour").value == "260"
    assert metric(at, "Mentions stored").value == str(EXPECTED_STORED)
    dead = metric(at, "Dead letters, last 24 h")
    assert (dead.value, dead.delta) == ("2", "2 in all")
    assert "The pipeline is writing" in at.success[0].value

    table = next(df.value for df in at.dataframe if "reason" in df.value.columns)
    assert table["reason"].tolist() == DEAD_REASONS[::-1]  # newest first
    assert table["came_from"].tolist() == ["x", "buzz.mentions #2 @17"]
    assert len(chart_specs(at)) == 1


# --- Explore -------------------------------------------------------------------------------


def run_sql(at: AppTest, sql: str) -> AppTest:
    at.text_area(key="explore_sql").input(sql)
    return at.button(key="explore_run").click().run()


def test_explore_runs_a_query_and_offers_csv(filled_warehouse: str, dashboard_env: Any) -> None:
    at = open_page(filled_warehouse, dashboard_env, "explore")
    assert at.dataframe, "the example query's answer is shown before anything is run"

    run_sql(at, "SELECT count() AS n FROM buzz.mentions FINAL")
    assert not at.exception
    assert int(at.dataframe[0].value["n"].iloc[0]) == EXPECTED_STORED
    assert not chart_specs(at)  # nothing to chart in one number

    run_sql(
        at,
        "SELECT toStartOfMinute(occurred_at) AS minute, count() AS mentions "
        "FROM buzz.mentions FINAL WHERE occurred_at >= now() - INTERVAL 1 HOUR "
        "GROUP BY minute ORDER BY minute;",
    )
    assert len(at.dataframe[0].value) == len(RECENT_MINUTES)
    assert len(chart_specs(at)) == 1
    assert at.get("download_button")


@pytest.mark.parametrize(
    "sql",
    ["DROP TABLE buzz.mentions", "INSERT INTO buzz.mentions (event_id) VALUES ('x')"],
)
def test_explore_refuses_writes(filled_warehouse: str, dashboard_env: Any, sql: str) -> None:
    at = open_page(filled_warehouse, dashboard_env, "explore")
    run_sql(at, sql)
    assert not at.exception
    assert "is not allowed" in at.warning[0].value
    count = get_client(url=filled_warehouse).command("SELECT count() FROM buzz.mentions FINAL")
    assert int(str(count)) == EXPECTED_STORED


def test_explore_explains_a_bad_query(filled_warehouse: str, dashboard_env: Any) -> None:
    at = open_page(filled_warehouse, dashboard_env, "explore")
    run_sql(at, "SELECT no_such_column FROM buzz.mentions")
    assert not at.exception
    assert at.error[0].value.startswith("The warehouse could not run this query:")
    assert "no_such_column" in at.error[0].value


# --- Warehouse down ------------------------------------------------------------------------


@pytest.mark.parametrize("page", [None, "health", "explore"])
def test_unreachable_warehouse_is_explained(
    dashboard_env: Any, page: str | None, unused_port: int
) -> None:
    url = f"http://127.0.0.1:{unused_port}"
    at = open_page(url, dashboard_env, page)
    assert at.error[0].value == f"The warehouse at {url} is not answering."
    assert "buzz up" in at.info[0].value
    assert not at.exception


@pytest.fixture
def unused_port() -> int:
    return free_port()


# --- The query module on its own -----------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO buzz.mentions (event_id) VALUES ('x')",
        "DROP TABLE buzz.mentions",
        "  -- looks harmless\n drop database buzz",
        "SELECT 1; DROP TABLE buzz.mentions",
        "/* SELECT */ ALTER TABLE buzz.mentions DELETE WHERE 1",
        "SELECT * FROM buzz.mentions INTO OUTFILE 'stolen.csv'",
        "",
    ],
)
def test_guard_rejects_anything_but_one_read(sql: str) -> None:
    with pytest.raises(QueryRejected):
        check_readonly(sql)


@pytest.mark.parametrize(
    ("sql", "statement"),
    [
        ("select 1", "select 1"),
        ("SELECT ';' AS semi, 'DROP TABLE x' AS s;", "SELECT ';' AS semi, 'DROP TABLE x' AS s"),
        (
            "WITH t AS (SELECT 1 AS x) SELECT x FROM t;\n-- done",
            "WITH t AS (SELECT 1 AS x) SELECT x FROM t",
        ),
        ("SHOW TABLES FROM buzz", "SHOW TABLES FROM buzz"),
        ("DESCRIBE TABLE buzz.mentions", "DESCRIBE TABLE buzz.mentions"),
    ],
)
def test_guard_passes_reads(sql: str, statement: str) -> None:
    assert check_readonly(sql) == statement


def test_explore_queries_are_sent_readonly() -> None:
    class Recorder:
        def query_df(self, sql: str, settings: dict[str, Any]) -> Any:
            import pandas as pd

            self.sql, self.settings = sql, settings
            return pd.DataFrame({"x": range(5)})

    client = Recorder()
    df = queries.run_readonly(client, "SELECT x FROM t;", max_rows=3)  # type: ignore[arg-type]
    assert client.settings["readonly"] == 2
    assert client.sql == "SELECT x FROM t"
    assert len(df) == 3


def test_launch_refuses_a_taken_port(capsys: pytest.CaptureFixture[str]) -> None:
    from dashboard.launch import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(port=port) == 1
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err
