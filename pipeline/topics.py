"""Kafka topics and their up-front creation.

Tansu creates a topic on first use with its own partition count, racing Faust's creation, and an
agent whose source topic and changelog differ in partitions crashes (DESIGN.md). So every topic is
created here, before any producer or worker touches it, with the same partition count Faust uses.
"""

from __future__ import annotations

import logging

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError

from pipeline.retry import retrying

MENTIONS = "buzz.mentions"
THREADS = "buzz.threads"
SIGNUPS = "buzz.signups"
DEAD_LETTERS = "buzz.dead_letters"
ALERTS = "buzz.alerts"
SOURCE_STATUS = "buzz.source_status"

ALL_TOPICS = (MENTIONS, THREADS, SIGNUPS, DEAD_LETTERS, ALERTS, SOURCE_STATUS)

# The consumer group of the stream workers (pipeline.stream): how far it has committed is how far
# the pipeline has written (the dashboard's lag, the broker roll-over's check).
STREAM_GROUP = "buzz-stream"

log = logging.getLogger(__name__)


def admin_client(bootstrap: str, timeout: float = 30.0) -> KafkaAdminClient:
    """An admin client, waiting up to ``timeout`` seconds for the broker to answer."""
    for attempt in retrying(
        on=KafkaTimeoutError,
        what="connecting to the broker",
        initial=0.5,
        maximum=2.0,
        deadline=timeout,
        logger=log,
    ):
        with attempt:
            return KafkaAdminClient(
                bootstrap_servers=bootstrap, client_id="buzz-admin", request_timeout_ms=10_000
            )
    raise AssertionError("unreachable")  # pragma: no cover - retrying re-raises


def ensure_topics(
    bootstrap: str, partitions: int, extra: tuple[str, ...] = (), timeout: float = 30.0
) -> list[str]:
    """Create any missing topic with ``partitions`` partitions; return the names created."""
    admin = admin_client(bootstrap, timeout)
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in (*ALL_TOPICS, *extra) if t not in existing]
        created = []
        for name in wanted:
            try:
                admin.create_topics([NewTopic(name, partitions, 1)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
            except KafkaError as exc:  # pragma: no cover - depends on the broker
                log.warning("could not create topic %s: %s", name, exc)
        return created
    finally:
        admin.close()
