"""``buzz sql``: run SQL against the warehouse and print it for people or programs.

``table`` renders a rich table; ``csv``, ``json`` (one JSON object per line) and ``parquet``
are produced by the warehouse itself, so types are exactly ClickHouse's. Errors print one line
with the ClickHouse message and exit 1.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

FORMATS = {"csv": "CSVWithNames", "json": "JSONEachRow", "parquet": "Parquet"}
MAX_TABLE_ROWS = 1000


def clickhouse_message(exc: Exception) -> str:
    """The first meaningful line of a ClickHouse error, without the HTTP wrapping."""
    text = str(exc).strip()
    for marker in ("Code: ",):
        i = text.find(marker)
        if i >= 0:
            text = text[i:]
    line = text.splitlines()[0] if text else repr(exc)
    return line.split(" (version ")[0].strip()


def render_table(column_names: list[str], rows: Sequence[Sequence[Any]], out: Console) -> None:
    table = Table(show_lines=False, header_style="bold")
    for name in column_names:
        table.add_column(name, overflow="fold")
    for row in rows[:MAX_TABLE_ROWS]:
        table.add_row(*("NULL" if v is None else str(v) for v in row))
    out.print(table)
    shown = min(len(rows), MAX_TABLE_ROWS)
    more = f" (first {shown} shown; use --format csv for all)" if len(rows) > shown else ""
    out.print(f"[dim]{len(rows)} row{'s' if len(rows) != 1 else ''}{more}[/]")


def main(
    query: str | None,
    fmt: str = "table",
    *,
    file: Path | None = None,
    params: dict[str, str] | None = None,
    output: Path | None = None,
) -> int:
    from pipeline.settings import get_settings
    from pipeline.warehouse.client import get_client

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if fmt != "table" and fmt not in FORMATS:
        err.print(f"buzz sql: unknown --format {fmt!r}; use table, csv, json or parquet")
        return 2
    if file is not None:
        try:
            query = file.read_text("utf-8")
        except OSError as exc:
            err.print(f"buzz sql: cannot read {file}: {exc.strerror}")
            return 2
    if not query or not query.strip():
        err.print("buzz sql: no query given (pass SQL or --file)")
        return 2
    query = query.strip().rstrip(";")
    if fmt == "parquet" and output is None and sys.stdout.isatty():
        err.print("buzz sql: parquet is binary; use --output FILE or redirect stdout")
        return 2
    settings = get_settings()
    try:
        client = get_client(settings)
    except Exception as exc:
        err.print(
            f"buzz sql: cannot reach the warehouse at {settings.warehouse_url}: "
            f"{clickhouse_message(exc)}"
        )
        return 1
    try:
        if fmt == "table":
            result = client.query(query, parameters=params or None)
            if output is not None:
                with open(output, "w", encoding="utf-8") as fh:
                    render_table(
                        list(result.column_names), result.result_rows, Console(file=fh, width=200)
                    )
            else:
                render_table(
                    list(result.column_names), result.result_rows, Console(highlight=False)
                )
            return 0
        data = client.raw_query(query, parameters=params or None, fmt=FORMATS[fmt])
    except Exception as exc:
        err.print(f"buzz sql: {clickhouse_message(exc)}")
        return 1
    if output is not None:
        output.write_bytes(data)
        err.print(f"wrote {len(data):,} bytes to {output}")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
