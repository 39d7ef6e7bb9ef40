"""Alerts, Validators, Conversations, Signups and Health, driven by AppTest against the real
embedded warehouse (and broker) filled with the scenario of ``tests/test_dashboard_scenario.py``.

Each test asserts on what the page shows, and the Alerts test on the one write the dashboard
makes: marking an alert handled appends exactly one row to ``buzz.alert_actions``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.warehouse.client import get_client
from tests.test_dashboard import dashboard_env as dashboard_env
from tests.test_dashboard import markdown_text, metric, open_page, table_with
from tests.test_dashboard_scenario import (
    BEST_LAG_HOURS,
    CASCADE,
    COMMITTED,
    GOLDEN_ALERT,
    GOLDEN_TITLES,
    LEADERBOARD_1H,
    NEW_VALIDATORS_1H,
    QUESTIONS,
    SIGNUPS_1H,
    SOURCE_ERROR,
    alert_rows,
    seed_warehouse,
    worker_behind,
)


@pytest.fixture(scope="module")
def scenario(own_warehouse: str) -> str:
    seed_warehouse(get_client(url=own_warehouse), datetime.now(UTC))
    return own_warehouse


# --- Alerts ----------------------------------------------------------------------------------


def reyes_alert_id() -> str:
    return next(r[0] for r in alert_rows(datetime.now(UTC)) if r[2] == "reyes")


def test_alerts_feed_and_mark_as_handled(scenario: str, dashboard_env: Any) -> None:
    at = open_page(scenario, dashboard_env, "alerts")
    assert at.title[0].value == "Alerts"
    text = markdown_text(at)
    # Open alerts only by default: urgent ones first, then the opportunity queue, each latest
    # first, names instead of ids, with their reasons.
    assert "Thread worth joining" not in text  # handled already
    assert [h.value for h in at.subheader] == [
        ":material/notifications_active: Urgent (4)",
        ":material/inbox: Opportunity queue (2)",
    ]
    order = [
        text.index(t)
        for t in (
            "Possible attack on Jordan Kim",
            "Coordinated posting about Jordan Kim",
            "Signup surge on referral",
            "Spike in mentions of Dana Reyes",
            "First post from validator",
            "Unanswered question for 120 min",
        )
    ]
    assert order == sorted(order)
    # The attack went on for three minutes: one card, its latest version, how long it went on,
    # and how much of it was one text pasted by many accounts.
    assert text.count("Possible attack on Jordan Kim") == 1
    assert "(3 min so far, peak 10)" in text
    assert "Going on for 3 min (3 minutes flagged), updated 2 times" in text
    assert "60% of this minute's 10 posts are 6 near-identical posts from 6 accounts" in text
    assert "12 near-identical posts from 11 accounts** (0 like them in the hour before)" in text
    assert "@troll0, @troll1" in text
    assert "“debate” (7 posts, 0 before)" in text
    assert "> Where does Kim stand on rent control?" in text

    client = get_client(url=scenario)
    alert = reyes_alert_id()
    before = int(str(client.command("SELECT count() FROM buzz.alert_actions")))
    at.button(key=f"handle_{alert}").click().run()
    assert not at.exception
    assert at.success[0].value == "Marked as handled."
    assert "Spike in mentions of Dana Reyes" not in markdown_text(at)
    rows = client.query(
        "SELECT action, actor FROM buzz.alert_actions WHERE alert_id = {a:String}",
        parameters={"a": alert},
    ).result_rows
    assert rows == [("handled", "dashboard")]
    assert int(str(client.command("SELECT count() FROM buzz.alert_actions"))) == before + 1
    # The alert itself is untouched; the view reads the log.
    assert (
        int(
            str(client.command(f"SELECT handled FROM buzz.alerts FINAL WHERE alert_id = '{alert}'"))
        )
        == 0
    )
    assert (
        int(
            str(
                client.command(
                    f"SELECT handled FROM buzz.alerts_current WHERE alert_id = '{alert}'"
                )
            )
        )
        == 1
    )

    at.segmented_control(key="alerts_state").set_value("handled").run()
    assert at.query_params["state"] == "handled"
    captions = [c.value for c in at.caption]
    assert any(c.startswith(":material/check: Handled by dashboard") for c in captions)
    assert any(c.startswith(":material/check: Handled by sam") for c in captions)
    assert at.button(key=f"reopen_{GOLDEN_ALERT}")


def test_alerts_filter_by_kind_from_the_url(scenario: str, dashboard_env: Any) -> None:
    at = open_page(scenario, dashboard_env, "alerts", kind="unanswered_question", state="all")
    text = markdown_text(at)
    assert "Unanswered question for 120 min" in text
    assert "Possible attack" not in text and "Signup surge" not in text
    assert at.caption[0].value.startswith("1 ")


# --- Validators ------------------------------------------------------------------------------


def test_validators_leaderboard_new_and_cascade(scenario: str, dashboard_env: Any) -> None:
    at = open_page(scenario, dashboard_env, "validators")
    assert metric(at, "Validators who spoke, last 1 h").value == "3"
    assert metric(at, "Trust-weighted reach").value == "71k"
    assert metric(at, "New validators").value == str(len(NEW_VALIDATORS_1H))
    board = table_with(at, "trust_weighted_reach")
    assert [(r.name, r.posts, r.trust_weighted_reach) for r in board.itertuples()] == LEADERBOARD_1H
    text = markdown_text(at)
    for name in NEW_VALIDATORS_1H:
        assert f"**{name}**" in text
    assert "**Mayor Alicia Torres**" not in text  # she spoke three days ago: not new

    # The best-reaching post is chosen first; its cascade is drawn with every amplifier.
    assert at.selectbox(key="validators_post").value == "x:v1"
    dot = at.get("graphviz_chart")[0].proto.spec
    for _, author, *_ in CASCADE:
        assert f"@{author}" in dot
    assert '"x:c2" -> "x:c4"' in dot and '"x:v1" -> "x:c5" [style=dashed]' in dot
    assert any(
        c.value.startswith("6 posts: 4 reshares by 4 people, 1 reply, 2 hops deep")
        for c in at.caption
    )


# --- Conversations ---------------------------------------------------------------------------


def test_conversations_queue_oldest_first_and_golden_threads(
    scenario: str, dashboard_env: Any
) -> None:
    at = open_page(scenario, dashboard_env, "conversations")
    assert metric(at, "Questions waiting").value == "2"
    assert metric(at, "Oldest waiting").value == "3 h"
    assert metric(at, "Golden threads, last 1 h").value == "2"
    assert metric(at, "Real exchanges, last 1 h").value == "8"
    queue = table_with(at, "question")
    # The answered question (the school budget) is not in the queue; the oldest comes first.
    assert list(zip(queue["question"], queue["author_handle"], strict=True)) == QUESTIONS
    assert queue["url"].tolist() == ["https://forum.example/t/2/2", "https://forum.example/t/2/3"]
    assert queue["overdue"].tolist() == [True, True]
    golden = table_with(at, "quality")
    assert golden["thread_title"].tolist() == GOLDEN_TITLES


# --- Signups ---------------------------------------------------------------------------------


def test_signups_by_channel_referral_attribution_and_lag(scenario: str, dashboard_env: Any) -> None:
    at = open_page(scenario, dashboard_env, "signups")
    assert metric(at, "Signups, last 1 h").value == str(SIGNUPS_1H)
    assert metric(at, "With a referral code").value == "4"
    assert metric(at, "Credited to validators").value == "4"
    assert metric(at, "Buzz leads signups by").value == f"{BEST_LAG_HOURS} h"
    drivers = table_with(at, "label")
    assert dict(zip(drivers["label"], drivers["signups"], strict=True)) == {
        "Mayor Alicia Torres": 3,
        "Ray Okafor (Teamsters Local 27)": 1,
        "Riverline extension: who pays?": 2,
        "@amy: Proud to back Jordan Kim": 1,
        "web": 2,
        "event": 2,
    }
    codes = table_with(at, "referral_code")
    assert dict(zip(codes["referral_code"], codes["signups"], strict=True)) == {
        "MAYORTORRES": 3,
        "RAYOKAFOR27": 1,
    }
    assert "Signups tend to come **about 3 hours after buzz** (r = 0.62" in markdown_text(at)
    channels = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert "Signups per 5 minutes" in json.dumps(channels)


# --- Health ----------------------------------------------------------------------------------


def test_health_writes_lag_sources_and_dead_letters(
    scenario: str, broker_url: str, dashboard_env: Any
) -> None:
    worker_behind(broker_url)
    dashboard_env.setenv("BUZZ_KAFKA_URL", broker_url)
    at = open_page(scenario, dashboard_env, "health")
    assert metric(at, "Mentions stored").value == str(
        int(str(get_client(url=scenario).command("SELECT count() FROM buzz.mentions FINAL")))
    )
    dead = metric(at, "Dead letters, last 24 h")
    assert (dead.value, dead.delta) == ("2", "2 in all")
    assert "The pipeline is writing" in at.success[0].value
    # Consumer lag straight from the broker: partition 0 had 2 of its messages processed.
    lag = table_with(at, "lag")
    row = lag[(lag["topic"] == "buzz.mentions") & (lag["partition"] == 0)].iloc[0]
    assert row["committed"] == COMMITTED and row["lag"] == row["end"] - COMMITTED > 0
    assert metric(at, "Worker behind by").value == f"{int(lag['lag'].sum())} messages"
    # Each source's last success and error, and the failing one said out loud.
    sources = table_with(at, "last_error")
    assert sources["status"].tolist() == ["running", "ERROR"]
    assert sources["last_error"].tolist() == ["", SOURCE_ERROR]
    assert any(SOURCE_ERROR in e.value and "rss/northside" in e.value for e in at.error)
    reasons = table_with(at, "reason")["reason"].tolist()
    assert reasons == [
        "missing field occurred_at",
        "invalid JSON: Expecting value: line 1 column 1 (char 0)",
    ]
    assert "Events per second" in [m.label for m in at.metric]


def test_health_without_broker_or_source_table(scenario: str, dashboard_env: Any) -> None:
    client = get_client(url=scenario)
    client.command("DROP TABLE IF EXISTS buzz.source_status")
    try:
        at = open_page(scenario, dashboard_env, "health")  # the broker port is closed
        assert any("is not answering" in w.value for w in at.warning)
        assert metric(at, "Worker behind by").value == "unknown"
        assert any("buzz.source_status" in i.value and "buzz migrate" in i.value for i in at.info)
        assert table_with(at, "reason") is not None  # the warehouse part still shows
    finally:
        seed_warehouse(client, datetime.now(UTC))
