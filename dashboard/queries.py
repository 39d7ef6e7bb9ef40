"""Every SQL query the dashboard runs, and nothing else.

Each query is a plain function ``f(client, ...) -> DataFrame`` with its values bound as
clickhouse-connect parameters (``{name:Type}``), so it can be tested against any warehouse
without Streamlit. Pages call the ``load_*`` wrappers at the bottom instead: they take the
warehouse URL, share one client per URL, cache results for a few seconds (many staff keep the
dashboard open, and a fragment refreshes every few seconds) and turn driver errors into
:class:`WarehouseUnavailable`, which pages show as a plain-language message.

Raw tables are ReplacingMergeTree keyed on ``event_id``, so every query reads them ``FINAL``:
replays and duplicates must not inflate the numbers staff see.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import streamlit as st
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from dashboard.sql_guard import QueryRejected, check_readonly
from pipeline.warehouse.client import get_client

__all__ = ["QueryFailed", "QueryRejected", "WarehouseUnavailable", "check_readonly"]

CACHE_TTL_SECONDS = 5
EXPLORE_MAX_ROWS = 10_000
EXAMPLE_SQL = """SELECT toStartOfHour(occurred_at) AS hour, platform, count() AS mentions
FROM buzz.mentions FINAL
WHERE occurred_at >= now() - INTERVAL 1 DAY
GROUP BY hour, platform
ORDER BY hour, platform"""


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot answer; ``message`` says what happened, ``hint`` what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class QueryFailed(RuntimeError):
    """An analyst's query reached the warehouse and was refused (syntax, unknown column...)."""


@dataclass(frozen=True)
class SubjectTerms:
    """A tracked subject and the terms whose presence in a text counts as a mention of it."""

    name: str
    terms: tuple[str, ...]


