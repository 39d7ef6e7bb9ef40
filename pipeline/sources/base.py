"""The connector kit: what a source connector is made of.

A connector is a subclass of :class:`PollingSource` (asks an API every ``poll_interval`` seconds:
X search, RSS, Discourse) or :class:`StreamingSource` (holds a connection and yields as things
arrive: Mastodon/Bluesky streams, the webhook receiver, the demo simulator, replay files). It
declares ``name``, ``description`` and a typed ``Config``, and implements ``poll()`` or
``stream()``, a generator of records (events or dead letters). The runner (``runner.py``) does the
rest: producing, flushing, checkpoints, retries, signals, progress.

Failure policy (every connector follows it; the runner applies it):

- **fatal**: raise :class:`FatalError` (bad credentials, an endpoint that answers 4xx, an
  unexpected exception = a bug). The runner flushes what was already yielded, saves the
  checkpoint, logs one clear line and exits 1. Bad configuration never gets this far: it stops at
  start-up with one message naming the setting (exit 2).
- **retriable**: raise :class:`RetriableError` (timeouts, connection resets, 429, 5xx), with
  ``retry_after`` when the server gave a hint. The runner keeps what was yielded, backs off
  (``pipeline.retry``, the project's one retry policy; the server's hint wins) and calls
  ``poll()``/``stream()`` again; ``retry_policy.attempts`` failures in a row become fatal.
- **skippable item**: one item that cannot become an event (malformed JSON, a field out of range)
  must not stop the source and must not vanish: yield ``self.dead_letter(raw, reason)`` (or use
  ``self.build(...)``, which does it for you) and carry on. It goes to ``buzz.dead_letters``.

Checkpoint rule: keep the cursor in ``self.checkpoint`` (a dict) and advance it no earlier than when
you yield the item it covers. The runner saves the dict only after flushing everything yielded.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.events import DeadLetter, describe_validation_error
from pipeline.settings import ConfigError, Settings
from pipeline.sources.emitter import Record
from pipeline.sources.errors import FatalError, RetriableError

__all__ = [
    "FatalError",
    "PollingConfig",
    "PollingSource",
    "RetriableError",
    "RetryPolicy",
    "Source",
    "SourceConfig",
    "SourceContext",
    "StreamingConfig",
    "StreamingSource",
    "env_prefix",
]

SourceKind = Literal["polling", "streaming"]
M = TypeVar("M", bound=BaseModel)


def env_prefix(source_name: str) -> str:
    """Environment prefix of a connector's settings: ``BUZZ_SOURCE_<NAME>_``."""
    return f"BUZZ_SOURCE_{source_name.upper().replace('-', '_')}_"


class SourceConfig(BaseSettings):
    """Typed config of one connector; subclass it and add fields (secrets as ``SecretStr``).

    Values come from CLI options first, then ``BUZZ_SOURCE_<NAME>_<FIELD>`` environment variables
    and ``.env``, then the defaults. Frozen, validated once at start-up.
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    @classmethod
    def load(cls, source_name: str, **overrides: Any) -> Self:
        """Build the config; a bad value stops with one message naming the option or variable."""
        prefix = env_prefix(source_name)
        try:
            # _env_prefix is pydantic-settings' per-instance prefix; its dataclass_transform
            # signature does not declare the underscore arguments.
            return cls(_env_prefix=prefix, **overrides)  # type: ignore[call-arg]
        except ValidationError as exc:
            err = exc.errors()[0]
            name = str(err["loc"][0]) if err["loc"] else ""
            cli = "--" + name.replace("_", "-")
            where = cli if name in overrides else prefix + name.upper()
            raise ConfigError(f"{where}: {err['msg']}") from None


class PollingConfig(SourceConfig):
    poll_interval: float = Field(60.0, gt=0, description="Seconds between two polls")


class StreamingConfig(SourceConfig):
    checkpoint_interval: float = Field(
        5.0, gt=0, description="Seconds between flush-and-checkpoint while streaming"
    )


@dataclass
class SourceContext:
    """What the runner hands a source: settings, its checkpoint dict, run flags, the stop signal."""

    settings: Settings
    checkpoint: dict[str, Any] = field(default_factory=dict)
    once: bool = False
    dry_run: bool = False
    stop: threading.Event = field(default_factory=threading.Event)

    def stopping(self) -> bool:
        return self.stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if a stop was requested (then return promptly)."""
        if seconds <= 0:
            return self.stop.is_set()
        return self.stop.wait(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How the runner retries a :class:`RetriableError` from ``poll()``/``stream()``.

    The waiting itself is ``pipeline.retry``'s (exponential backoff with jitter from ``initial``
    doubling to ``maximum`` seconds; a server's ``retry_after`` wins, capped at ``max_hint``);
    ``attempts`` failures in a row become fatal.
    """

    initial: float = 1.0
    maximum: float = 120.0
    jitter: float = 0.1
    attempts: int = 8
    max_hint: float = 900.0


C = TypeVar("C", bound=SourceConfig)


class Source(ABC, Generic[C]):
    """Base of every connector; use :class:`PollingSource` or :class:`StreamingSource`."""

    name: ClassVar[str]
    kind: ClassVar[SourceKind]
    description: ClassVar[str]
    Config: ClassVar[type[SourceConfig]] = SourceConfig
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy()

    def __init__(self, config: C, ctx: SourceContext) -> None:
        self.config = config
        self.ctx = ctx
        self.log = logging.getLogger(f"pipeline.sources.{self.name}")

    @property
    def checkpoint(self) -> dict[str, Any]:
        """This source's saved state; mutate it as you yield, the runner persists it."""
        return self.ctx.checkpoint

    def setup(self) -> None:  # optional hook
        """Open clients and check credentials; raise FatalError if they are wrong."""

    def teardown(self) -> None:  # optional hook
        """Close clients. Called once, also after errors."""

    def dead_letter(self, payload: bytes | str, reason: str) -> DeadLetter:
        """A skippable item, to yield in place of the event it could not become."""
        raw = payload.encode() if isinstance(payload, str) else payload
        return DeadLetter.for_payload(raw, reason, source=self.name)

    def build(self, model: type[M], payload: bytes | str, **fields: Any) -> M | DeadLetter:
        """``model(**fields)``, or a dead letter carrying ``payload`` and why it did not fit."""
        try:
            return model(**fields)
        except ValidationError as exc:
            return self.dead_letter(payload, describe_validation_error(exc))


class PollingSource(Source[C]):
    """Asks an API every ``config.poll_interval`` seconds; ``poll()`` yields what is new."""

    kind: ClassVar[SourceKind] = "polling"
    Config: ClassVar[type[SourceConfig]] = PollingConfig

    @abstractmethod
    def poll(self) -> Iterable[Record]:
        """Yield the records that are new since ``self.checkpoint``; advance it as you go."""


class StreamingSource(Source[C]):
    """Holds a connection; ``stream()`` yields records as they arrive, returning at the end.

    Check ``self.ctx.stopping()`` (or use ``self.ctx.wait``) wherever the stream may block, so a
    SIGTERM stops it promptly; with ``self.ctx.once``, yield one burst and return.
    """

    kind: ClassVar[SourceKind] = "streaming"
    Config: ClassVar[type[SourceConfig]] = StreamingConfig

    @abstractmethod
    def stream(self) -> Iterable[Record]:
        """Yield records until the stream ends or a stop is requested."""
