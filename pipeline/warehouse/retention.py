"""Retention: TTLs on raw text and on personal data, set from settings after the migrations.

What expires (the row stays, so counts, scores and rollups keep their history; only the column's
value is reset to its default, '' or NULL, when the part holding it is merged):

- raw text, after ``BUZZ_RAW_TEXT_TTL_DAYS`` (default 365) from event time: ``buzz.mentions.text``
  and ``buzz.thread_posts.text``.
- personal data, after ``BUZZ_PII_TTL_DAYS`` (default 90): every ``email_hmac`` / ``phone_hmac``
  column of every table in ``buzz`` (found in ``system.columns``, so tables added later are
  covered), and ``buzz.dead_letters.payload``, because input that failed validation may hold
  anything, personal data included.

0 disables a TTL (an existing one is removed). ClickHouse refuses a column TTL on a column of the
sorting, primary or partition key; such a column is reported and skipped (delete those rows with
``buzz forget`` or a table TTL instead). Idempotent: a statement is sent only when the table's
current definition differs, because changing a TTL rewrites the table's parts
(``materialize_ttl_after_modify``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)

DATABASE = "buzz"
RAW_TEXT_COLUMNS = {"mentions": ("text",), "thread_posts": ("text",)}
PII_COLUMN_NAMES = ("email_hmac", "phone_hmac")
EXTRA_PII_COLUMNS = {"dead_letters": ("payload",)}
# The event-time column a row's age is measured from, first one the table has.
TIME_COLUMNS = ("occurred_at", "received_at", "at", "created_at")


@dataclass(frozen=True)
class ColumnTtl:
    table: str
    column: str
    days: int  # 0: no TTL
    time_column: str

    @property
    def expression(self) -> str:
        # Written the way ClickHouse prints it back, so the idempotency check compares equals.
        return f"toDateTime({self.time_column}) + toIntervalDay({self.days})"


def plan(client: Client, raw_text_days: int, pii_days: int) -> tuple[list[ColumnTtl], list[str]]:
    """The column TTLs wanted for the tables that exist now, and warnings for those skipped."""
    rows = client.query(
        "SELECT c.table, c.name, c.is_in_sorting_key OR c.is_in_primary_key"
        " OR c.is_in_partition_key FROM system.columns AS c"
        " INNER JOIN system.tables AS t ON t.database = c.database AND t.name = c.table"
        " WHERE c.database = {db:String} AND t.engine LIKE '%MergeTree'",
        parameters={"db": DATABASE},
    ).result_rows
    columns: dict[str, dict[str, bool]] = {}
    for table, name, in_key in rows:
        columns.setdefault(str(table), {})[str(name)] = bool(in_key)
    wanted: dict[tuple[str, str], int] = {}
    for table, names in RAW_TEXT_COLUMNS.items():
        for name in names:
            wanted[(table, name)] = raw_text_days
    for table, cols in columns.items():
        for name in cols:
            if name in PII_COLUMN_NAMES or name in EXTRA_PII_COLUMNS.get(table, ()):
                wanted[(table, name)] = pii_days
    out: list[ColumnTtl] = []
    warnings: list[str] = []
    for (table, name), days in sorted(wanted.items()):
        present = columns.get(table, {})
        if name not in present:
            continue  # the table is not there yet (an earlier migration target)
        time_col = next((t for t in TIME_COLUMNS if t in present), None)
        if present[name]:
            warnings.append(f"{DATABASE}.{table}.{name} is a key column: no column TTL possible")
        elif time_col is None:
            warnings.append(f"{DATABASE}.{table} has no event-time column for a TTL on {name}")
        else:
            out.append(ColumnTtl(table, name, days, time_col))
    return out, warnings


def current_ttls(client: Client, table: str) -> dict[str, str]:
    """Column name -> its TTL expression as ClickHouse prints it ('' for none)."""
    ddl = str(client.command(f"SHOW CREATE TABLE {DATABASE}.`{table}`"))
    ddl = ddl.replace("\\n", "\n").replace("\\'", "'")  # TabSeparated escaping, if any
    found: dict[str, str] = {}
    for line in ddl.splitlines():
        m = re.match(r"^\s+`([^`]+)` (.*?),?$", line)
        if m:
            # The last " TTL ": a column comment printed before it may contain the word too.
            ttl = re.match(r".* TTL (.+)$", m.group(2))
            found[m.group(1)] = ttl.group(1) if ttl else ""
    return found


def apply_retention(client: Client, raw_text_days: int, pii_days: int) -> list[str]:
    """Bring every column TTL in line with the settings; returns what changed, one line each."""
    wanted, warnings = plan(client, raw_text_days, pii_days)
    for w in warnings:
        log.warning("retention: %s", w)
    changes: list[str] = []
    cache: dict[str, dict[str, str]] = {}
    for ttl in wanted:
        if ttl.table not in cache:
            cache[ttl.table] = current_ttls(client, ttl.table)
        now = cache[ttl.table].get(ttl.column, "")
        target = ttl.expression if ttl.days else ""
        if now == target:
            continue
        name = f"{DATABASE}.`{ttl.table}`"
        if target:
            client.command(f"ALTER TABLE {name} MODIFY COLUMN `{ttl.column}` TTL {target}")
            changes.append(f"{DATABASE}.{ttl.table}.{ttl.column}: expires {ttl.days} days after "
                           f"{ttl.time_column}")  # fmt: skip
        else:
            client.command(f"ALTER TABLE {name} MODIFY COLUMN `{ttl.column}` REMOVE TTL")
            changes.append(f"{DATABASE}.{ttl.table}.{ttl.column}: TTL removed (kept for ever)")
        log.info("retention: %s", changes[-1])
    return changes
