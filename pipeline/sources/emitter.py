"""Where a source's records go: Kafka, stdout (dry run) or memory (tests).

A record is an event model (``Mention``, ``ThreadPost``, ``Signup``) or a ``DeadLetter``: anything
with a ``topic``, a ``key()`` and a ``to_json()``.

Failure policy: a record the broker would not take, after kafka-python's own retries within
``delivery_timeout_ms``, is fatal. The error surfaces at the next ``flush()``, which the runner
calls before every checkpoint save, so a checkpoint never moves past records that were lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import IO, ClassVar, Protocol, runtime_checkable

import orjson
from kafka import KafkaProducer

from pipeline.sources.errors import FatalError

log = logging.getLogger(__name__)


@runtime_checkable
class Record(Protocol):
    topic: ClassVar[str]

    def key(self) -> bytes: ...

    def to_json(self) -> bytes: ...


class Emitter(Protocol):
    def send(self, record: Record) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class DeliveryError(FatalError):
    """The broker did not accept a record."""


class KafkaEmitter:
    """Produce to Kafka with kafka-python: key ``record.key()``, value ``record.to_json()``."""

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str = "buzz-source",
        linger_ms: int = 50,
        flush_timeout: float = 60.0,
    ) -> None:
        # acks=all: a record counts as sent only once every in-sync replica has it; linger lets
        # kafka-python batch the many small events a source emits.
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap.split(","),
            client_id=client_id,
            acks="all",
            linger_ms=linger_ms,
            compression_type=None,
        )
        self._flush_timeout = flush_timeout
        self._lock = threading.Lock()
        self._failure: BaseException | None = None

    def _on_error(self, exc: BaseException) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = exc

    def send(self, record: Record) -> None:
        self._raise_failure()
        future = self._producer.send(record.topic, key=record.key(), value=record.to_json())
        future.add_errback(self._on_error)

    def flush(self) -> None:
        self._producer.flush(timeout=self._flush_timeout)
        self._raise_failure()

    def _raise_failure(self) -> None:
        with self._lock:
            failure = self._failure
        if failure is not None:
            raise DeliveryError(f"broker rejected a record: {failure!r}")

    def close(self) -> None:
        self._producer.close(timeout=self._flush_timeout)


class OutputClosed(FatalError):
    """Whoever read the dry run's output has gone (``| head``): a normal way to stop."""


@contextlib.contextmanager
def _stop_signals_held() -> Iterator[None]:
    """Hold SIGTERM/SIGINT back for the duration (they are delivered right after).

    A second Ctrl-C raises KeyboardInterrupt from the signal handler; raised between two partial
    writes of one buffer, it would leave half a line in the output and drop the rest.
    """
    held = {signal.SIGTERM, signal.SIGINT}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class JsonLinesEmitter:
    """Dry run: one JSON object per line, ``{"topic", "key", "value"}``; needs no broker.

    The format is also what a replay connector reads back. Lines are gathered whole (up to
    ``buffer_bytes``, one at a time on a terminal) and handed to the OS in complete lines with
    the stop signals held back, so no stop, however abrupt, leaves half an event in the output:
    what a reader sees is whole lines, then whatever came after is not there at all.
    """

    def __init__(self, out: IO[str] | None = None, *, buffer_bytes: int = 64 * 1024) -> None:
        self._out = out
        self._closed = False
        self._pending = bytearray()
        self._limit = buffer_bytes
        self._interactive: bool | None = None

    def _stream(self) -> IO[str]:
        return self._out or sys.stdout  # looked up late so test runners that swap stdout see it

    def _gone(self) -> OutputClosed:
        # Point stdout at /dev/null so the interpreter's own flush at exit does not fail again.
        self._closed = True
        self._pending.clear()
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream().fileno())
        return OutputClosed("output closed by the reader")

    def send(self, record: Record) -> None:
        if self._closed:
            raise OutputClosed("output closed by the reader")
        self._pending += orjson.dumps(
            {
                "topic": record.topic,
                "key": record.key().decode("utf-8", "backslashreplace"),
                # Fragment: the value is already JSON; embed it as is rather than re-encode it.
                "value": orjson.Fragment(record.to_json()),
            },
            option=orjson.OPT_APPEND_NEWLINE,
        )
        if self._interactive is None:
            isatty = getattr(self._stream(), "isatty", None)
            self._interactive = bool(isatty and isatty())
        if self._interactive or len(self._pending) >= self._limit:
            self._write_pending()

    def _write_pending(self) -> None:
        if not self._pending:
            return
        out = self._stream()
        data, self._pending = bytes(self._pending), bytearray()
        try:
            try:
                fd = out.fileno()
            except (AttributeError, OSError, ValueError):  # an in-memory stream (tests)
                out.write(data.decode())
                out.flush()
                return
            out.flush()  # whatever else went to this stream first stays first
            view = memoryview(data)
            with _stop_signals_held():
                while view:
                    view = view[os.write(fd, view) :]
        except BrokenPipeError:
            raise self._gone() from None

    def flush(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(OutputClosed):  # the next send() stops the run
            self._write_pending()

    def close(self) -> None:
        self.flush()


class MemoryEmitter:
    """Keeps records in a list; for tests and the standard connector test suite."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.flushes = 0

    def send(self, record: Record) -> None:
        self.records.append(record)

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        pass
