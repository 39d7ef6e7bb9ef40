"""The webhook connector: signatures, tokens, replays, limits, mappings, and no clear-text PII."""

from __future__ import annotations

import base64
import contextlib
import html
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import orjson
import pytest
import requests
from pydantic import SecretStr

from pipeline.events import DeadLetter, Signup
from pipeline.pii import hmac_email, hmac_phone
from pipeline.settings import ConfigError, load_settings
from pipeline.sources import MemoryEmitter, Runner, RunOptions
from pipeline.sources.testing import SourceTestSuite
from pipeline.sources.webhook.auth import sign
from pipeline.sources.webhook.mapping import (
    PayloadError,
    map_actionnetwork,
    map_form,
    map_mobilize,
)
from pipeline.sources.webhook.redact import parse_form, redacted_body
from pipeline.sources.webhook.source import WebhookSource
from tests.conftest import free_port

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sources" / "webhook"
KEY_BYTES = b"buzz-test-webhook-secret-0001"
SECRET = "whsec_" + base64.b64encode(KEY_BYTES).decode()
PII_KEY = "test-pii-key-not-secret"
NOW = datetime(2026, 11, 21, 21, 0, tzinfo=UTC)
CLEAR = [  # every personal value in the fixtures, in the forms it could leak
    "maria.gonzalez@example.org", "tom.reyes@example.org", "ada.okafor@example.net",
    "ana.lima@example.com", "lee.park@example.org", "Maria", "Gonzalez", "Okafor", "Lima",
    "5035550142", "5035550199", "2079460958", "97214", "98101", "97202", "SW1A",
]  # fmt: skip


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(autouse=True)
def _isolated(isolated_settings: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("BUZZ_PII_KEY", PII_KEY)
    yield


class TestWebhookStandard(SourceTestSuite):
    source_cls = WebhookSource
    options = {"secret": SECRET, "inbox": FIXTURES / "inbox.jsonl", "serve": False}  # noqa: RUF012


def assert_no_clear_pii(blob: str) -> None:
    digits = re.sub(r"\D", "", blob)
    for value in CLEAR:
        assert value.lower() not in blob.lower(), value
        if value.isdigit() and len(value) >= 10:
            assert value not in digits, value
    assert not re.search(r"[\w.+-]+@[\w-]+\.\w+", blob)


# -- pure mappings --------------------------------------------------------------------------------
def test_action_network_submissions() -> None:
    key = SecretStr(PII_KEY)
    sub, att = map_actionnetwork(
        orjson.loads(fixture("actionnetwork_submissions.json")), key, NOW, "m"
    )
    assert isinstance(sub, dict) and isinstance(att, dict)
    s = Signup(**sub)
    assert s.event_id == "actionnetwork:d6bdf50e-c3a4-4981-a948-3d8c086066d7"
    assert s.platform == "actionnetwork" and s.channel == "referral"
    assert s.occurred_at == datetime(2026, 11, 21, 18, 4, 11, tzinfo=UTC)
    assert s.form == "form:1a2b3c" and s.referral_code == "ref-v12"
    assert s.utm.source == "newsletter-nov"
    assert (s.country, s.region, s.postal_prefix) == ("US", "OR", "972")
    assert s.email_hmac == hmac_email("maria.gonzalez@example.org", key)
    assert s.phone_hmac == hmac_phone("+15035550142", key)
    a = Signup(**att)
    assert a.channel == "event" and a.form == "event:ev-77" and a.phone_hmac is None
    assert (a.country, a.postal_prefix) == ("US", "981")
    helper = map_actionnetwork(
        orjson.loads(fixture("actionnetwork_person_signup.json")), key, NOW, "m1"
    )
    assert helper[0]["event_id"] == "actionnetwork:m1-0"  # type: ignore[index]
    assert helper[0]["occurred_at"] == NOW  # type: ignore[index]


def test_mobilize_attendance() -> None:
    key = SecretStr(PII_KEY)
    (fields,) = map_mobilize(orjson.loads(fixture("mobilize_attendance.json")), key, NOW, "m")
    s = Signup(**fields)  # type: ignore[arg-type]
    assert s.event_id == "mobilize:attendance:48213" and s.channel == "event"
    assert s.occurred_at == datetime(2025, 11, 21, 18, 40, tzinfo=UTC)
    assert s.form == "event:5521" and s.referral_code == "ref-v07"
    assert (s.utm.source, s.utm.medium, s.utm.campaign, s.utm.content, s.utm.term) == (
        "facebook", "social", "canvass-nov", "validator-post", "",
    )  # fmt: skip
    assert (s.country, s.region, s.postal_prefix) == ("US", "OR", "972")
    assert s.email_hmac == hmac_email("ana.lima@example.com", key)
    assert s.phone_hmac == hmac_phone("503-555-0199", key)


def test_generic_form() -> None:
    key = SecretStr(PII_KEY)
    (fields,) = map_form(orjson.loads(fixture("form.json")), key, NOW, "m")
    s = Signup(**fields)  # type: ignore[arg-type]
    assert s.event_id == "form:f-20261121-0007" and s.form == "volunteer"
    assert s.referral_code == "ref-v03" and s.utm.content == "demo:abc-12"
    assert (s.country, s.region, s.postal_prefix) == ("GB", "London", "SW1")
    assert s.email_hmac == hmac_email("lee.park@example.org", key)  # normalised before hashing
    (bad,) = map_form({"name": "Someone"}, key, NOW, "m")
    assert isinstance(bad, PayloadError) and str(bad) == "no email address or phone number"


def test_redaction_keeps_shape_and_drops_people() -> None:
    body = fixture("actionnetwork_submissions.json")
    red = redacted_body(orjson.loads(body)).decode()
    assert_no_clear_pii(red)
    assert "ref-v12" in red and "osdi:submission" in red  # still useful to debug
    assert "2026-11-21T18:04:11Z" in red  # dates are not phone numbers
    form = parse_form(b"email=someone%40example.org&phone=%2B1+503+555+0100&utm[source]=fb")
    assert form == {
        "email": "someone@example.org",
        "phone": "+1 503 555 0100",
        "utm": {"source": "fb"},
    }
    text = redacted_body(form).decode()
    assert "example.org" not in text and "555" not in text and '"source":"fb"' in text


# -- the live receiver ----------------------------------------------------------------------------
class Live:
    def __init__(self, tmp_path: Path, **options: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhooks"
        self.emitter = MemoryEmitter()
        config = WebhookSource.Config.load("webhook", port=self.port, **options)
        self.runner = Runner(
            WebhookSource, config, load_settings(data_dir=tmp_path), RunOptions(),
            emitter=self.emitter,
        )  # fmt: skip
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.code = self.runner.run()

    def __enter__(self) -> Live:
        self.thread.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return self
            time.sleep(0.05)
        raise RuntimeError("webhook did not start")

    def __exit__(self, *_exc: object) -> None:
        self.runner.stop.set()
        self.thread.join(20)
        assert not self.thread.is_alive() and self.code == 0

    def post(
        self, route: str, body: bytes, headers: dict[str, str] | None = None, **kw: Any
    ) -> requests.Response:
        return requests.post(
            f"{self.url}/{route}", data=body, headers=headers or {}, timeout=10, **kw
        )


def signed(
    body: bytes, msg_id: str = "msg_1", ts: int | None = None, key: bytes = KEY_BYTES
) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": f"v1,bm90IHRoaXMgb25l {sign(key, msg_id, ts, body)}",  # rotation: 2
        "Content-Type": "application/json",
    }


def test_signed_requests_accepted_wrong_ones_refused(tmp_path: Path) -> None:
    body = fixture("actionnetwork_submissions.json")
    with Live(tmp_path, secret=SECRET) as live:
        ok = live.post("actionnetwork", body, signed(body, "msg_a"))
        assert ok.status_code == 202
        assert ok.json()["event_ids"] == [
            "actionnetwork:d6bdf50e-c3a4-4981-a948-3d8c086066d7",
            "actionnetwork:7b6a1c2d-0000-4000-8000-000000000002",
        ]
        assert len(live.emitter.records) == 2  # produced before the answer
        wrong = live.post("actionnetwork", body, signed(body, "msg_b", key=b"another-key-0123456"))
        assert wrong.status_code == 401
        unsigned = live.post("actionnetwork", body, {"Content-Type": "application/json"})
        assert unsigned.status_code == 401
        tampered = live.post(
            "actionnetwork", body.replace(b"97214", b"97215"), signed(body, "msg_c")
        )
        assert tampered.status_code == 401
        old = live.post("actionnetwork", body, signed(body, "msg_d", int(time.time()) - 301))
        assert old.status_code == 401 and "tolerance" in old.json()["error"]
        again = live.post("actionnetwork", body, signed(body, "msg_a"))
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
        assert len(live.emitter.records) == 2  # nothing stored for any refused request
        big = b'{"email": "' + b"a" * 1_100_000 + b'@example.org"}'
        assert live.post("form", big, signed(big, "msg_e")).status_code == 413
        assert live.post("nope", body, signed(body, "msg_f")).status_code == 404
    assert len(live.emitter.records) == 2


def test_replay_refused_after_a_restart(tmp_path: Path) -> None:
    body = fixture("form.json")
    headers = signed(body, "msg_restart")
    with Live(tmp_path, secret=SECRET) as live:
        assert live.post("form", body, headers).status_code == 202
    with Live(tmp_path, secret=SECRET) as live:
        assert live.post("form", body, headers).json()["status"] == "duplicate"
        assert live.emitter.records == []


def test_token_mode(tmp_path: Path) -> None:
    body = fixture("mobilize_attendance.json")
    json_type = {"Content-Type": "application/json"}
    with Live(tmp_path, token="s3cret-token") as live:
        token = {"X-Webhook-Token": "s3cret-token", **json_type}
        assert live.post("mobilize", body, token).status_code == 202
        assert (
            live.post("mobilize", body, json_type, params={"token": "s3cret-token"}).status_code
            == 202
        )
        assert (
            live.post("mobilize", body, {**token, "X-Webhook-Token": "s3cret-tokeN"}).status_code
            == 401
        )
        assert live.post("mobilize", body, json_type).status_code == 401
    ids = [r.event_id for r in live.emitter.records]  # type: ignore[attr-defined]
    assert ids == ["mobilize:attendance:48213"] * 2  # the same signup: one row downstream


def test_bad_payload_is_422_with_a_redacted_dead_letter(tmp_path: Path) -> None:
    person = {"person": {"given_name": "Maria", "family_name": "Gonzalez",
                         "email_addresses": [{"address": "maria.gonzalez@example"}],
                         "phone_numbers": [{"number": "+1 503 555 0142"}],
                         "postal_addresses": [{"postal_code": "97214"}]}}  # fmt: skip
    body = orjson.dumps([person])
    with Live(tmp_path, secret=SECRET) as live:
        reply = live.post("actionnetwork", body, signed(body, "msg_bad"))
        assert reply.status_code == 422
        assert reply.json()["error"] == "item 0: email address is not valid"
        not_json = b"email=maria.gonzalez@example.org"
        assert live.post("form", not_json, signed(not_json, "msg_nj")).status_code == 422
    dead = live.emitter.records
    assert all(isinstance(d, DeadLetter) and d.source == "webhook" for d in dead) and len(dead) == 2
    first = dead[0]
    assert isinstance(first, DeadLetter)
    assert first.reason == "item 0: email address is not valid"
    assert "given_name" in first.payload
    assert_no_clear_pii(b"\n".join(d.to_json() for d in dead).decode())


def test_no_clear_text_pii_in_anything_emitted(tmp_path: Path) -> None:
    with Live(tmp_path, secret=SECRET) as live:
        for n, (route, name) in enumerate(
            [
                ("actionnetwork", "actionnetwork_submissions.json"),
                ("actionnetwork", "actionnetwork_person_signup.json"),
                ("mobilize", "mobilize_attendance.json"),
                ("form", "form.json"),
            ]
        ):
            body = fixture(name)
            assert live.post(route, body, signed(body, f"msg_{n}")).status_code == 202
    signups = [r for r in live.emitter.records if isinstance(r, Signup)]
    assert len(signups) == 5 and all(s.email_hmac for s in signups)
    assert_no_clear_pii(b"\n".join(r.to_json() for r in live.emitter.records).decode())


def test_refuses_to_start_without_the_pii_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BUZZ_PII_KEY")
    config = WebhookSource.Config.load("webhook", secret=SECRET, port=free_port())
    runner = Runner(
        WebhookSource, config, load_settings(data_dir=tmp_path), emitter=MemoryEmitter()
    )
    with pytest.raises(ConfigError, match="BUZZ_PII_KEY"):
        runner.run()


def test_config_needs_a_secret_or_token() -> None:
    with pytest.raises(ConfigError, match=r"BUZZ_SOURCE_WEBHOOK_TOKEN: .*set --secret"):
        WebhookSource.Config.load("webhook")
    with pytest.raises(ConfigError, match=r"--secret: .*whsec_"):
        WebhookSource.Config.load("webhook", secret="whsec_!!not base64!!")


# -- concurrent replays: one delivery, however many copies arrive at once -------------------------
def fire_together(
    live: Live, route: str, body: bytes, headers: dict[str, str], n: int
) -> list[Any]:
    """``n`` identical requests sent at the same instant (a barrier), each on its own connection."""
    barrier = threading.Barrier(n)
    answers: list[Any] = [None] * n

    def one(i: int) -> None:
        barrier.wait()
        answers[i] = live.post(route, body, headers)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


def assert_admitted_once(answers: list[Any]) -> None:
    codes = sorted(a.status_code for a in answers)
    assert codes.count(202) == 1, codes
    for a in answers:
        if a.status_code != 202:  # a clear duplicate answer: 409 while in progress, 200 after
            assert a.status_code in (200, 409) and a.json()["status"] == "duplicate", a.text


def test_concurrent_identical_deliveries_are_admitted_once(tmp_path: Path) -> None:
    rounds, copies = 20, 8
    with Live(tmp_path, secret=SECRET) as live:
        for r in range(rounds):
            body = orjson.dumps({"id": f"conc-{r}", "email": f"p{r}@example.org"})
            answers = fire_together(live, "form", body, signed(body, f"msg_conc_{r}"), copies)
            assert_admitted_once(answers)
    ids = [rec.event_id for rec in live.emitter.records]  # type: ignore[attr-defined]
    assert sorted(ids) == sorted(f"form:conc-{r}" for r in range(rounds))


def test_concurrent_deliveries_reach_the_topic_once(tmp_path: Path, broker_url: str) -> None:
    """The same, producing to the real (embedded) broker: exactly one event per delivery."""
    from kafka import KafkaConsumer, TopicPartition

    run = f"{time.time_ns():x}"
    port = free_port()
    config = WebhookSource.Config.load("webhook", port=port, secret=SECRET)
    settings = load_settings(data_dir=tmp_path, kafka_url=broker_url)
    runner = Runner(WebhookSource, config, settings, RunOptions())
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    live = Live.__new__(Live)
    live.url = f"http://127.0.0.1:{port}/webhooks"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        time.sleep(0.05)
    try:
        for r in range(20):
            body = orjson.dumps({"id": f"{run}-{r}", "email": f"p{r}@example.org"})
            assert_admitted_once(fire_together(live, "form", body, signed(body, f"m-{run}-{r}"), 8))
    finally:
        runner.stop.set()
        thread.join(30)
    consumer = KafkaConsumer(bootstrap_servers=broker_url, consumer_timeout_ms=3000)
    parts = [
        TopicPartition("buzz.signups", p) for p in consumer.partitions_for_topic("buzz.signups")
    ]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ours = [
        orjson.loads(m.value)["event_id"]
        for m in consumer
        if orjson.loads(m.value)["event_id"].startswith(f"form:{run}-")
    ]
    consumer.close()
    assert sorted(ours) == sorted(f"form:{run}-{r}" for r in range(20))


def test_a_delivery_that_could_not_be_handed_over_can_be_retried(tmp_path: Path) -> None:
    """A 503 (the producer did not take it in time) releases the id: the retry gets through.

    Delivery A holds the producer; B waits behind it past --reply-timeout, is answered 503 and
    never produced; B's retry is then accepted, once. A, whose hand-over had begun, is waited
    out and answered 202: an answer never contradicts what reached the producer.
    """
    body_a = orjson.dumps({"id": "held", "email": "a@example.org"})
    body_b = orjson.dumps({"id": "queued", "email": "b@example.org"})
    with Live(tmp_path, secret=SECRET, reply_timeout=0.5) as live:
        release, holding = threading.Event(), threading.Event()
        send = live.emitter.send

        def slow_send(record: Any) -> None:
            holding.set()
            release.wait(10)
            send(record)

        live.emitter.send = slow_send  # type: ignore[method-assign]
        first: list[Any] = []
        held = threading.Thread(
            target=lambda: first.append(live.post("form", body_a, signed(body_a, "msg_a")))
        )
        held.start()
        assert holding.wait(10)
        assert live.post("form", body_b, signed(body_b, "msg_b")).status_code == 503
        live.emitter.send = send  # type: ignore[method-assign]
        release.set()
        held.join(10)
        assert first[0].status_code == 202
        assert live.post("form", body_b, signed(body_b, "msg_b")).status_code == 202
        again = live.post("form", body_b, signed(body_b, "msg_b"))
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
    ids = [r.event_id for r in live.emitter.records]  # type: ignore[attr-defined]
    assert ids == ["form:held", "form:queued"]


# -- content types ---------------------------------------------------------------------------------
def test_content_type_decides_the_parser(tmp_path: Path) -> None:
    body = fixture("form.json")
    form = (
        b"id=f-form-1&email=Lee.Park%40Example.org&phone=%2B44+20+7946+0958&channel=web"
        b"&form=volunteer&utm[source]=mastodon&utm[medium]=social&postal_code=SW1A+1AA&country=gb"
    )
    with Live(tmp_path, secret=SECRET) as live:
        for n, (ctype, route) in enumerate(
            [
                ("text/plain", "form"),
                ("", "form"),
                ("application/x-www-form-urlencoded", "mobilize"),
            ]
        ):
            headers = signed(body, f"msg_ct_{n}") | {"Content-Type": ctype}
            if not ctype:
                del headers["Content-Type"]
            reply = requests.post(f"{live.url}/{route}", data=body, headers=headers, timeout=10)
            assert reply.status_code == 415, reply.text
            assert "unsupported Content-Type" in reply.json()["error"]
            assert "application/json" in reply.json()["error"]
        assert live.emitter.records == []  # nothing stored for a refused type
        # The same id, sent right: it was not used up by the refusal.
        ok = live.post(
            "form",
            body,
            signed(body, "msg_ct_0") | {"Content-Type": "application/json; charset=utf-8"},
        )
        assert ok.status_code == 202
        headers = signed(form, "msg_ct_form") | {
            "Content-Type": "application/x-www-form-urlencoded"
        }
        assert live.post("form", form, headers).status_code == 202
    key = SecretStr(PII_KEY)
    signup = live.emitter.records[-1]
    assert isinstance(signup, Signup) and signup.event_id == "form:f-form-1"
    assert signup.email_hmac == hmac_email("lee.park@example.org", key)
    assert signup.phone_hmac == hmac_phone("+44 20 7946 0958", key)
    assert (signup.utm.source, signup.utm.medium, signup.postal_prefix) == (
        "mastodon",
        "social",
        "SW1",
    )


# -- no clear PII in a dead letter, whatever the encoding -----------------------------------------
EMAIL, PHONE_DIGITS = "maria.gonzalez@example.org", "5035550142"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
ENCODINGS = {
    "json, bad date": (JSON, orjson.dumps(
        {"email": EMAIL, "phone": "+1 503 555 0142", "family_name": "Gonzalez", "occurred_at": "x"}
    )),
    "json, the email in the date": (JSON, orjson.dumps({"email": EMAIL, "occurred_at": EMAIL})),
    "form-encoded": (FORM, b"email=maria.gonzalez%40example.org&phone=%2B1+503+555+0142"
                           b"&family_name=Gonzalez&occurred_at=yesterday"),
    "form, encoded twice": (FORM, b"email=maria.gonzalez%2540example.org&phone=%252B1%2520503"
                                  b"%2520555%25200142"),
    "form, nested": (FORM, b"person[email]=maria.gonzalez%40example.org"
                           b"&person[phone]=503-555-0142&person[family_name]=Gonzalez"),
    "form, json inside": (FORM, b"data=%7B%22contact%22%3A%22maria.gonzalez%40example.org%22%2C"
                                b"%22tel%22%3A%225035550142%22%7D"),
    "json, nested under harmless names": (JSON, orjson.dumps(
        {"data": {"contact": {"details": "maria.gonzalez%40example.org or (503) 555-0142"}}}
    )),
    "json, json in a string": (JSON, orjson.dumps(
        {"payload": orjson.dumps({"e": EMAIL, "t": "503 555 0142"}).decode()}
    )),
    "json, unicode and html escapes": (JSON, (
        b'{"note": "maria.gonzalez\\u0040example.org", "more": "maria.gonzalez&#64;example.org",'
        b' "where": "https://example.org/join?e=maria.gonzalez%40example.org&t=5035550142"}'
    )),
    "json, the email as a key": (JSON, orjson.dumps({EMAIL: {"tel": 5035550142}})),
    "not json at all": (JSON, b'{"email": "maria.gonzalez@example.org", "phone": "5035550142", '),
    "not a form": (FORM, b"\xff\xfeemail=maria.gonzalez%40example.org"),
}  # fmt: skip


def variants(text: str) -> list[str]:
    """``text`` in every decoding a reader could apply to find what it hides."""
    out = [text, html.unescape(text)]
    plain = text
    for _ in range(3):
        plain = unquote_plus(plain)
        out += [plain, html.unescape(plain)]
    with contextlib.suppress(orjson.JSONDecodeError):
        out.append(orjson.dumps(orjson.loads(text), option=orjson.OPT_INDENT_2).decode())
        out.append(str(orjson.loads(text)))
    return out


def assert_no_pii_in_any_encoding(text: str) -> None:
    for form in variants(text):
        low = form.lower()
        assert EMAIL not in low and "maria.gonzalez" not in low and "gonzalez" not in low, form
        for run in re.findall(r"[\d ()+.-]{10,}", form):
            assert PHONE_DIGITS not in re.sub(r"\D", "", run), form


@pytest.mark.parametrize("case", list(ENCODINGS))
def test_no_clear_pii_in_a_dead_letter_whatever_the_encoding(tmp_path: Path, case: str) -> None:
    ctype, body = ENCODINGS[case]
    with Live(tmp_path, secret=SECRET) as live:
        reply = live.post("form", body, signed(body, "msg_pii") | {"Content-Type": ctype})
        assert reply.status_code == 422, reply.text
        assert_no_pii_in_any_encoding(reply.text)
    (dead,) = live.emitter.records
    assert isinstance(dead, DeadLetter) and dead.source == "webhook" and dead.reason
    assert_no_pii_in_any_encoding(dead.reason)
    assert_no_pii_in_any_encoding(dead.payload)
    assert_no_pii_in_any_encoding(dead.to_json().decode())