def display_url(url: str) -> str:
    """The warehouse URL without its password, fit to show on a page or in a log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def _translate_errors(url: str) -> Iterator[None]:
    url = display_url(url)
    try:
        yield
    except OperationalError as exc:  # connection refused, timeout, DNS: nobody answering
        raise WarehouseUnavailable(
            f"The warehouse at {url} is not answering.",
            "Start it with `buzz up` (or `buzz warehouse`), or point BUZZ_CLICKHOUSE_URL at "
            "a running ClickHouse. This page retries on its own.",
        ) from exc
    except ClickHouseError as exc:
        text = str(exc)
        if "UNKNOWN_DATABASE" in text or "UNKNOWN_TABLE" in text:
            raise WarehouseUnavailable(
                f"The warehouse at {url} has no buzz tables yet.",
                "Create them with `buzz migrate` (`buzz up` does it for you).",
            ) from exc
        raise WarehouseUnavailable(
            f"The warehouse at {url} answered with an error: {_first_line(exc)}",
            "Check the warehouse log; this page retries on its own.",
        ) from exc


def _utc(series: pd.Series) -> pd.Series:
    """Timestamps as timezone-aware UTC, whatever the driver returned (naive means UTC)."""
    series = pd.to_datetime(series)
    if series.dt.tz is None:
        return series.dt.tz_localize(UTC)
    return series.dt.tz_convert(UTC)


def _floor(moment: datetime, minutes: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % (minutes * 60), tz=UTC)


@dataclass(frozen=True)
class Window:
    """A look-back window made of whole buckets, so the chart's bars add up to the headline.

    ``start`` is the first bucket's start, ``end`` is now (the last bucket is still filling),
    and the previous window is the same length just before ``start``.
    """

    start: datetime
    end: datetime
    bucket_minutes: int

    @classmethod
    def ending_at(cls, end: datetime, minutes: int, bucket_minutes: int) -> Window:
        last_bucket = _floor(end, bucket_minutes)
        start = last_bucket - timedelta(minutes=minutes - bucket_minutes)
        return cls(start=start, end=end, bucket_minutes=bucket_minutes)

    @property
    def previous_start(self) -> datetime:
        return self.start - (self.end - self.start)

    def params(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "previous_start": self.previous_start}


# --- Now page ------------------------------------------------------------------------------


def mention_volume(
    client: Client, subjects: Sequence[SubjectTerms], window: Window
) -> pd.DataFrame:
    """Mentions per bucket per subject (``bucket``, ``subject``, ``mentions``), zero-filled.

    Matching is a case-insensitive search for any of a subject's terms in the text; one
    ``countIf`` per subject with its terms bound as a parameter. A stand-in until the scoring
    engine writes subject matches to the warehouse.
    """
    counts = ", ".join(
        f"countIf(multiSearchAnyCaseInsensitive(text, {{terms_{i}:Array(String)}})) AS s{i}"
        for i in range(len(subjects))
    )
    params: dict[str, object] = {f"terms_{i}": list(s.terms) for i, s in enumerate(subjects)}
    params |= window.params() | {"bucket": window.bucket_minutes}
    raw = client.query_df(
        f"""
        SELECT toStartOfInterval(occurred_at, toIntervalMinute({{bucket:UInt32}})) AS bucket,
               {counts}
        FROM buzz.mentions FINAL
        WHERE occurred_at >= {{start:DateTime64(3, 'UTC')}}
          AND occurred_at <= {{end:DateTime64(3, 'UTC')}}
        GROUP BY bucket
        """,
        parameters=params,
    )
    # Every bucket of the window appears, empty ones as 0, so a quiet minute reads as a dip in
    # the chart rather than a line drawn straight across it.
    buckets = pd.date_range(
        window.start, _floor(window.end, window.bucket_minutes), freq=f"{window.bucket_minutes}min"
    )
    wide = pd.DataFrame(index=buckets)
    if not raw.empty:
        raw["bucket"] = _utc(raw["bucket"])
        wide = wide.join(raw.set_index("bucket"))
    frames = [
        pd.DataFrame(
            {
                "bucket": buckets,
                "subject": s.name,
                "mentions": wide.get(f"s{i}", pd.Series(0, index=buckets)).fillna(0).astype(int),
            }
        ).reset_index(drop=True)
        for i, s in enumerate(subjects)
    ]
    return pd.concat(frames, ignore_index=True)


def headline(client: Client, window: Window) -> pd.DataFrame:
    """One row: ``mentions`` and ``authors`` in the window, ``previous`` mentions before it."""
    return client.query_df(
        """
        SELECT countIf(occurred_at >= {start:DateTime64(3, 'UTC')}) AS mentions,
               countIf(occurred_at < {start:DateTime64(3, 'UTC')}) AS previous,
               uniqExactIf((platform, author_id), occurred_at >= {start:DateTime64(3, 'UTC')})
                   AS authors
        FROM buzz.mentions FINAL
        WHERE occurred_at >= {previous_start:DateTime64(3, 'UTC')}
          AND occurred_at <= {end:DateTime64(3, 'UTC')}
        """,
        parameters=window.params(),
    )


def top_hashtags(client: Client, window: Window, limit: int = 5) -> pd.DataFrame:
    """The window's most used hashtags (``hashtag``, ``mentions``), most used first."""
    return client.query_df(
        """
        SELECT tag AS hashtag, count() AS mentions
        FROM buzz.mentions FINAL
        ARRAY JOIN hashtags AS tag
        WHERE occurred_at >= {start:DateTime64(3, 'UTC')}
          AND occurred_at <= {end:DateTime64(3, 'UTC')}
        GROUP BY hashtag
        ORDER BY mentions DESC, hashtag
        LIMIT {limit:UInt32}
        """,
        parameters=window.params() | {"limit": limit},
    )


def newest_mentions(client: Client, window: Window, limit: int = 20) -> pd.DataFrame:
    """The window's newest mentions, newest first, with what a staffer needs to judge them."""
    df = client.query_df(
        """
        SELECT occurred_at, platform, author_handle AS author, author_audience AS audience,
               text, likes + reshares + replies + quotes AS engagement, url
        FROM buzz.mentions FINAL
        WHERE occurred_at >= {start:DateTime64(3, 'UTC')}
          AND occurred_at <= {end:DateTime64(3, 'UTC')}
        ORDER BY occurred_at DESC, event_id
        LIMIT {limit:UInt32}
        """,
        parameters=window.params() | {"limit": limit},
    )
    if not df.empty:
        df["occurred_at"] = _utc(df["occurred_at"])
    return df


# --- Health page ---------------------------------------------------------------------------


def written_per_minute(client: Client, since: datetime, until: datetime) -> pd.DataFrame:
    """Mentions written per minute by the sink (``minute``, ``rows``), zero-filled.

    Empty minutes are kept so the chart's axis always spans the whole period: a gap in writes
    is exactly what this chart is for.
    """
    df = client.query_df(
        """
        SELECT toStartOfMinute(sunk_at) AS minute, count() AS rows
        FROM buzz.mentions FINAL
        WHERE sunk_at >= {since:DateTime64(3, 'UTC')} AND sunk_at <= {until:DateTime64(3, 'UTC')}
        GROUP BY minute
        """,
        parameters={"since": since, "until": until},
    )
    minutes = pd.date_range(_floor(since, 1), _floor(until, 1), freq="1min", name="minute")
    if not df.empty:
        df["minute"] = _utc(df["minute"])
        counts = df.set_index("minute")["rows"].reindex(minutes, fill_value=0)
    else:
        counts = pd.Series(0, index=minutes, name="rows")
    return counts.astype(int).rename("rows").reset_index()


