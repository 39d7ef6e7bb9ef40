"""What the dashboard's migrations cost the worker's inserts: rows/s before and after.

    .venv/bin/python bench/insert_cost.py --rounds 30 --batch 5000

Starts embedded warehouses on free ports in a throw-away directory, each migrated up to one of
``--versions`` (default: the last migration before the dashboard's, 0030, and the latest). Then,
in rounds, inserts the same batch of mentions (and their subject score rows, about 1.2 per
mention) into each, the way the worker's writer does (one insert per table and batch, with an
insert_deduplication_token), in turn, the order shifting every round so that all see the same
machine. Prints rows/s per table: median and spread over the rounds. Everything that runs on an
insert is in the figure: indexes, projections, the rollups' materialised views; the refreshable
view sealing minutes runs in the background of a migrated warehouse as it would in production.
Figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from pipeline.tables import MENTION_SCORES, MENTIONS, MentionRow, MentionScoreRow
from pipeline.warehouse.client import get_client
from pipeline.warehouse.local import local_warehouse
from pipeline.warehouse.migrate import apply_migrations, available_migrations

SUBJECTS = ("kim", "reyes", "transit", "housing")
TAGS = ("debate", "vote", "kimforsenate", "reyes2026", "fundtheriverline", "homesforall")


def batch(first: int, size: int) -> tuple[list[MentionRow], list[MentionScoreRow]]:
    """``size`` mentions from number ``first`` on, posted in the last minute, and their scores."""
    now = datetime.now(UTC)
    mentions, scores = [], []
    for i in range(first, first + size):
        at = now - timedelta(milliseconds=(first + size - i) * 7)
        event_id, author = f"x:{1_790_000_000_000 + i}", str(1_000_000 + i % 50_000)
        parent = f"x:{1_790_000_000_000 + i - 1 - i % 300}" if i % 5 == 0 else None
        mentions.append(
            MentionRow(
                event_id=event_id,
                platform="x",
                occurred_at=at,
                ingested_at=now,
                author_id=author,
                author_handle=f"user{i % 50_000}",
                author_name=f"User {i % 50_000}",
                author_audience=i * 7919 % 100_000,
                text=f"Just got back from the town hall with Jordan Kim, take {i}: actually "
                f"answered every question tonight, even the hard ones on the Riverline.",
                url=f"https://x.example/s/{i}",
                lang="en",
                likes=i % 50,
                reshares=i % 7,
                replies=i % 3,
                quotes=0,
                reshare_of=parent,
                reply_to=None,
                links=[],
                hashtags=[TAGS[i % len(TAGS)]],
                truncated=[],
                sentiment=0.25,
            )
        )
        scores += [
            MentionScoreRow(
                event_id=event_id,
                subject=subject,
                minute=at.replace(second=0, microsecond=0),
                occurred_at=at,
                author_id=author,
                terms=["Jordan Kim"],
                sentiment=0.25,
                negative=0,
                engagement_weight=1.5,
                audience_weight=2.5,
                validator="",
                reshare_of=parent,
                reply_to=None,
            )
            for subject in SUBJECTS[: 1 + (i % 5 == 0)]
        ]
    return mentions, scores


def timed_insert(
    client: Client, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]], token: str
) -> float:
    t0 = time.perf_counter()
    client.insert(
        table, rows, column_names=list(columns), settings={"insert_deduplication_token": token}
    )
    return len(rows) / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=5000)
    versions = [m.version for m in available_migrations()]
    parser.add_argument(
        "--versions",
        default=f"{max(v for v in versions if v < 30)},{versions[-1]}",
        help="comma-separated last migration of each warehouse (default: the last one before "
        "the dashboard's, 0030, and the latest)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="buzz-insert-cost-") as tmp, ExitStack() as stack:
        clients: dict[str, Client] = {}
        for target in (int(v) for v in args.versions.split(",")):
            name = f"up to {target:04d}"
            url = stack.enter_context(local_warehouse(Path(tmp) / name.replace(" ", "-")))
            client = get_client(url=url)
            apply_migrations(client, target=target, retention=False)
            clients[name] = client
        rates: dict[tuple[str, str], list[float]] = {}
        for r in range(args.rounds + 2):  # the first two rounds warm up
            mentions, scores = batch(r * args.batch, args.batch)
            names = list(clients)
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                c = clients[name]
                m = timed_insert(c, MENTIONS.name, MENTIONS.columns, mentions, f"m{r}")
                s = timed_insert(c, MENTION_SCORES.name, MENTION_SCORES.columns, scores, f"s{r}")
                if r >= 2:
                    rates.setdefault((name, "buzz.mentions"), []).append(m)
                    rates.setdefault((name, "buzz.mention_scores"), []).append(s)
        print(f"{args.rounds} rounds of {args.batch:,} mentions; rows/s per insert:")
        for (name, table), values in sorted(rates.items()):
            q = statistics.quantiles(values, n=4)
            print(
                f"  {name:10} {table:20} median {statistics.median(values):>9,.0f}"
                f"   quartiles {q[0]:,.0f} .. {q[2]:,.0f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
