"""The channels: send one message to a Slack incoming webhook, an SMTP server or a signed webhook.

A send either returns (the receiver accepted the message) or raises :class:`SendFailed`, which
says what the failure means for delivering at most once:

==============================================  ===========================================
failure                                         policy
==============================================  ===========================================
cannot connect (refused, DNS, connect timeout)  not delivered: retry later with backoff
HTTP 408, 429, 5xx; SMTP 4xx                    not delivered: retry later (``Retry-After``
                                                is honoured)
HTTP 4xx; SMTP 5xx; SMTP login refused          not delivered, and retrying cannot help
                                                (a wrong URL or address): failed, no retry
the connection lost or timed out after the      maybe delivered: recorded as unknown and
request went out                                never sent again (at most once)
==============================================  ===========================================

No channel retries on its own (slack-sdk's retry handlers are off): retries are the delivery
job's, recorded each time. Secrets (the Slack URL, the SMTP password, the signing secret) never
appear in an error: :func:`redact` takes them out, and slack-sdk's debug logging, which prints
the webhook URL, is kept off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
import aiosmtplib
import orjson
from pydantic import SecretStr
from slack_sdk.webhook.async_client import AsyncWebhookClient

from pipeline.delivery.message import Message
from pipeline.delivery.routes import EmailRoute, RouteBase, SlackRoute, WebhookRoute
from pipeline.retry import first_line
from pipeline.sources.webhook.auth import decode_secret, sign

CONNECT_TIMEOUT = 3.0
# A send must finish well within the time a worker handing over the jobs gives a pass (10 s).
SEND_TIMEOUT = 8.0

# slack-sdk logs the webhook URL (a secret) at DEBUG whenever its logger's own level allows it:
# give it a logger of its own that never does.
_slack_log = logging.getLogger("pipeline.delivery.slack_sdk")
_slack_log.setLevel(logging.WARNING)


class SendFailed(Exception):
    def __init__(
        self,
        reason: str,
        *,
        retry: bool,
        maybe_sent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry and not maybe_sent
        self.maybe_sent = maybe_sent
        self.retry_after = retry_after


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any secret, nor the path of a secret URL (where tokens live)."""
    for s in secrets:
        if not s:
            continue
        text = text.replace(s, "[secret]")
        parts = urlsplit(s)
        if parts.scheme and len(parts.path) > 8:
            text = text.replace(parts.path, "/[secret]")
    return text