def freshness(client: Client) -> pd.DataFrame:
    """One row: ``total`` mentions, ``newest_written`` (sunk_at), ``newest_posted``."""
    df = client.query_df(
        """
        SELECT count() AS total, max(sunk_at) AS newest_written, max(occurred_at) AS newest_posted
        FROM buzz.mentions FINAL
        """
    )
    for col in ("newest_written", "newest_posted"):
        df[col] = _utc(df[col])
    return df


def dead_letter_counts(client: Client, since: datetime) -> pd.DataFrame:
    """One row: ``total`` dead letters ever and ``recent`` ones received since ``since``."""
    return client.query_df(
        """
        SELECT count() AS total, countIf(received_at >= {since:DateTime64(3, 'UTC')}) AS recent
        FROM buzz.dead_letters FINAL
        """,
        parameters={"since": since},
    )


def latest_dead_letters(client: Client, limit: int = 20) -> pd.DataFrame:
    """The newest dead letters with where they came from, why, and the start of the input."""
    df = client.query_df(
        """
        SELECT received_at,
               if(source != '', source, concat(source_topic, ' #', toString(partition), ' @',
                  toString(offset))) AS came_from,
               reason,
               substring(payload, 1, 300) AS payload
        FROM buzz.dead_letters FINAL
        ORDER BY received_at DESC, event_id
        LIMIT {limit:UInt32}
        """,
        parameters={"limit": limit},
    )
    if not df.empty:
        df["received_at"] = _utc(df["received_at"])
    return df


# --- Explore page --------------------------------------------------------------------------


def run_readonly(client: Client, sql: str, max_rows: int = EXPLORE_MAX_ROWS) -> pd.DataFrame:
    """Run an analyst's query after the read-only guard, with ``readonly=2`` as well.

    The guard gives a clear message for the obvious cases; ``readonly=2`` makes the warehouse
    itself refuse writes and DDL whatever the guard missed (2 still lets the driver send its
    own settings). Results are cut at ``max_rows`` so a careless query cannot flood the page.
    """
    statement = check_readonly(sql)
    df = client.query_df(
        statement,
        settings={
            "readonly": 2,
            "max_result_rows": max_rows,
            "result_overflow_mode": "break",
            "max_execution_time": 30,
        },
    )
    return df.head(max_rows)


# --- Cached, error-translating wrappers for the pages --------------------------------------


@st.cache_resource(show_spinner=False)
def _client(url: str) -> Client:
    # One client per URL for every session. No session id: clickhouse-connect would otherwise
    # refuse concurrent queries from two viewers sharing it.
    return get_client(url=url, connect_timeout=3, autogenerate_session_id=False)


def _connect(url: str) -> Client:
    with _translate_errors(url):
        return _client(url)


def _window(minutes: int, bucket_minutes: int) -> Window:
    return Window.ending_at(datetime.now(UTC), minutes, bucket_minutes)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def load_now(
    url: str, subjects: tuple[SubjectTerms, ...], minutes: int, bucket_minutes: int
) -> dict[str, pd.DataFrame]:
    """Everything the Now page shows, read for one and the same window."""
    client = _connect(url)
    window = _window(minutes, bucket_minutes)
    with _translate_errors(url):
        return {
            "volume": mention_volume(client, subjects, window),
            "headline": headline(client, window),
            "hashtags": top_hashtags(client, window),
            "newest": newest_mentions(client, window),
            "freshness": freshness(client),
        }


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def load_health(url: str, minutes: int = 60) -> dict[str, pd.DataFrame]:
    """Everything the Health page shows."""
    client = _connect(url)
    now = datetime.now(UTC)
    with _translate_errors(url):
        return {
            "written": written_per_minute(client, now - timedelta(minutes=minutes), now),
            "freshness": freshness(client),
            "dead_counts": dead_letter_counts(client, now - timedelta(days=1)),
            "dead_latest": latest_dead_letters(client),
        }


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=50)
def load_explore(url: str, sql: str) -> pd.DataFrame:
    """An analyst's query; refusals of the query itself become :class:`QueryFailed`."""
    client = _connect(url)
    try:
        return run_readonly(client, sql)
    except OperationalError:
        with _translate_errors(url):
            raise
    except ClickHouseError as exc:
        raise QueryFailed(_first_line(exc)) from exc
