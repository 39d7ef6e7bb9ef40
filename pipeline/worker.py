"""``buzz worker``: the Faust app. Agents stay thin around the pure processors.

* ``sink_mentions``: validate ``buzz.mentions`` in batches (by size and by time), dead-letter
  the invalid ones, write the valid ones to ``buzz.mentions``; the batch's offsets are acked
  only after the warehouse accepted it (Faust commits acked offsets only).
* ``sink_dead_letters``: everything on ``buzz.dead_letters`` (from processors and sources) is
  written to the ``buzz.dead_letters`` table the same way.

Faust settings follow what we measured on the embedded broker (DESIGN.md): short session and
rebalance timeouts (a group join takes 3 s instead of 30 s), topics created up front with the
same partition count Faust uses.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import faust
from pydantic import ValidationError

from pipeline.agents.plumbing import batches, raw_message, send_dead_letters, write
from pipeline.events import DeadLetter, SourceStatus, describe_validation_error
from pipeline.processors.mentions import MENTION_COLUMNS, process_mentions
from pipeline.processors.raw import RawMessage, batch_token
from pipeline.settings import Settings, get_settings
from pipeline.sink import WarehouseSink
from pipeline.topics import DEAD_LETTERS, MENTIONS, SOURCE_STATUS, ensure_topics

log = logging.getLogger("pipeline.worker")

DEAD_LETTER_COLUMNS = (
    "event_id", "source_topic", "partition", "offset", "source", "reason", "payload", "received_at",
)  # fmt: skip


def dead_letter_row(d: DeadLetter) -> list[Any]:
    return [
        d.event_id,
        d.source_topic,
        d.partition,
        d.offset,
        d.source,
        d.reason,
        d.payload,
        d.received_at,
    ]


SOURCE_STATUS_COLUMNS = (
    "source", "instance", "status", "started_at", "updated_at", "events_total",
    "dead_letters_total", "last_success_at", "last_error_at", "last_error",
)  # fmt: skip


def source_status_rows(raw: list[RawMessage]) -> tuple[list[list[Any]], list[DeadLetter]]:
    """Heartbeats to rows; an unreadable heartbeat is dead-lettered like any bad input."""
    rows: list[list[Any]] = []
    bad: list[DeadLetter] = []
    for m in raw:
        try:
            st = SourceStatus.model_validate_json(m.value or b"")
        except ValueError as exc:
            reason = (
                describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
            )
            bad.append(
                DeadLetter.for_payload(
                    m.value or b"",
                    f"bad source status: {reason}",
                    source_topic=m.topic,
                    partition=m.partition,
                    offset=m.offset,
                )
            )
            continue
        rows.append([st.source, st.instance, st.status, st.started_at, st.updated_at,
                     st.events_total, st.dead_letters_total, st.last_success_at,
                     st.last_error_at, st.last_error])  # fmt: skip
    return rows, bad


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        "buzz-worker",
        broker=f"kafka://{settings.bootstrap_servers}",
        store="memory://",
        datadir=str(settings.data_dir / "worker"),
        topic_partitions=settings.topic_partitions,
        topic_allow_declare=False,  # topics are created up front (pipeline.topics)
        value_serializer="raw",
        key_serializer="raw",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=6,
        broker_rebalance_timeout=6,
        broker_heartbeat_interval=1,
        broker_commit_interval=1.0,
        web_host="127.0.0.1" if settings.embedded_broker else "0.0.0.0",
        web_port=settings.worker_web_port,
        web_in_thread=False,
        producer_acks=-1,
        loghandlers=[],
    )

    def make_client() -> Any:
        from pipeline.warehouse.client import get_client

        return get_client(settings, wait=5)

    mention_sink = WarehouseSink(make_client)
    dead_letter_sink = WarehouseSink(make_client)
    mentions_topic = app.topic(MENTIONS, value_serializer="raw", key_serializer="raw")
    dead_letters_topic = app.topic(DEAD_LETTERS, value_serializer="raw", key_serializer="raw")
    batch, within = settings.sink_batch_size, settings.sink_batch_seconds
    stats = {"mentions": 0, "dead_letters": 0, "batches": 0}

    @app.agent(mentions_topic, name="sink_mentions")
    async def sink_mentions(stream: faust.StreamT) -> None:
        async for events in batches(stream, batch, within):
            raw = [raw_message(e) for e in events]
            result = process_mentions(raw)
            # Dead letters are delivered before the batch may be acked; acked only once written.
            await send_dead_letters(dead_letters_topic, result.dead_letters)
            await write(
                mention_sink, "buzz.mentions", result.rows, MENTION_COLUMNS,
                batch_token("mentions", raw),
            )  # fmt: skip
            stats["mentions"] += len(result.rows)
            stats["dead_letters"] += len(result.dead_letters)
            stats["batches"] += 1

    @app.agent(dead_letters_topic, name="sink_dead_letters")
    async def sink_dead_letters(stream: faust.StreamT) -> None:
        async for events in batches(stream, batch, within):
            raw = [raw_message(e) for e in events]
            rows = []
            for m in raw:
                try:
                    d = DeadLetter.model_validate_json(m.value or b"")
                except ValueError:
                    # A dead letter that is itself unreadable is still kept, wrapped.
                    d = DeadLetter.for_payload(
                        m.value or b"", "unreadable dead letter",
                        source_topic=m.topic, partition=m.partition, offset=m.offset,
                    )  # fmt: skip
                rows.append(dead_letter_row(d))
            await write(
                dead_letter_sink, "buzz.dead_letters", rows, DEAD_LETTER_COLUMNS,
                batch_token("dead_letters", raw),
            )  # fmt: skip

    status_sink = WarehouseSink(make_client)
    status_topic = app.topic(SOURCE_STATUS, value_serializer="raw", key_serializer="raw")

    @app.agent(status_topic, name="sink_source_status")
    async def sink_source_status(stream: faust.StreamT) -> None:
        async for events in batches(stream, batch, within):
            raw = [raw_message(e) for e in events]
            rows, bad = source_status_rows(raw)
            await send_dead_letters(dead_letters_topic, bad)
            await write(
                status_sink, "buzz.source_status", rows, SOURCE_STATUS_COLUMNS,
                batch_token("source_status", raw),
            )  # fmt: skip

    from pipeline.agents import register_all

    register_all(app, settings, lambda: WarehouseSink(make_client))

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", **stats})

    @app.timer(interval=60.0)
    async def report() -> None:
        log.info(
            "sunk %(mentions)d mentions, %(dead_letters)d dead letters, %(batches)d batches", stats
        )

    @app.on_before_shutdown.connect
    async def _stop_sinks(app: faust.App, /, *args: Any, **kwargs: Any) -> None:
        for sink in (mention_sink, dead_letter_sink, status_sink):
            sink.stop()

    return app


def prepare(settings: Settings) -> None:
    """Migrations and topics, before the worker consumes anything."""
    from pipeline.warehouse.client import get_client
    from pipeline.warehouse.migrate import apply_migrations

    applied = apply_migrations(get_client(settings, wait=60))
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    ensure_topics(settings.bootstrap_servers, settings.topic_partitions)


def main() -> int:
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        prepare(settings)
    except Exception as exc:
        print(f"buzz worker: cannot start: {exc}", file=sys.stderr)
        return 1
    app = create_app(settings)
    app.finalize()
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    worker.execute_from_commandline()  # runs until SIGTERM/SIGINT, then exits
    return 0