def _retry_after(headers: object) -> float | None:
    value = getattr(headers, "get", lambda _k: None)("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def http_outcome(status: int, body: str, headers: object) -> None:
    """Raise SendFailed unless ``status`` says the receiver accepted the message."""
    if 200 <= status < 300:
        return
    reason = f"HTTP {status}: {' '.join(body.split())[:200]}".rstrip(": ")
    retry = status in (408, 429) or status >= 500
    raise SendFailed(reason, retry=retry, retry_after=_retry_after(headers) if retry else None)


def http_error(exc: BaseException) -> SendFailed:
    """What an aiohttp error means: never connected (retry) or maybe delivered."""
    reason = f"{type(exc).__name__}: {first_line(exc)}"
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return SendFailed(reason, retry=True)
    if isinstance(exc, aiohttp.InvalidURL):
        return SendFailed(reason, retry=False)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return SendFailed(reason, retry=False, maybe_sent=True)
    raise exc


class Channel(Protocol):
    kind: str  # slack, email, webhook

    async def send(self, message: Message, delivery_id: str) -> None:
        """Deliver the message; raise SendFailed when the receiver did not take it."""


class SlackChannel:
    kind = "slack"

    def __init__(self, url: SecretStr) -> None:
        self._url = url

    async def send(self, message: Message, delivery_id: str) -> None:
        text, blocks = message.slack()
        client = AsyncWebhookClient(
            self._url.get_secret_value(),
            timeout=max(1, round(SEND_TIMEOUT)),
            logger=_slack_log,
            retry_handlers=[],
        )
        secret = [self._url.get_secret_value()]
        try:
            response = await client.send(text=text, blocks=blocks)
        except Exception as exc:
            failed = http_error(exc)
            failed.reason = redact(failed.reason, secret)
            raise failed from None
        try:
            http_outcome(response.status_code, response.body or "", response.headers)
        except SendFailed as failed:
            failed.reason = redact(failed.reason, secret)
            raise


class WebhookChannel:
    """POSTs the JSON payload signed with Standard Webhooks (``webhook-id``, ``-timestamp``,
    ``-signature``), the scheme the project's own webhook source checks. ``webhook-id`` is the
    same for every attempt at one delivery, so a receiver can also de-duplicate on it."""

    kind = "webhook"

    def __init__(self, url: str, secret: SecretStr) -> None:
        self._url = url
        self._secret = secret
        self._key = decode_secret(secret.get_secret_value())

    async def send(self, message: Message, delivery_id: str) -> None:
        body = orjson.dumps(message.payload())
        stamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "campaign-buzz",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(self._key, delivery_id, stamp, body),
        }
        timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT, connect=CONNECT_TIMEOUT)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(self._url, data=body, headers=headers) as r,
            ):
                text = (await r.content.read(1000)).decode("utf-8", "replace")
                status, got_headers = r.status, r.headers
        except Exception as exc:
            failed = http_error(exc)
            failed.reason = redact(failed.reason, [self._secret.get_secret_value()])
            raise failed from None
        http_outcome(status, text, got_headers)


class EmailChannel:
    """One email per message (plain text and HTML) through the route's SMTP server."""

    kind = "email"

    def __init__(self, route: EmailRoute, password: SecretStr | None) -> None:
        self._route = route
        self._password = password

    def build(self, message: Message) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = message.subject_line()
        msg["From"] = self._route.sender
        msg["To"] = ", ".join(self._route.to)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=self._route.sender.rpartition("@")[2])
        msg.set_content(message.text())
        msg.add_alternative(message.html(), subtype="html")
        return msg

    async def send(self, message: Message, delivery_id: str) -> None:
        r = self._route
        password = self._password.get_secret_value() if self._password else None
        smtp = aiosmtplib.SMTP(
            hostname=r.host,
            port=r.port,
            use_tls=r.security == "tls",
            start_tls=r.security == "starttls",
            timeout=SEND_TIMEOUT,
            username=r.username,
            password=password,
        )
        secrets = [password or ""]
        try:
            await smtp.connect()  # connects, starts TLS and logs in: nothing is sent yet
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise SendFailed(redact(f"SMTP login refused: {exc}", secrets), retry=False) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailed(
                redact(f"SMTP {exc.code}: {exc.message}", secrets), retry=exc.code < 500
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendFailed(
                redact(f"cannot connect: {first_line(exc)}", secrets), retry=True
            ) from None
        try:
            await smtp.send_message(self.build(message))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [e.code for e in exc.recipients]
            raise SendFailed(
                f"every recipient refused: {first_line(exc)}", retry=all(c < 500 for c in codes)
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailed(f"SMTP {exc.code}: {exc.message}", retry=exc.code < 500) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            reason = redact(f"connection lost while sending: {first_line(exc)}", secrets)
            raise SendFailed(reason, retry=False, maybe_sent=True) from None
        finally:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()  # the message was accepted (or not) before: quitting does not matter


def build_channel(route: RouteBase, secrets: dict[str, SecretStr]) -> Channel:
    if isinstance(route, SlackRoute):
        return SlackChannel(secrets["webhook_url"])
    if isinstance(route, EmailRoute):
        return EmailChannel(route, secrets.get("password"))
    if isinstance(route, WebhookRoute):
        return WebhookChannel(route.url, secrets["secret"])
    raise TypeError(f"no channel for route type {type(route).__name__}")
