"""Load for the benchmark: synthetic mentions, and producers fast enough not to be the bottleneck.

A mention is built as the JSON a source would send (it validates as a ``Mention``), keyed as a
source would key it (the cascade root), stamped with ``ingested_at`` when it is sent, so the
latency measured downstream (``sunk_at - ingested_at``) is the pipeline's own.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from pipeline.topics import MENTIONS

TEXTS = (
    "Jordan Kim on the Riverline vote, take {i} #KimForSenate",
    "Where does Jordan Kim stand on rent control? Asking for the {i}th time",
    "Great town hall tonight with Kim, the Riverline plan finally makes sense ({i})",
    "Kim flip-flopped on zoning again. Not a good look. #{i}",
)


def mention_dict(i: int, run: str, now: datetime | None = None) -> dict[str, object]:
    now = now or datetime.now(UTC)
    return mention_at(i, run, (now - timedelta(seconds=1)).isoformat(), now.isoformat())


def mention_at(i: int, run: str, occurred: str, ingested: str) -> dict[str, object]:
    return {
        "schema_version": 1,
        "event_id": f"bench:{run}:{i}",
        "platform": "bench",
        "occurred_at": occurred,
        "ingested_at": ingested,
        "author": {"id": str(i % 5000), "handle": f"user{i % 5000}", "display_name": "",
                   "audience": (i * 7919) % 100_000},
        "text": TEXTS[i % len(TEXTS)].format(i=i),
        "url": f"https://example.org/p/{i}",
        "lang": "en",
        "engagement": {"likes": i % 50, "reshares": i % 7, "replies": 0, "quotes": 0},
        "reshare_of": f"bench:{run}:{i // 10}" if i % 10 else None,
        "reply_to": None,
        "links": [],
        "hashtags": ["kimforsenate"],
    }  # fmt: skip


def synthetic_mention(i: int, run: str) -> bytes:
    """The JSON of mention ``i`` of ``run`` (a valid ``buzz.mentions`` message)."""
    return orjson.dumps(mention_dict(i, run))


def mention_key(i: int, run: str) -> bytes:
    """The partition key a source uses: the cascade root (``reshare_of`` or the event itself)."""
    return f"bench:{run}:{i // 10 if i % 10 else i}".encode()


class FastProducer:
    """Sends in record batches per partition (aiokafka's batch API), keyed as sources key them.

    Flat out, every message is encoded before the clock starts, so the producer's own JSON work
    does not count against the pipeline; paced, each chunk is stamped when it is sent.
    """

    def __init__(self, bootstrap: str, topic: str = MENTIONS) -> None:
        self.bootstrap = bootstrap
        self.topic = topic

    async def _send(self, n: int, run: str, rate: float | None) -> float:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks=1, max_batch_size=1024 * 1024,
            linger_ms=5, max_request_size=8 * 1024 * 1024,
        )  # fmt: skip
        await producer.start()
        try:
            parts = sorted(await producer.partitions_for(self.topic))
            choose = DefaultPartitioner()

            def encode(lo: int, hi: int) -> list[tuple[int, bytes, bytes]]:
                now = datetime.now(UTC)
                occurred, ingested = (now - timedelta(seconds=1)).isoformat(), now.isoformat()
                out = []
                for i in range(lo, hi):
                    key = mention_key(i, run)
                    value = orjson.dumps(mention_at(i, run, occurred, ingested))
                    out.append((choose(key, parts, parts), key, value))
                return out

            chunk = 5000 if rate is None else max(1, int(rate / 50))
            ready = None if rate is not None else encode(0, n)
            pending = []
            t0 = time.monotonic()
            for start in range(0, n, chunk):
                if rate is not None:
                    delay = t0 + start / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                end = min(n, start + chunk)
                items = ready[start:end] if ready is not None else encode(start, end)
                batches = {p: producer.create_batch() for p in parts}
                for p, key, value in items:
                    if batches[p].append(key=key, value=value, timestamp=None) is None:
                        pending.append(
                            await producer.send_batch(batches[p], self.topic, partition=p)
                        )
                        batches[p] = producer.create_batch()
                        batches[p].append(key=key, value=value, timestamp=None)
                for p, b in batches.items():
                    if b.record_count():
                        pending.append(await producer.send_batch(b, self.topic, partition=p))
            await asyncio.gather(*pending)
            return t0
        finally:
            await producer.stop()

    def send(self, n: int, run: str, rate: float | None = None) -> float:
        """Send ``n`` mentions of ``run`` (paced at ``rate``/s, or flat out); return the start."""
        return asyncio.run(self._send(n, run, rate))
