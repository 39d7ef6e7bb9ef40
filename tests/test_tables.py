"""The table definitions in pipeline.tables match the migrated warehouse, column for column."""

from __future__ import annotations

import pytest

from pipeline.tables import ALL, Table
from pipeline.warehouse.client import get_client


@pytest.mark.parametrize("table", ALL, ids=[t.name for t in ALL])
def test_every_record_field_is_a_column_and_every_column_without_a_default_is_written(
    migrated_warehouse: str, table: Table[tuple[object, ...]]
) -> None:
    database, name = table.name.split(".")
    live = (
        get_client(url=migrated_warehouse)
        .query(
            "SELECT name, default_kind FROM system.columns WHERE database = {d:String}"
            " AND table = {t:String} ORDER BY position",
            parameters={"d": database, "t": name},
        )
        .result_rows
    )
    assert live, f"{table.name} does not exist"
    columns = {c for c, _ in live}
    assert set(table.columns) <= columns, set(table.columns) - columns
    needed = {c for c, kind in live if not kind}  # no DEFAULT: the worker must write it
    assert needed <= set(table.columns), needed - set(table.columns)
