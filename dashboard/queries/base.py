"""What every query module shares: the client, error translation, windows and time helpers.

Queries are plain functions ``f(client, ...) -> DataFrame`` with every value bound as a
clickhouse-connect parameter (``{name:Type}``), so they can be tested against any warehouse
without Streamlit. Pages call the cached ``load_*`` wrappers of each module instead: those take
the warehouse URL, share one client per URL, cache results for a few seconds (many staff keep
the dashboard open and fragments refresh every few seconds) and turn driver errors into
:class:`WarehouseUnavailable`, which pages show as a plain-language message.

Raw and score tables are ReplacingMergeTree, so every query reads them ``FINAL``: replays and
recomputed rows must not inflate the numbers staff see.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from pipeline.warehouse.client import display_url, get_client

CACHE_TTL_SECONDS = 5
# ClickHouse parameter type for every UTC time we bind.
TS = "DateTime64(3, 'UTC')"
# For rollups that name a sum after its column (``sum(mentions) AS mentions``) and use the
# column again (``sum(mentions * negative_share)``): without it ClickHouse reads the second
# ``mentions`` as the alias, an aggregate inside an aggregate.
COLUMNS_FIRST = {"prefer_column_name_to_alias": 1}


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot answer; ``message`` says what happened, ``hint`` what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class QueryFailed(RuntimeError):
    """An analyst's query reached the warehouse and was refused (syntax, unknown column...)."""


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def translate_errors(url: str) -> Iterator[None]:
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
                f"The warehouse at {url} has no buzz tables yet (or not the newest ones).",
                "Create them with `buzz migrate` (`buzz up` does it for you).",
            ) from exc
        raise WarehouseUnavailable(
            f"The warehouse at {url} answered with an error: {first_line(exc)}",
            "Check the warehouse log; this page retries on its own.",
        ) from exc


@st.cache_resource(show_spinner=False)
def _client(url: str) -> Client:
    # One client per URL for every session. No session id: clickhouse-connect would otherwise
    # refuse concurrent queries from two viewers sharing it.
    return get_client(url=url, connect_timeout=3, autogenerate_session_id=False)


def connect(url: str) -> Client:
    with translate_errors(url):
        return _client(url)


def table_exists(client: Client, name: str) -> bool:
    """Whether ``buzz.<name>`` exists: for tables that newer migrations add."""
    return bool(int(str(client.command("EXISTS TABLE buzz.{name:Identifier}", {"name": name}))))


def utc(series: pd.Series) -> pd.Series:
    """Timestamps as timezone-aware UTC, whatever the driver returned (naive means UTC)."""
    series = pd.to_datetime(series)
    if series.dt.tz is None:
        return series.dt.tz_localize(UTC)
    return series.dt.tz_convert(UTC)


def utc_columns(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for col in columns:
        if col in df.columns:
            df[col] = utc(df[col])
    return df


def floor(moment: datetime, minutes: int) -> datetime:
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
        last_bucket = floor(end, bucket_minutes)
        start = last_bucket - timedelta(minutes=minutes - bucket_minutes)
        return cls(start=start, end=end, bucket_minutes=bucket_minutes)

    @classmethod
    def now(cls, minutes: int, bucket_minutes: int = 1) -> Window:
        return cls.ending_at(datetime.now(UTC), minutes, bucket_minutes)

    @property
    def previous_start(self) -> datetime:
        return self.start - (self.end - self.start)

    def buckets(self) -> pd.DatetimeIndex:
        last = floor(self.end, self.bucket_minutes)
        return pd.date_range(self.start, last, freq=f"{self.bucket_minutes}min", name="bucket")

    def params(self) -> dict[str, object]:
        return {
            "start": self.start,
            "end": self.end,
            "previous_start": self.previous_start,
            "bucket": self.bucket_minutes,
        }
