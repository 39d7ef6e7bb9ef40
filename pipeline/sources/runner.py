"""Runs one connector: produce, flush, checkpoint, retry, stop cleanly on SIGTERM/SIGINT.

The loop applies the failure policy written in ``base.py``. Exit codes: 0 for a clean stop
(signal, ``--limit``, ``--once``, end of stream), 1 for a fatal error. A stop flushes the emitter
and saves the checkpoint; a failed flush leaves the previous checkpoint in place, so a restart
re-reads rather than loses.

A dry run changes no state anywhere: it reads the saved checkpoint (so it shows what a real run
would send next) and keeps the cursor in memory while it runs, but never saves it; it sends no
heartbeat and creates no topic. Running it twice prints the same events.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from kafka.errors import KafkaError

from pipeline.events import DeadLetter, SourceStatus, utcnow
from pipeline.retry import retrying
from pipeline.settings import Settings
from pipeline.sources.base import (
    PollingConfig,
    PollingSource,
    Source,
    SourceContext,
    StreamingSource,
)
from pipeline.sources.checkpoint import CheckpointStore
from pipeline.sources.emitter import (
    Emitter,
    JsonLinesEmitter,
    KafkaEmitter,
    OutputClosed,
    Record,
)
from pipeline.sources.errors import FatalError, RetriableError
from pipeline.topics import ensure_topics

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    once: bool = False
    dry_run: bool = False
    limit: int | None = None
    progress_interval: float = 10.0


@dataclass
class RunStats:
    started: float = field(default_factory=time.monotonic)
    by_topic: Counter[str] = field(default_factory=Counter)
    dead_lettered: int = 0
    retries: int = 0
    stop_reason: str = "end of stream"

    @property
    def emitted(self) -> int:
        """Events emitted, dead letters not included."""
        return sum(self.by_topic.values())

    def count(self, record: Record) -> None:
        if isinstance(record, DeadLetter):
            self.dead_lettered += 1
        else:
            self.by_topic[record.topic] += 1

    def line(self) -> str:
        secs = max(time.monotonic() - self.started, 1e-9)
        counts = sorted(self.by_topic.items())
        topics = ", ".join(f"{t.removeprefix('buzz.')} {n}" for t, n in counts)
        return (
            f"{self.emitted} events emitted ({topics or 'none'}), "
            f"{self.dead_lettered} dead-lettered, {self.retries} retries, "
            f"{secs:.1f}s, {self.emitted / secs:.1f}/s"
        )


class _LimitReached(Exception):
    pass


class Heartbeat:
    """The source's status on ``buzz.source_status``: at start, after flushes, on errors, at stop.

    Only sent to Kafka (never in a dry run or to a test emitter), at most every ``every``
    seconds while running. A heartbeat that cannot be sent is logged and dropped: status must
    never stop a source.
    """

    def __init__(
        self,
        source: str,
        emitter: Emitter,
        stats: RunStats,
        every: float = 5.0,
        *,
        dry_run: bool = False,
    ) -> None:
        self.enabled = isinstance(emitter, KafkaEmitter) and not dry_run
        self.emitter, self.stats, self.every = emitter, stats, every
        self.source = source
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self.started_at = utcnow()
        self.last_success_at: datetime | None = None
        self.last_error_at: datetime | None = None
        self.last_error = ""
        self._sent = 0.0

    def success(self) -> None:
        self.last_success_at = utcnow()
        if time.monotonic() - self._sent >= self.every:
            self.send("running")

    def error(self, message: str) -> None:
        self.last_error_at = utcnow()
        self.last_error = message.splitlines()[0][:500] if message else "error"
        self.send("running")

    def send(self, status: Literal["running", "stopped", "error"]) -> None:
        if not self.enabled:
            return
        self._sent = time.monotonic()
        status_event = SourceStatus(
            source=self.source,
            instance=self.instance,
            status=status,
            started_at=self.started_at,
            events_total=self.stats.emitted,
            dead_letters_total=self.stats.dead_lettered,
            last_success_at=self.last_success_at,
            last_error_at=self.last_error_at,
            last_error=self.last_error,
        )
        try:
            self.emitter.send(status_event)
            self.emitter.flush()
        except Exception as exc:  # see the policy above
            log.warning("%s: could not send its status: %s", self.source, exc)


class Runner:
    """One run of one source. Build with an emitter for tests; otherwise Kafka or dry run."""

    def __init__(
        self,
        source_cls: type[Source[Any]],
        config: Any,
        settings: Settings,
        options: RunOptions | None = None,
        *,
        emitter: Emitter | None = None,
        checkpoints: CheckpointStore | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.source_cls = source_cls
        self.config = config
        self.settings = settings
        self.options = options or RunOptions()
        self.emitter = emitter
        self.store = checkpoints or CheckpointStore.for_source(source_cls.name, settings.data_dir)
        self.stop = stop or threading.Event()
        self.stats = RunStats()
        self._last_commit = self._last_progress = time.monotonic()

    # -- public -----------------------------------------------------------------------------
    def run(self) -> int:
        name = self.source_cls.name
        ctx = SourceContext(
            settings=self.settings,
            checkpoint=self.store.load(),
            once=self.options.once,
            dry_run=self.options.dry_run,
            stop=self.stop,
        )
        try:
            emitter = self.emitter or self._open_emitter()
        except FatalError as exc:
            log.error("%s: %s", name, exc)
            return 1
        self.emitter = emitter
        self.heartbeat = Heartbeat(name, emitter, self.stats, dry_run=self.options.dry_run)
        self.heartbeat.send("running")
        source = self.source_cls(self.config, ctx)
        code = 0
        try:
            source.setup()
            self._loop(source, emitter)
        except _LimitReached:
            self.stats.stop_reason = f"limit of {self.options.limit} reached"
        except OutputClosed:
            self.stats.stop_reason = "output closed"
        except FatalError as exc:
            log.error("%s: fatal: %s", name, exc)
            self.stats.stop_reason, code = "fatal error", 1
            self.heartbeat.error(str(exc))
        except Exception as exc:  # an unexpected exception is a bug: fatal, with the traceback
            log.exception("%s: crashed", name)
            self.stats.stop_reason, code = "crash", 1
            self.heartbeat.error(f"crashed: {exc!r}")
        finally:
            with contextlib.suppress(Exception):
                source.teardown()
            try:
                self._commit(emitter, ctx)
            except FatalError as exc:
                log.error("%s: %s; checkpoint not saved", name, exc)
                code = 1
            self.heartbeat.send("error" if code else "stopped")
            with contextlib.suppress(Exception):
                emitter.close()
            log.info("%s stopped (%s). %s", name, self.stats.stop_reason, self.stats.line())
        return code

    # -- internals ---------------------------------------------------------------------------
    def _open_emitter(self) -> Emitter:
        if self.options.dry_run:
            return JsonLinesEmitter()
        bootstrap = self.settings.bootstrap_servers
        try:
            # Create every topic up front with explicit partitions (the broker would otherwise
            # create them on first use with its own count; see DESIGN.md).
            ensure_topics(bootstrap, self.settings.topic_partitions)
            return KafkaEmitter(bootstrap, client_id=f"buzz-source-{self.source_cls.name}")
        except KafkaError as exc:
            raise FatalError(
                f"cannot reach Kafka at {bootstrap} (BUZZ_KAFKA_URL): {exc!r}"
            ) from None

    def _loop(self, source: Source[Any], emitter: Emitter) -> None:
        ctx = source.ctx
        policy = source.retry_policy

        def keep_what_was_yielded(_attempt: int, _wait: float, exc: BaseException) -> None:
            self.stats.retries += 1
            self.heartbeat.error(str(exc))
            self._commit(emitter, ctx)

        while not ctx.stopping():
            # One call of poll()/stream(), retried by the project's one policy (pipeline.retry):
            # a RetriableError keeps what was yielded, waits (the server's hint wins) and calls
            # again; `attempts` failures in a row, and the last error is raised.
            try:
                for attempt in retrying(
                    on=RetriableError,
                    what=source.name,
                    initial=policy.initial,
                    maximum=policy.maximum,
                    jitter=policy.jitter,
                    max_hint=policy.max_hint,
                    attempts=policy.attempts,
                    stop_event=ctx.stop,
                    logger=log,
                    on_retry=keep_what_was_yielded,
                ):
                    with attempt:
                        if not ctx.stopping():
                            self._emit_all(source, self._records(source), emitter)
            except RetriableError as exc:
                self.heartbeat.error(str(exc))
                self._commit(emitter, ctx)
                if ctx.stopping():
                    break
                raise FatalError(
                    f"gave up after {policy.attempts} attempts in a row: {exc}"
                ) from exc
            if ctx.stopping():
                break
            if isinstance(source, PollingSource):
                self._commit(emitter, ctx)
                if ctx.once:
                    self.stats.stop_reason = "--once"
                    return
                poll_cfg = self.config
                interval = poll_cfg.poll_interval if isinstance(poll_cfg, PollingConfig) else 60.0
                if ctx.wait(interval):
                    break
            else:
                self.stats.stop_reason = "--once" if ctx.once else "end of stream"
                return
        self.stats.stop_reason = "stop requested"

    @staticmethod
    def _records(source: Source[Any]) -> Iterable[Record]:
        if isinstance(source, PollingSource):
            return source.poll()
        if isinstance(source, StreamingSource):
            return source.stream()
        raise FatalError(
            f"{type(source).__name__} is neither a PollingSource nor a StreamingSource"
        )

    def _emit_all(self, source: Source[Any], records: Iterable[Record], emitter: Emitter) -> None:
        limit = self.options.limit
        interval = getattr(self.config, "checkpoint_interval", 5.0)
        it = iter(records)
        try:
            if limit is not None and self.stats.emitted + self.stats.dead_lettered >= limit:
                raise _LimitReached
            for record in it:
                emitter.send(record)
                self.stats.count(record)
                if limit is not None and self.stats.emitted + self.stats.dead_lettered >= limit:
                    raise _LimitReached
                if source.ctx.stopping():
                    return
                now = time.monotonic()
                if now - self._last_commit >= interval:
                    self._commit(emitter, source.ctx)
                if now - self._last_progress >= self.options.progress_interval:
                    self._last_progress = now
                    log.info("%s: %s", source.name, self.stats.line())
        finally:
            # Run the generator's own cleanup (close sockets, files) when we stop early.
            close: Callable[[], None] | None = getattr(it, "close", None)
            if close is not None:
                close()

    def _commit(self, emitter: Emitter, ctx: SourceContext) -> None:
        """Flush, then save the checkpoint: never the other way round (at-least-once).

        A dry run only flushes: its output is not the pipeline, so its cursor is not saved.
        """
        emitter.flush()
        if not self.options.dry_run:
            self.store.save(ctx.checkpoint)
        self._last_commit = time.monotonic()
        heartbeat = getattr(self, "heartbeat", None)
        if heartbeat is not None:
            heartbeat.success()


def install_stop_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGTERM/SIGINT set ``stop`` (the loop then flushes and exits 0); returns an undo function.

    A second signal raises KeyboardInterrupt for whoever insists. Signals can only be handled in
    the main thread; elsewhere (tests, embedding) the caller sets ``stop`` itself.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("%s received: flushing and stopping", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for s, h in previous.items():
            signal.signal(s, h)

    return restore
