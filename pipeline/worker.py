"""``buzz worker``: the stream processors, hosted by a Faust app.

Faust runs the process (start-up and shutdown on signals, logging, the health page); the work is
the stream core (``pipeline.stream``): one consumer path for every input topic, with the
processors in ``pipeline.processors`` and the periodic jobs in ``pipeline.jobs``. Run as many
workers as there are partitions: they share the partitions through the consumer group, and the
one that owns ``buzz.mentions`` partition 0 runs the periodic jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import asdict
from typing import Any

import faust
from aiokafka import TopicPartition
from mode import Service

from pipeline.campaign import load_campaign
from pipeline.delivery.routes import resolve_secrets
from pipeline.jobs.attribution import LateAttribution
from pipeline.jobs.base import JobContext
from pipeline.jobs.cascades import CascadeTracker
from pipeline.jobs.delivery import delivery_jobs
from pipeline.jobs.lag import LagCorrelator
from pipeline.jobs.minutes import MinuteCloser
from pipeline.jobs.questions import QuestionAger
from pipeline.processors.housekeeping import DeadLetterProcessor, SourceStatusProcessor
from pipeline.processors.mentions import MentionProcessor, MentionScoring
from pipeline.processors.signups import SignupProcessor
from pipeline.processors.threads import ThreadProcessor
from pipeline.scoring.subjects import compile_subjects
from pipeline.scoring.validator_reach import index_validators
from pipeline.settings import Settings, get_settings
from pipeline.stream.consumer import Processor, StreamConsumer
from pipeline.stream.coordinator import Coordinator
from pipeline.stream.reader import WarehouseReader
from pipeline.stream.writer import WarehouseWriter
from pipeline.topics import MENTIONS, ensure_topics

log = logging.getLogger("pipeline.worker")


def build_stream(settings: Settings) -> tuple[StreamConsumer, Coordinator]:
    """The consumer path with every processor, and the periodic jobs it hands over."""
    from pipeline.warehouse.client import get_client

    def client() -> Any:
        return get_client(settings, wait=5)

    campaign = load_campaign(settings.campaign_file)  # a bad file stops start-up here
    secrets = resolve_secrets(campaign.routes, settings)  # so does a route's missing secret
    matcher = compile_subjects(campaign.subjects)
    validators = index_validators(campaign)
    writer, reader = WarehouseWriter(client), WarehouseReader(client)
    processors: list[Processor] = [
        MentionProcessor(MentionScoring(matcher, validators)),
        ThreadProcessor(reader, matcher, campaign),
        SignupProcessor(reader, campaign),
        DeadLetterProcessor(),
        SourceStatusProcessor(),
    ]
    coordinator = Coordinator([])
    stream = StreamConsumer(
        bootstrap=settings.bootstrap_servers,
        processors=processors,
        writer=writer,
        reader=reader,
        batch_size=settings.sink_batch_size,
        batch_seconds=settings.sink_batch_seconds,
        coordination=coordinator,
        coordinator_partition=TopicPartition(MENTIONS, 0),
    )

    def partitions() -> dict[str, int]:
        consumer = stream.consumer
        if consumer is None:
            return {}
        return {t: len(consumer.partitions_for_topic(t) or ()) for t in stream.processors}

    ctx = JobContext(campaign, matcher, validators, reader, writer, stream.publisher, partitions)
    coordinator.jobs = [
        MinuteCloser(ctx),
        CascadeTracker(ctx),
        QuestionAger(ctx),
        LagCorrelator(ctx),
        LateAttribution(ctx),
        *delivery_jobs(ctx, secrets, settings.dashboard_link),  # one per route
    ]
    coordinator.passes = {j.name: 0 for j in coordinator.jobs}
    return stream, coordinator


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        "buzz-worker",
        broker=f"kafka://{settings.bootstrap_servers}",
        store="memory://",
        datadir=str(settings.data_dir / "worker"),
        topic_partitions=settings.topic_partitions,
        topic_allow_declare=False,  # topics are created up front (pipeline.topics)
        broker_session_timeout=6,
        broker_rebalance_timeout=6,
        broker_heartbeat_interval=1,
        web_bind=settings.worker_web_host,  # the interface (web_host only names it in URLs)
        web_host=settings.worker_web_host,
        web_port=settings.worker_web_port,
        web_in_thread=False,
        loghandlers=[],
    )
    stream, coordinator = build_stream(settings)

    @app.service
    class Stream(Service):  # type: ignore[misc]
        """Starts the consumer path with the worker and stops it (committing) before it exits."""

        async def on_start(self) -> None:
            await stream.start()
            self.add_future(self._consume())

        async def _consume(self) -> None:
            try:
                await stream.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the stream stopped on an unexpected error; the worker exits")
                stream.request_stop()
                await self.crash(RuntimeError("the stream failed"))  # exits non-zero

        async def on_stop(self) -> None:
            with contextlib.suppress(Exception):
                await stream.stop()

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json(
            {
                "status": "ok",
                "coordinator": coordinator.running,
                "passes": coordinator.passes,
                **asdict(stream.stats),
            }
        )

    @app.timer(interval=60.0)
    async def report() -> None:
        s = stream.stats
        log.info(
            "%d messages in %d batches: %d rows, %d dead letters, %d refused rows, %d alerts",
            s.messages,
            s.batches,
            s.rows,
            s.dead_letters,
            s.refused,
            s.alerts,
        )

    return app


def prepare(settings: Settings) -> None:
    """Migrations and topics, before the worker consumes anything."""
    from pipeline.warehouse.client import get_client
    from pipeline.warehouse.migrate import apply_migrations

    (settings.data_dir / "worker").mkdir(parents=True, exist_ok=True)
    applied = apply_migrations(get_client(settings, wait=60))
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    ensure_topics(settings.bootstrap_servers, settings.topic_partitions)


def main() -> int:
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("kafka", "aiokafka"):  # connection chatter; their warnings still show
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    # A bad campaign file or a route's missing secret stops start-up (ConfigError, one message)
    # before anything connects.
    resolve_secrets(load_campaign(settings.campaign_file).routes, settings)
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
