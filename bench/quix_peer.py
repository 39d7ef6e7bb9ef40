"""The peer a user might pick instead: a Quix Streams application doing the stream core's work.

Run by ``buzz bench`` with the peer environment's Python (``scripts/bench-peer.sh`` makes it:
quixstreams needs older pydantic releases than the project pins). Same broker, same topic, same
work per mention: the same decode and validation (``pipeline.events.decode``), the same rows and
scores (``pipeline.processors.mentions.mention_row`` / ``score_rows``), the same warehouse writer
with its deduplication tokens, into the same tables. Quix's own way: a stateless dataframe that
processes each message, and a batching sink that writes at each checkpoint (by count and time,
set like the worker's batches).

    python bench/quix_peer.py BOOTSTRAP WAREHOUSE_URL [--batch 5000] [--seconds 0.25]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from typing import Any

from quixstreams import Application
from quixstreams.sinks import BatchingSink, SinkBatch

from pipeline.campaign import load_campaign
from pipeline.events import Mention, decode
from pipeline.processors.mentions import MentionScoring, mention_row, score_rows
from pipeline.scoring.subjects import compile_subjects
from pipeline.scoring.validator_reach import index_validators
from pipeline.stream.writer import WarehouseWriter
from pipeline.tables import MENTION_SCORES, MENTIONS
from pipeline.topics import MENTIONS as MENTIONS_TOPIC
from pipeline.warehouse.client import get_client


class WarehouseSink(BatchingSink):  # type: ignore[misc]
    def __init__(self, url: str) -> None:
        super().__init__()
        self.writer = WarehouseWriter(lambda: get_client(url=url, wait=5))

    def setup(self) -> None:
        pass

    def write(self, batch: SinkBatch) -> None:
        mentions: list[Any] = []
        scores: list[Any] = []
        last = batch.start_offset
        for item in batch:
            raw, rows = item.value
            mentions.append(raw)
            scores += rows
            last = item.offset
        token = f"quix:{batch.topic}:{batch.partition}:{batch.start_offset}-{last}"
        self.writer.insert(MENTIONS, mentions, f"{MENTIONS}:{token}")
        self.writer.insert(MENTION_SCORES, scores, f"{MENTION_SCORES}:{token}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("warehouse")
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=0.25)
    args = ap.parse_args()
    campaign = load_campaign()
    scoring = MentionScoring(compile_subjects(campaign.subjects), index_validators(campaign))

    def process(value: bytes) -> tuple[Any, list[Any]]:
        m = decode(MENTIONS_TOPIC, value)
        assert isinstance(m, Mention)
        tone = scoring.sentiment_of(m.text)
        return mention_row(m, tone), score_rows(m, tone, scoring)

    app = Application(
        broker_address=args.bootstrap,
        consumer_group="bench-quix-peer",
        auto_offset_reset="earliest",
        commit_every=args.batch,
        commit_interval=args.seconds,
        state_dir=tempfile.mkdtemp(prefix="quix-state-"),
        use_changelog_topics=False,
        auto_create_topics=False,
        loglevel=logging.WARNING,
    )
    sdf = app.dataframe(app.topic(MENTIONS_TOPIC, value_deserializer="bytes"))
    sdf = sdf.apply(process)
    sdf.sink(WarehouseSink(args.warehouse))
    app.run()


if __name__ == "__main__":
    main()
