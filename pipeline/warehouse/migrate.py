"""Numbered, idempotent warehouse migrations.

Each ``migrations/NNNN_name.sql`` file is applied once, in order, and recorded in
``buzz.schema_migrations``. Statements are written to be idempotent themselves (IF NOT EXISTS),
so a migration interrupted half-way is simply applied again. Failure policy: any error stops
the run with the migration's name and the ClickHouse message; nothing later is applied.
"""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass
from importlib import resources

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        # Strip comment lines, then split on ';' at the end of a line.
        body = "\n".join(
            line for line in self.sql.splitlines() if not line.lstrip().startswith("--")
        )
        return [s.strip() for s in re.split(r";\s*(?:\n|$)", body) if s.strip()]


def available_migrations() -> list[Migration]:
    folder = resources.files("pipeline.warehouse").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers in {[m.name for m in found]}")
    return found


def applied_versions(client: Client) -> set[int]:
    exists = client.command("EXISTS TABLE buzz.schema_migrations")
    if not int(str(exists)):
        return set()
    rows = client.query("SELECT version FROM buzz.schema_migrations FINAL").result_rows
    return {int(r[0]) for r in rows}


def apply_migrations(
    client: Client, target: int | None = None, *, retention: bool = True
) -> list[str]:
    """Apply every pending migration up to ``target``; return the names applied.

    A full run (no ``target``) then brings the retention TTLs in line with the settings
    (``pipeline.warehouse.retention``), so ``buzz migrate``, ``buzz up`` and the worker all keep
    them current; ``retention=False`` leaves them to the caller.
    """
    applied = _apply_numbered(client, target)
    if target is None and retention:
        apply_settings_retention(client)
    return applied


def apply_settings_retention(client: Client) -> list[str]:
    """Apply the TTLs of ``BUZZ_RAW_TEXT_TTL_DAYS`` / ``BUZZ_PII_TTL_DAYS``; what changed."""
    from pipeline.settings import get_settings
    from pipeline.warehouse.retention import apply_retention

    settings = get_settings()
    try:
        return apply_retention(client, settings.raw_text_ttl_days, settings.pii_ttl_days)
    except ClickHouseError as exc:
        raise MigrationError("retention", exc) from exc


def _apply_numbered(client: Client, target: int | None) -> list[str]:
    done = applied_versions(client)
    applied = []
    for mig in available_migrations():
        if target is not None and mig.version > target:
            break
        if mig.version in done:
            continue
        for stmt in mig.statements():
            try:
                client.command(stmt)
            except ClickHouseError as exc:
                raise MigrationError(mig.name, exc) from exc
        client.insert(
            "buzz.schema_migrations", [[mig.version, mig.name]], column_names=["version", "name"]
        )
        applied.append(mig.name)
        log.info("applied migration %s", mig.name)
    return applied


class MigrationError(RuntimeError):
    def __init__(self, name: str, exc: Exception) -> None:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        super().__init__(f"migration {name} failed: {first}")


def main() -> int:
    from pipeline.settings import get_settings
    from pipeline.warehouse.client import get_client

    settings = get_settings()
    try:
        client = get_client(settings, wait=30)
        applied = apply_migrations(client, retention=False)
        retention = apply_settings_retention(client)
    except MigrationError as exc:
        print(f"buzz migrate: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # connection problems: one readable line
        print(
            f"buzz migrate: cannot reach the warehouse at {settings.warehouse_url}: {exc}",
            file=sys.stderr,
        )
        return 1
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("warehouse schema is up to date")
    for change in retention:
        print(f"retention: {change}")
    return 0
