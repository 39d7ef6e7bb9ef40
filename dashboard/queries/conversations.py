"""Conversations: threads worth joining, and questions nobody has answered yet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pandas as pd
from clickhouse_connect.driver.client import Client

from dashboard.queries.base import TS, Window, utc_columns

# The scorer stops raising unanswered-question alerts after a week (docs/scoring.md section 11):
# older exchanges are rarely worth reviving, so the queue stops there too.
QUESTION_MAX_AGE = timedelta(days=7)


def thread_totals(client: Client, subjects: Sequence[str] | None, window: Window) -> pd.DataFrame:
    """One row over threads active in the window: threads, golden, transactions, questions."""
    return client.query_df(
        f"""
        SELECT count() AS threads, countIf(golden = 1) AS golden,
               sum(transactions) AS transactions, sum(questions) AS questions,
               sum(questions_answered) AS answered
        FROM buzz.thread_scores FINAL
        WHERE last_post_at >= {{start:{TS}}}
          AND ({{all_subjects:Bool}} OR subject IN {{subjects:Array(String)}})
        """,
        parameters=window.params()
        | {"all_subjects": subjects is None, "subjects": list(subjects or [])},
    )


def golden_threads(
    client: Client, subjects: Sequence[str] | None, window: Window, limit: int = 50
) -> pd.DataFrame:
    """Golden threads active in the window, most recently active first (still worth joining)."""
    df = client.query_df(
        f"""
        SELECT thread_id, thread_title, subject, url, first_post_at, last_post_at, posts,
               participants, transactions, back_and_forth, links_added, questions,
               questions_answered, quality
        FROM buzz.thread_scores FINAL
        WHERE golden = 1 AND last_post_at >= {{start:{TS}}}
          AND ({{all_subjects:Bool}} OR subject IN {{subjects:Array(String)}})
        ORDER BY last_post_at DESC, quality DESC
        LIMIT {{limit:UInt32}}
        """,
        parameters=window.params()
        | {"all_subjects": subjects is None, "subjects": list(subjects or []), "limit": limit},
    )
    return utc_columns(df, "first_post_at", "last_post_at")


def unanswered_questions(
    client: Client, subjects: Sequence[str] | None, limit: int = 100
) -> pd.DataFrame:
    """The queue: questions with no substantive answer from someone else, oldest first.

    Read from the ``buzz.unanswered_questions`` view, which applies the scorer's rule for an
    answer, so the queue and the alerts agree.
    """
    df = client.query_df(
        """
        SELECT thread_id, thread_title, subject, post_id, author_handle, asked_at, question, url
        FROM buzz.unanswered_questions
        WHERE asked_at >= now64(3) - toIntervalSecond({max_age:UInt32})
          AND ({all_subjects:Bool} OR subject IN {subjects:Array(String)})
        ORDER BY asked_at, post_id
        LIMIT {limit:UInt32}
        """,
        parameters={
            "max_age": int(QUESTION_MAX_AGE.total_seconds()),
            "all_subjects": subjects is None,
            "subjects": list(subjects or []),
            "limit": limit,
        },
    )
    return utc_columns(df, "asked_at")
