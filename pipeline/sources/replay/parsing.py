"""Lines of a replay file to validated events: JSONL (dry-run captures or bare events) and CSV.

Pure functions, no I/O. A JSONL line is either the dry-run format ``{"topic", "key", "value"}``
or a bare event, whose topic is the default one (``--topic``). A CSV row is read against its
header: nested fields are dotted columns (``author.handle``, ``utm.source``), lists are JSON
(``["a", "b"]``), empty cells take the schema's default, a ``topic`` column overrides the
default topic. Every record is validated against its topic's schema (``schema_version`` 1 or
absent); what does not fit raises :class:`Invalid` with the reason.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel

from pipeline.events import EVENT_TYPES, DeadLetter, InvalidEvent, validate_object

__all__ = ["TOPICS", "Invalid", "csv_record", "parse_jsonl", "validate"]

TOPICS: dict[str, type[BaseModel]] = {**EVENT_TYPES, DeadLetter.topic: DeadLetter}


# A record that cannot be replayed; its message is the dead letter's reason.
Invalid = InvalidEvent


def validate(topic: str, value: Any) -> Any:
    """The model instance of ``value`` on ``topic``; raise Invalid with the reason."""
    model = TOPICS.get(topic)
    if model is None:
        raise Invalid(f"unknown topic {topic!r}")
    return validate_object(model, value, version_optional=True)


def parse_jsonl(line: bytes, default_topic: str | None) -> tuple[str, Any]:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"not JSON: {exc}") from None
    if isinstance(data, dict) and set(data) == {"topic", "key", "value"}:
        return str(data["topic"]), data["value"]  # the dry-run format
    if default_topic is None:
        raise Invalid("bare event but no --topic (or use the {topic, key, value} form)")
    return default_topic, data


def csv_record(header: list[str], cells: list[str], default_topic: str | None) -> tuple[str, Any]:
    """A CSV row as (topic, nested dict): dotted columns nest, JSON-looking cells are decoded."""
    if len(cells) != len(header):
        raise Invalid(f"expected {len(header)} columns, got {len(cells)}")
    record: dict[str, Any] = {}
    topic = default_topic
    for name, cell in zip(header, cells, strict=True):
        if name == "topic":
            topic = cell or topic
            continue
        if cell == "":
            continue  # the schema's default
        value: Any = cell
        if cell[:1] in "[{":
            try:
                value = orjson.loads(cell)
            except orjson.JSONDecodeError as exc:
                raise Invalid(f"column {name}: not JSON: {exc}") from None
        *parents, leaf = name.split(".")
        node = record
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    if topic is None:
        raise Invalid("no topic: pass --topic or add a topic column")
    return topic, record
