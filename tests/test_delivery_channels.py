"""Each channel against a real local receiver: what arrives, and what each failure means.

Pins: the webhook is signed with Standard Webhooks exactly as our own webhook source checks it;
Slack gets Block Kit with the explanation, example posts (text from the world escaped) and the
dashboard link; email arrives as plain text plus HTML through a real SMTP server (aiosmtpd) with
login. Failures are classed for at-most-once delivery: never connected or refused with a
temporary error -> retry; a permanent refusal -> no retry; lost after sending -> maybe sent.
No secret appears in an error.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import SecretStr

from pipeline.delivery import channels
from pipeline.delivery.channels import EmailChannel, SendFailed, SlackChannel, WebhookChannel
from pipeline.delivery.message import Message
from pipeline.delivery.routes import EmailRoute
from pipeline.netutil import free_port
from tests.delivery_receivers import SECRET, SmtpReceiver, http_receiver
from tests.delivery_samples import HOSTILE, attack, stored, surge, validator_post

NAMES = {"kim": "Jordan Kim"}
DASH = "https://buzz.example.org"


def one() -> Message:
    return Message([stored(attack())], False, "press", DASH, NAMES)


def digest() -> Message:
    alerts = [stored(validator_post("p1")), stored(validator_post("p2")), stored(surge())]
    return Message(alerts, True, "press", DASH, NAMES)


def send(channel: object, message: Message, msg_id: str = "msg_1") -> None:
    asyncio.run(channel.send(message, msg_id))  # type: ignore[attr-defined]


def failure(channel: object, message: Message) -> SendFailed:
    with pytest.raises(SendFailed) as exc:
        send(channel, message)
    return exc.value


# ---- signed webhook ----------------------------------------------------------------------


def test_webhook_is_signed_the_way_our_webhook_source_checks_it() -> None:
    with http_receiver(SECRET) as r:
        send(WebhookChannel(r.url + "/relay", SecretStr(SECRET)), one(), "msg_abc")
        send(WebhookChannel(r.url + "/relay", SecretStr(SECRET)), digest(), "digest_1")
    assert r.rejected == []
    first, second = r.got
    assert first.headers["webhook-id"] == "msg_abc"
    assert abs(int(first.headers["webhook-timestamp"]) - time.time()) < 60
    body = first.json()
    a = attack()
    assert body["type"] == "alert"
    assert body["data"]["alert_id"] == a.alert_id
    assert body["data"]["kind"] == "attack" and body["data"]["severity"] == "critical"
    assert body["data"]["url"] == f"{DASH}/alerts?alert={a.alert_id.replace(':', '%3A')}"
    assert body["data"]["text"].startswith("Attack · Jordan Kim: Possible attack")
    assert "12 mentions a minute vs 2.0 usual, 83% negative" in body["data"]["summary"]
    assert second.json()["type"] == "alert.digest"
    assert len(second.json()["data"]["alerts"]) == 3


def test_a_receiver_with_another_key_refuses_it_and_that_is_not_retried() -> None:
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    with http_receiver(other) as r:
        f = failure(WebhookChannel(r.url, SecretStr(SECRET)), one())
    assert r.rejected == ["no valid signature"]
    assert (f.retry, f.maybe_sent) == (False, False)
    assert f.reason.startswith("HTTP 401")


@pytest.mark.parametrize(
    ("status", "retry"), [(503, True), (500, True), (429, True), (408, True), (404, False)]
)
def test_http_answers_say_whether_to_retry(status: int, retry: bool) -> None:
    with http_receiver() as r:
        r.fail = [(status, "nope")]
        f = failure(WebhookChannel(r.url, SecretStr(SECRET)), one())
    assert (f.retry, f.maybe_sent) == (retry, False)
    assert f.reason == f"HTTP {status}: nope"


def test_retry_after_is_passed_on() -> None:
    with http_receiver() as r:
        r.fail = [(429, "slow down", {"Retry-After": "7"}), (503, "busy")]
        hinted = failure(WebhookChannel(r.url, SecretStr(SECRET)), one())
        plain = failure(WebhookChannel(r.url, SecretStr(SECRET)), one())
    assert (hinted.retry, hinted.retry_after) == (True, 7.0)
    assert (plain.retry, plain.retry_after) == (True, None)


def test_nobody_listening_is_retried() -> None:
    f = failure(WebhookChannel(f"http://127.0.0.1:{free_port()}/x", SecretStr(SECRET)), one())
    assert (f.retry, f.maybe_sent) == (True, False)


def test_no_answer_after_sending_is_maybe_sent_never_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(channels, "SEND_TIMEOUT", 0.5)
    with http_receiver() as r:
        r.hang = 1
        f = failure(WebhookChannel(r.url, SecretStr(SECRET)), one())
        assert r.arrivals == 1
    assert (f.retry, f.maybe_sent) == (False, True)


# ---- Slack ---------------------------------------------------------------------------------

SLACK_PATH = "/services/T0000/B0000/sEcReTtOkEn0123456789"


def test_slack_gets_block_kit_with_why_posts_and_the_link() -> None:
    with http_receiver() as r:
        send(SlackChannel(SecretStr(r.url + SLACK_PATH)), one())
        send(SlackChannel(SecretStr(r.url + SLACK_PATH)), digest())
    single, summary = (g.json() for g in r.got)
    assert r.got[0].path == SLACK_PATH
    assert single["text"].startswith("Attack · Jordan Kim: Possible attack on Jordan Kim")
    blocks = single["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Attack · Jordan Kim"},
    }
    texts = [b["text"]["text"] for b in blocks[1:]]
    assert any("83% negative" in t and "#KimScandal (11 posts)" in t for t in texts)
    post = next(t for t in texts if "@troll1" in t)
    # The post's own markup cannot ping the channel, add a link or bold anything.
    assert "<!channel>" not in post and "<https://evil.example" not in post
    assert "&lt;!channel&gt;" in post and "\u200b*liar" in post
    assert "<https://x.example/2?a=1%7Cb|" in texts[-2]  # a | in a URL cannot end the link
    assert texts[-1].endswith("|Open on the dashboard>")
    assert texts[-1].startswith(f"<{DASH}/alerts?alert=alert%3Aattack%3A")
    assert summary["blocks"][0]["text"]["text"] == "Campaign buzz digest"
    assert len(summary["blocks"]) == 2 + 3
    assert HOSTILE not in r.got[0].body.decode()


def test_slack_errors_never_show_the_webhook_url() -> None:
    with http_receiver() as r:
        # A receiver that echoes the URL it was called on (some proxies do).
        r.fail = [(404, f"no_service for {r.url}{SLACK_PATH}")]
        f = failure(SlackChannel(SecretStr(r.url + SLACK_PATH)), one())
    assert not f.retry
    assert "sEcReTtOkEn" not in f.reason and "[secret]" in f.reason


def test_slack_unreachable_is_retried_and_never_resent_by_the_sdk() -> None:
    f = failure(SlackChannel(SecretStr(f"http://127.0.0.1:{free_port()}{SLACK_PATH}")), one())
    assert (f.retry, f.maybe_sent) == (True, False)
    assert "sEcReTtOkEn" not in f.reason
    with http_receiver() as r:
        r.fail = [(503, "down")]
        f = failure(SlackChannel(SecretStr(r.url + SLACK_PATH)), one())
        assert r.arrivals == 1  # slack-sdk's own retry handlers are off


# ---- email ---------------------------------------------------------------------------------


def email_route(port: int, **kw: object) -> EmailRoute:
    data: dict[str, object] = {
        "name": "inbox", "type": "email", "to": ["press@kim.example", "dir@kim.example"],
        "from": "buzz@kim.example", "host": "127.0.0.1", "port": port, "security": "none",
        "username": "buzz", "password": "BUZZ_SMTP_PASSWORD",
    }  # fmt: skip
    data.update(kw)
    return EmailRoute.model_validate(data)


@pytest.fixture
def smtp() -> object:
    s = SmtpReceiver("buzz", "pa55-w0rd")
    yield s
    s.stop()


def test_email_arrives_as_text_and_html_after_login(smtp: SmtpReceiver) -> None:
    channel = EmailChannel(email_route(smtp.port), SecretStr("pa55-w0rd"))
    send(channel, one())
    send(channel, digest())
    assert smtp.box.logins == [("buzz", "pa55-w0rd"), ("buzz", "pa55-w0rd")]
    (env, msg), (_, dmsg) = smtp.messages
    assert env.rcpt_tos == ["press@kim.example", "dir@kim.example"]
    assert env.mail_from == "buzz@kim.example"
    assert msg["Subject"] == (
        "[CRITICAL] Attack · Jordan Kim: Possible attack on Jordan Kim: 12 a minute vs 2.0 usual"
    )
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "83% negative" in text and "https://x.example/1" in text
    assert f"On the dashboard: {DASH}/alerts?alert=alert%3Aattack%3A" in text
    assert "&lt;!channel&gt;" in html and "<!channel>" not in html  # posts escaped in HTML
    assert 'href="https://buzz.example.org/alerts?alert=alert%3Aattack%3A' in html
    assert dmsg["Subject"].startswith("Campaign buzz digest: 3 alerts (2 new validator")


@pytest.mark.parametrize(("answer", "retry"), [("451 try again later", True), ("554 no", False)])
def test_smtp_refusals_say_whether_to_retry(smtp: SmtpReceiver, answer: str, retry: bool) -> None:
    smtp.box.fail = [answer]
    f = failure(EmailChannel(email_route(smtp.port), SecretStr("pa55-w0rd")), one())
    assert (f.retry, f.maybe_sent) == (retry, False)
    assert smtp.messages == []


def test_a_wrong_password_fails_without_retry_or_showing_it(smtp: SmtpReceiver) -> None:
    f = failure(EmailChannel(email_route(smtp.port), SecretStr("wr0ng-pass")), one())
    assert (f.retry, f.maybe_sent) == (False, False)
    assert "wr0ng-pass" not in f.reason
    assert smtp.messages == []


def test_no_smtp_server_is_retried() -> None:
    f = failure(EmailChannel(email_route(free_port()), SecretStr("pa55-w0rd")), one())
    assert (f.retry, f.maybe_sent) == (True, False)


def test_a_long_digest_lists_twenty_and_counts_the_rest_but_the_webhook_gets_all() -> None:
    alerts = [stored(validator_post(f"many-{i}")) for i in range(25)]
    message = Message(alerts, True, "press", DASH, NAMES)
    text = message.text()
    assert text.count(f"{DASH}/alerts?alert=") == 20
    assert f"... and 5 more: {DASH}/alerts?state=open" in text
    _, blocks = message.slack()
    assert len(blocks) == 2 + 20 + 1 and "5 more" in blocks[-1]["text"]["text"]
    assert len(message.payload()["data"]["alerts"]) == 25
    assert message.subject_line() == "Campaign buzz digest: 25 alerts (25 new validator)"
