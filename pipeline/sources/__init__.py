"""Source connectors and the kit they are built with.

Write a connector by subclassing :class:`PollingSource` or :class:`StreamingSource` (see
``base.py`` for the contract and the failure policy), register it under the ``buzz.sources``
entry point group, and give it the standard tests with one line (``testing.py``).
"""

from pipeline.sources.base import (
    PollingConfig,
    PollingSource,
    Source,
    SourceConfig,
    SourceContext,
    StreamingConfig,
    StreamingSource,
)
from pipeline.sources.checkpoint import CheckpointStore
from pipeline.sources.emitter import JsonLinesEmitter, KafkaEmitter, MemoryEmitter, Record
from pipeline.sources.retry import (
    Backoff,
    FatalError,
    RetriableError,
    call_with_retry,
    error_for_status,
    retry_after_seconds,
)
from pipeline.sources.runner import Runner, RunOptions

__all__ = [
    "Backoff",
    "CheckpointStore",
    "FatalError",
    "JsonLinesEmitter",
    "KafkaEmitter",
    "MemoryEmitter",
    "PollingConfig",
    "PollingSource",
    "Record",
    "RetriableError",
    "RunOptions",
    "Runner",
    "Source",
    "SourceConfig",
    "SourceContext",
    "StreamingConfig",
    "StreamingSource",
    "call_with_retry",
    "error_for_status",
    "retry_after_seconds",
]
