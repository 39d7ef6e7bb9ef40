"""``buzz forget --email ADDRESS`` / ``--phone NUMBER``: delete one person's signups everywhere.

The warehouse never holds an email or phone in clear, only keyed HMACs (``pipeline.pii``), so
the person is found by computing the same HMAC with ``BUZZ_PII_KEY``. Then, in this order:

1. every MergeTree table in ``buzz`` with an ``email_hmac`` or ``phone_hmac`` column (found in
   ``system.columns``, so tables added later are covered) gives the ``event_id``s of their rows;
2. rows that refer to those signups by id are deleted from every table with a column whose
   comment names ``buzz.signups.event_id`` (``buzz.signup_attribution`` today);
3. dead letters whose payload contains one of the HMACs are deleted (a rejected signup event);
4. the rows holding the HMACs are deleted.

Deletes are ``ALTER TABLE ... DELETE`` with ``mutations_sync=2``, so they are done when the
command returns; every physical version of a row (replays not merged yet) goes. Counts reported
are those physical rows. Views and rollups read these tables, so they follow; per-minute signup
counts (``buzz.signup_minutes``) and alerts hold no personal data and are kept. The broker's
``buzz.signups`` topic is outside the warehouse: its own retention removes the events.

The address is used only to compute the HMAC: it is never logged, printed or sent to the
warehouse; queries carry the HMACs as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from clickhouse_connect.driver.client import Client
from pydantic import SecretStr

from pipeline.pii import hmac_email, hmac_phone

DATABASE = "buzz"
PII_COLUMNS = ("email_hmac", "phone_hmac")
SIGNUP_REF = "buzz.signups.event_id"  # the comment that marks a column referring to a signup
PAYLOAD_COLUMNS = {"dead_letters": "payload"}
_SYNC = {"mutations_sync": 2}


@dataclass(frozen=True)
class Removal:
    table: str
    rows: int
    matched_on: str  # which column or evidence found the rows


def person_hmacs(email: str | None, phone: str | None, key: SecretStr | None) -> list[str]:
    hmacs = []
    if email:
        hmacs.append(hmac_email(email, key))
    if phone:
        hmacs.append(hmac_phone(phone, key))
    return hmacs


def _tables(client: Client, where: str, **params: object) -> list[tuple[str, str]]:
    rows = client.query(
        "SELECT c.table, c.name FROM system.columns AS c"
        " INNER JOIN system.tables AS t ON t.database = c.database AND t.name = c.table"
        f" WHERE c.database = {{db:String}} AND t.engine LIKE '%MergeTree' AND ({where})"
        " ORDER BY c.table, c.name",
        parameters={"db": DATABASE, **params},
    ).result_rows
    return [(str(t), str(c)) for t, c in rows]


def _count(client: Client, table: str, condition: str, params: dict[str, object]) -> int:
    sql = f"SELECT count() FROM {DATABASE}.`{table}` WHERE {condition}"
    return int(client.query(sql, parameters=params).result_rows[0][0])


def _delete(client: Client, table: str, condition: str, params: dict[str, object]) -> int:
    n = _count(client, table, condition, params)
    if n:
        client.command(
            f"ALTER TABLE {DATABASE}.`{table}` DELETE WHERE {condition}",
            parameters=params,
            settings=_SYNC,
        )
    return n


def forget(client: Client, hmacs: list[str], dry_run: bool = False) -> list[Removal]:
    """Delete (or with ``dry_run`` only count) the rows of the person with these HMACs."""
    if not hmacs:
        raise ValueError("no HMAC to look for")
    act = _count if dry_run else _delete
    pii = _tables(client, "c.name IN {names:Array(String)}", names=list(PII_COLUMNS))
    by_table: dict[str, list[str]] = {}
    for table, column in pii:
        by_table.setdefault(table, []).append(column)
    match = {
        t: " OR ".join(f"`{c}` IN {{h:Array(String)}}" for c in cols)
        for t, cols in by_table.items()
    }
    params: dict[str, object] = {"h": hmacs}

    event_ids: set[str] = set()
    for table, condition in match.items():
        cols = {c for _, c in _tables(client, "c.table = {t:String}", t=table)}
        if "event_id" in cols:
            sql = f"SELECT DISTINCT event_id FROM {DATABASE}.`{table}` WHERE {condition}"
            event_ids |= {str(r[0]) for r in client.query(sql, parameters=params).result_rows}

    removed: list[Removal] = []
    if event_ids:
        refs = _tables(client, "position(c.comment, {ref:String}) > 0", ref=SIGNUP_REF)
        for table, column in refs:
            if table in match:
                continue  # deleted below by HMAC, with the same rows
            n = act(
                client, table, f"`{column}` IN {{ids:Array(String)}}", {"ids": sorted(event_ids)}
            )
            removed.append(Removal(table, n, f"{column} of the person's signups"))
    for table, column in PAYLOAD_COLUMNS.items():
        if _tables(client, "c.table = {t:String} AND c.name = {n:String}", t=table, n=column):
            n = act(client, table, f"multiSearchAny(`{column}`, {{h:Array(String)}})", params)
            removed.append(Removal(table, n, f"{column} containing an HMAC"))
    for table, pii_cols in by_table.items():
        n = act(client, table, match[table], params)
        removed.append(Removal(table, n, " or ".join(pii_cols)))
    return sorted(removed, key=lambda r: r.table)


def main(email: str | None, phone: str | None, dry_run: bool = False) -> int:
    import sys

    from pipeline.settings import ConfigError, get_settings
    from pipeline.sql_cli import clickhouse_message
    from pipeline.warehouse.client import get_client

    if not email and not phone:
        print("buzz forget: give --email or --phone", file=sys.stderr)
        return 2
    settings = get_settings()
    try:
        hmacs = person_hmacs(email, phone, settings.pii_key)
    except ConfigError as exc:
        print(f"buzz forget: {exc.message}", file=sys.stderr)
        return 2
    try:
        client = get_client(settings)
        removals = forget(client, hmacs, dry_run=dry_run)
    except (
        Exception
    ) as exc:  # one readable line; the message holds HMACs at most, never the address
        print(f"buzz forget: {clickhouse_message(exc)}", file=sys.stderr)
        return 1
    verb = "would remove" if dry_run else "removed"
    total = 0
    for r in removals:
        print(f"{DATABASE}.{r.table}: {verb} {r.rows} row(s) (matched on {r.matched_on})")
        total += r.rows
    who = " and ".join(w for w, v in (("email", email), ("phone", phone)) if v)
    print(f"{verb} {total} row(s) in {len(removals)} table(s) for the given {who}")
    return 0
