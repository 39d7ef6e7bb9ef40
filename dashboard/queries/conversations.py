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

    The rule of the ``buzz.unanswered_questions`` view (the scorer's rule for an answer), so the
    queue and the alerts agree; written out here so that every part of it reads only the threads
    with a question in the last week (the view reads every thread ever seen). Those threads are
    found without FINAL: a superset is enough, as every part then reads them with FINAL.
    tests/test_dashboard_queries.py checks the two agree.
    """
    df = client.query_df(
        """
        WITH
            threads AS (
                SELECT thread_id FROM buzz.thread_post_scores
                WHERE is_question = 1 AND low_effort = 0
                  AND occurred_at >= now64(3) - toIntervalSecond({max_age:UInt32})
            )
        SELECT q.thread_id AS thread_id, t.thread_title AS thread_title, t.subject AS subject,
               q.post_id AS post_id, p.author_handle AS author_handle, q.occurred_at AS asked_at,
               p.text AS question, p.url AS url
        FROM
        (
            SELECT thread_id, post_id, author_id, occurred_at
            FROM buzz.thread_post_scores FINAL
            WHERE thread_id IN (SELECT thread_id FROM threads)
              AND is_question = 1 AND low_effort = 0
              AND occurred_at >= now64(3) - toIntervalSecond({max_age:UInt32})
        ) AS q
        LEFT JOIN
        (
            SELECT r.thread_id AS thread_id, assumeNotNull(r.parent_id) AS question_id,
                   groupUniqArray(r.author_id) AS answerers
            FROM buzz.thread_posts AS r FINAL
            INNER JOIN
            (
                SELECT thread_id, post_id FROM buzz.thread_post_scores FINAL
                WHERE thread_id IN (SELECT thread_id FROM threads) AND substantive = 1
            ) AS s ON s.thread_id = r.thread_id AND s.post_id = r.post_id
            WHERE r.thread_id IN (SELECT thread_id FROM threads) AND r.parent_id IS NOT NULL
            GROUP BY thread_id, question_id
        ) AS a ON a.thread_id = q.thread_id AND a.question_id = q.post_id
        LEFT JOIN
        (
            SELECT thread_id, post_id, author_handle, text, url FROM buzz.thread_posts FINAL
            WHERE thread_id IN (SELECT thread_id FROM threads)
        ) AS p ON p.thread_id = q.thread_id AND p.post_id = q.post_id
        LEFT JOIN
        (
            SELECT thread_id, thread_title, subject FROM buzz.thread_scores FINAL
            WHERE thread_id IN (SELECT thread_id FROM threads)
        ) AS t ON t.thread_id = q.thread_id
        WHERE NOT arrayExists(x -> x != q.author_id, a.answerers)
          AND ({all_subjects:Bool} OR t.subject IN {subjects:Array(String)})
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
