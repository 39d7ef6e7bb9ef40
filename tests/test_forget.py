"""``buzz forget`` removes exactly one person's rows, everywhere, and never echoes the address.

A real gateway with the real migrations; two people sign up (one of them twice, one signup
replayed), the worker's attribution and a dead letter refer to them; forgetting one must leave
every row of the other.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
from clickhouse_connect.driver.client import Client
from pydantic import SecretStr

from pipeline.pii import hmac_email, hmac_phone
from pipeline.warehouse.client import get_client
from pipeline.warehouse.forget import forget, person_hmacs
from tests.conftest import buzz_cmd, clean_env

pytestmark = pytest.mark.timeout(180)

KEY = "test-pii-key-for-forget"
ALICE_EMAIL, ALICE_PHONE = "Alice.Example@Mail.test", "+1 (555) 010-2030"
BOB_EMAIL = "bob@mail.test"
T0 = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)

SIGNUP_COLS = ["event_id", "platform", "occurred_at", "ingested_at", "channel", "form",
               "referral_code", "country", "region", "email_hmac", "phone_hmac"]  # fmt: skip
ATTR_COLS = ["event_id", "occurred_at", "channel", "form", "kind", "target_id", "via"]


def _hmac(kind: str, value: str) -> str:
    key = SecretStr(KEY)
    return hmac_email(value, key) if kind == "email" else hmac_phone(value, key)


def fill(c: Client) -> None:
    for t in ("signups", "signup_attribution", "dead_letters"):
        c.command(f"TRUNCATE TABLE buzz.{t}")
    a_mail, a_phone, b_mail = (
        _hmac("email", ALICE_EMAIL),
        _hmac("phone", ALICE_PHONE),
        _hmac("email", BOB_EMAIL),
    )
    rows = [
        ["s:a1", "forms", T0, T0, "web", "volunteer", "", "US", "OH", a_mail, None],
        ["s:a2", "forms", T0, T0, "referral", "phone-bank", "MAYOR", "US", "OH", None, a_phone],
        ["s:b1", "forms", T0, T0, "web", "volunteer", "", "US", "OH", b_mail, None],
    ]
    c.insert("buzz.signups", rows, column_names=SIGNUP_COLS)
    # A replay of Alice's first signup, not merged yet: two physical rows for one event_id.
    replay = [["s:a1", "forms", T0, T0 + dt.timedelta(seconds=5), "web", "volunteer", "", "US",
               "OH", a_mail, None]]  # fmt: skip
    c.insert("buzz.signups", replay, column_names=SIGNUP_COLS)
    attribution = [
        ["s:a1", T0, "web", "volunteer", "channel", "web", "channel"],
        ["s:a2", T0, "referral", "phone-bank", "validator", "mayor", "referral_code"],
        ["s:b1", T0, "web", "volunteer", "channel", "web", "channel"],
    ]
    c.insert("buzz.signup_attribution", attribution, column_names=ATTR_COLS)
    a_payload = json.dumps({"event_id": "s:a3", "email_hmac": a_mail, "channel": 7})
    b_payload = json.dumps({"event_id": "s:b2", "email_hmac": b_mail, "channel": 8})
    dead = [
        ["dl:buzz.signups:0:1", "buzz.signups", 0, 1, "", "channel: not a string", a_payload, T0],
        ["dl:buzz.signups:0:2", "buzz.signups", 0, 2, "", "channel: not a string", b_payload, T0],
    ]
    c.insert("buzz.dead_letters", dead,
             column_names=["event_id", "source_topic", "partition", "offset", "source", "reason",
                           "payload", "received_at"])  # fmt: skip


def ids(c: Client, table: str) -> list[str]:
    rows = c.query(f"SELECT event_id FROM buzz.{table} ORDER BY event_id").result_rows
    return [r[0] for r in rows]


@pytest.fixture
def client(own_warehouse: str) -> Client:
    c = get_client(url=own_warehouse)
    fill(c)
    return c


def test_forget_by_email_and_phone_removes_only_that_person(client: Client) -> None:
    hmacs = person_hmacs(ALICE_EMAIL, ALICE_PHONE, SecretStr(KEY))
    dry = forget(client, hmacs, dry_run=True)
    assert {r.table: r.rows for r in dry} == {
        "dead_letters": 1,
        "signup_attribution": 2,
        "signups": 3,
    }
    assert ids(client, "signups") == ["s:a1", "s:a1", "s:a2", "s:b1"]  # dry run kept all

    removed = forget(client, hmacs)
    assert {r.table: r.rows for r in removed} == {r.table: r.rows for r in dry}
    assert ids(client, "signups") == ["s:b1"]
    assert ids(client, "signup_attribution") == ["s:b1"]
    assert ids(client, "dead_letters") == ["dl:buzz.signups:0:2"]
    # Nothing left to find: a second run removes nothing.
    assert all(r.rows == 0 for r in forget(client, hmacs))


def test_forget_finds_new_tables_holding_hmacs(client: Client) -> None:
    client.command(
        "CREATE TABLE IF NOT EXISTS buzz.extra_contacts (event_id String, email_hmac String)"
        " ENGINE = MergeTree ORDER BY event_id"
    )
    try:
        a, b = _hmac("email", ALICE_EMAIL), _hmac("email", BOB_EMAIL)
        client.insert(
            "buzz.extra_contacts", [["x1", a], ["x2", b]], column_names=["event_id", "email_hmac"]
        )
        removed = forget(client, person_hmacs(ALICE_EMAIL, None, SecretStr(KEY)))
        assert {r.table: r.rows for r in removed}["extra_contacts"] == 1
        assert ids(client, "extra_contacts") == ["x2"]
        # Only the email was given: Alice's phone-only signup stays.
        assert ids(client, "signups") == ["s:a2", "s:b1"]
    finally:
        client.command("DROP TABLE IF EXISTS buzz.extra_contacts")


def test_cli_reports_per_table_and_never_echoes_the_address(
    client: Client, own_warehouse: str
) -> None:
    env = clean_env(BUZZ_CLICKHOUSE_URL=own_warehouse, BUZZ_PII_KEY=KEY)
    proc = subprocess.run(
        buzz_cmd("forget", "--email", "  BOB@mail.test "),
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "buzz.signups: removed 1 row(s) (matched on email_hmac or phone_hmac)" in out
    assert "buzz.signup_attribution: removed 1 row(s)" in out
    assert "buzz.dead_letters: removed 1 row(s)" in out
    assert "removed 3 row(s) in 3 table(s) for the given email" in out
    assert "bob" not in out.lower()
    assert ids(client, "signups") == ["s:a1", "s:a1", "s:a2"]

    no_key = subprocess.run(
        buzz_cmd("forget", "--phone", "+15550102030"),
        capture_output=True, text=True, env=clean_env(BUZZ_CLICKHOUSE_URL=own_warehouse),
        timeout=120,
    )  # fmt: skip
    assert no_key.returncode == 2 and "BUZZ_PII_KEY" in no_key.stderr
    assert "5550102030" not in no_key.stdout + no_key.stderr
    nothing = subprocess.run(
        buzz_cmd("forget"), capture_output=True, text=True, env=env, timeout=60
    )
    assert nothing.returncode == 2 and "give --email or --phone" in nothing.stderr
