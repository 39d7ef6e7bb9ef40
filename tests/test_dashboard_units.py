"""The dashboard's pure parts, without Streamlit or a warehouse: the summary sentence, the lag
in words, the cascade picture and alert explanations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from dashboard.alert_text import driver_phrase, explanation_lines, link_label, title_text
from dashboard.cascade import CascadeNode, cascade_dot, compact, summary
from dashboard.summary import SubjectInfo, lag_sentence, multiple, summarise

NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
SUBJECTS = {
    "kim": SubjectInfo("Jordan Kim", "candidate"),
    "reyes": SubjectInfo("Dana Reyes", "rival"),
    "transit": SubjectInfo("Riverline transit", "issue"),
}


def recent(kim: int, reyes: int, expected: float | None = 2.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bucket": [NOW - timedelta(minutes=5)] * 2,
            "subject": ["kim", "reyes"],
            "mentions": [kim, reyes],
            "expected": [expected, expected],
            "provisional": [0, 0],
        }
    )


def spike(
    subject: str,
    minutes_ago: int,
    attack: bool,
    why: dict[str, Any] | None = None,
    handled: int = 0,
) -> dict[str, Any]:
    return {
        "subject": subject,
        "last_minute": NOW - timedelta(minutes=minutes_ago),
        "mentions": 50,
        "expected": 10.0,
        "negative": 39.0 if attack else 5.0,
        "attack": int(attack),
        "handled": handled,
        "explanation": {"why": why or {}},
    }


WHY = {
    "hashtags": [{"item": "kimscandal", "spike_posts": 30, "baseline_posts": 0}],
    "terms": [{"item": "affair", "spike_posts": 20, "baseline_posts": 1}],
}


def test_an_attack_in_progress_comes_first() -> None:
    spikes = pd.DataFrame([spike("reyes", 1, False), spike("kim", 3, True, WHY)])
    s = summarise(recent(60, 20), spikes, SUBJECTS, NOW)
    assert s.level == "attack"
    assert s.sentence == (
        "Attack on Jordan Kim in progress: 5× normal volume, 78% negative, driven by "
        "#kimscandal. Also 1 other spike right now."
    )


@pytest.mark.parametrize(
    ("subject", "start"),
    [
        ("kim", "Jordan Kim is getting attention: "),
        ("reyes", "Spike in talk about Dana Reyes: "),
        ("transit", "Riverline transit is being talked about: "),
    ],
)
def test_spikes_are_told_by_whose_they_are(subject: str, start: str) -> None:
    s = summarise(recent(10, 10), pd.DataFrame([spike(subject, 2, False)]), SUBJECTS, NOW)
    assert s.level == "spike"
    assert s.sentence == f"{start}5× normal volume, 10% negative."


def test_an_open_attack_that_ended_is_still_mentioned() -> None:
    spikes = pd.DataFrame([spike("kim", 25, True, WHY)])
    s = summarise(recent(4, 2), spikes, SUBJECTS, NOW)
    assert s.level == "calming"
    assert s.sentence.startswith("The attack on Jordan Kim (25 min ago) has calmed down")
    handled = pd.DataFrame([spike("kim", 25, True, WHY, handled=1)])
    assert summarise(recent(4, 2), handled, SUBJECTS, NOW).level == "quiet"


def test_quiet_warming_and_silent() -> None:
    none = pd.DataFrame()
    quiet = summarise(recent(30, 10), none, SUBJECTS, NOW)
    assert quiet.sentence == (
        "All quiet: buzz within normal range. Jordan Kim: 30 mentions in the last 15 min, "
        "75% share of voice."
    )
    warming = summarise(recent(30, 10, expected=None), none, SUBJECTS, NOW)
    assert warming.level == "warming" and "40 mentions" in warming.sentence
    assert summarise(recent(0, 0), none, SUBJECTS, NOW).sentence == (
        "All quiet: no mentions in the last 15 minutes."
    )


def test_multiple_reads_naturally() -> None:
    assert multiple(50, 10) == "5× normal volume"
    assert multiple(25, 10) == "2.5× normal volume"
    assert multiple(12, 0.1) == "12 mentions where there are usually almost none"


def test_lag_in_words() -> None:
    lag = pd.DataFrame(
        {"lag_hours": [0, 1, 2, 3], "r": [0.2, 0.5, 0.62, None], "pairs": [300, 299, 298, 297]}
    )
    assert lag_sentence(lag) == (
        "Signups tend to come **about 2 hours after buzz** (r = 0.62 over 298 hours compared)."
    )
    weak = lag.assign(r=[0.1, 0.2, None, None])
    assert lag_sentence(weak).startswith("No clear link yet between buzz and signups")
    assert lag_sentence(lag.assign(r=None)).startswith("Not enough history yet")


def test_cascade_dot_draws_the_tree() -> None:
    nodes = [
        CascadeNode("x:1", None, "mayortorres", 12_000, "root", 0),
        CascadeNode("x:2", "x:1", "amy", 1_500, "reshare", 1),
        CascadeNode("x:3", "x:2", 'q"uote', 10, "reply", 2),
    ]
    dot = cascade_dot(nodes)
    assert dot.startswith("digraph cascade {") and dot.endswith("}")
    assert '"x:1" [label="@mayortorres\\n12k followers", fillcolor="#1d4ed8"' in dot
    assert '"x:1" -> "x:2";' in dot and '"x:2" -> "x:3" [style=dashed];' in dot
    assert '@q\\"uote' in dot  # quotes in handles cannot break the DOT string
    assert summary(nodes) == "3 posts: 1 reshare by 1 person, 1 reply, 2 hops deep"


def test_cascade_dot_folds_a_broadcast() -> None:
    root = CascadeNode("r", None, "v", 10, "root", 0)
    kids = [CascadeNode(f"k{i}", "r", f"p{i}", 1, "reshare", 1) for i in range(20)]
    dot = cascade_dot([root, *kids], max_children=5)
    assert dot.count('"r" -> "k') == 5 and '[label="+15 more"' in dot
    assert compact(2_100_000) == "2.1M" and compact(999) == "999"


def test_alert_text() -> None:
    assert title_text("Possible attack on kim: 5 a minute", {"kim": "Jordan Kim"}) == (
        "Possible attack on Jordan Kim: 5 a minute"
    )
    assert driver_phrase(WHY) == "#kimscandal"
    assert driver_phrase({"terms": WHY["terms"]}) == "“affair”"
    assert link_label("https://www.example.com/news/kim/") == "example.com/news/kim"
    lines = explanation_lines(
        "golden_thread", {"metrics": {"transactions": 5, "participants": 4, "quality": 0.62}}
    )
    assert lines == ["**5** real exchanges, 4 people, quality 0.62"]
    # An explanation from an older worker, or garbage, reads as nothing rather than failing.
    assert explanation_lines("spike", {}) == []
    assert explanation_lines("cascade", {"reach": "?"}) == []
