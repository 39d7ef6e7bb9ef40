"""Source connectors: the kit they are built with, and one package per connector.

The kit (this package's modules):

- ``base.py``: what a connector is (:class:`PollingSource`, :class:`StreamingSource`, their
  typed configs) and the failure policy every connector follows;
- ``runner.py``: runs one connector: produce, flush, checkpoint, retry, stop on signals;
- ``checkpoint.py``, ``emitter.py`` (Kafka, dry-run JSON lines, memory), ``errors.py`` (fatal or
  retriable, and servers' retry hints), ``http.py`` (the one HTTP fetch helper),
  ``html_text.py``, ``options.py`` (boolean command-line options);
- ``registry.py`` (the ``buzz.sources`` entry points, ``buzz source list/run``), ``scaffold.py``
  (``buzz source new``) and ``testing.py`` (the standard suite every connector gets with one line).

The connectors, one package each (``source.py``: the connector; ``client.py``: the platform's
API; ``mapping.py``: pure functions from the platform's items to events): ``x``, ``rss``,
``webhook``, ``mastodon``, ``bluesky``, ``discourse``, ``replay``. The demo campaign simulator
lives in ``pipeline.simulator`` and is registered as the ``demo`` source.
"""

from pipeline.sources.base import (
    PollingConfig,
    PollingSource,
    RetryPolicy,
    Source,
    SourceConfig,
    SourceContext,
    StreamingConfig,
    StreamingSource,
)
from pipeline.sources.checkpoint import CheckpointStore
from pipeline.sources.emitter import JsonLinesEmitter, KafkaEmitter, MemoryEmitter, Record
from pipeline.sources.errors import (
    FatalError,
    RetriableError,
    error_for_status,
    retry_after_seconds,
)
from pipeline.sources.runner import Runner, RunOptions

__all__ = [
    "CheckpointStore",
    "FatalError",
    "JsonLinesEmitter",
    "KafkaEmitter",
    "MemoryEmitter",
    "PollingConfig",
    "PollingSource",
    "Record",
    "RetriableError",
    "RetryPolicy",
    "RunOptions",
    "Runner",
    "Source",
    "SourceConfig",
    "SourceContext",
    "StreamingConfig",
    "StreamingSource",
    "error_for_status",
    "retry_after_seconds",
]
