"""Source checkpoints: a small JSON document per connector that survives restarts.

A connector keeps its cursor (since-id, ETag, page token, ...) in a plain dict; the runner saves it
to ``<data_dir>/checkpoints/<name>.json`` only after the events read up to that cursor were flushed
to the broker, so a restart neither loses nor repeats work beyond what stable event ids absorb.

Failure policy: a checkpoint that cannot be read (corrupt JSON, not an object) is fatal at start-up
rather than silently reset, because starting from zero could re-read or skip a lot of history; the
message names the file so an operator can inspect or delete it. A failed write raises (fatal).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pipeline.settings import ConfigError


class CheckpointStore:
    """Load and atomically save one connector's checkpoint."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def for_source(cls, name: str, data_dir: Path) -> CheckpointStore:
        return cls(Path(data_dir) / "checkpoints" / f"{name}.json")

    def load(self) -> dict[str, Any]:
        """The saved checkpoint, or ``{}`` when there is none yet."""
        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"checkpoint {self.path} is not valid JSON ({exc}); fix or delete it"
            ) from None
        if not isinstance(data, dict):
            raise ConfigError(f"checkpoint {self.path} must hold a JSON object; fix or delete it")
        return data

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` so a crash leaves either the old file or the new one, never half."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(state, indent=2, sort_keys=True, default=str)
        # Temp file in the same directory so os.replace is a same-filesystem atomic rename.
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
