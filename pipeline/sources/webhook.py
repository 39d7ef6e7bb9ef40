"""``webhook``: an HTTP receiver for signups (Action Network, Mobilize, any JSON form).

    BUZZ_PII_KEY=... buzz source run webhook --secret whsec_... [--host 0.0.0.0 --port 8088]

Routes: ``POST {path_prefix}/actionnetwork``, ``/mobilize`` and ``/form`` (default prefix
``/webhooks``). Each request is authenticated (``webhook_auth``: a Standard Webhooks signature
with ``--secret``, or ``--token`` in the ``token_header`` header or ``?token=``), mapped
(``webhook_map``: email and phone become keyed HMACs right there) and handed to the producer
before the sender gets its answer, so a 2xx means "in the pipeline". ``--inbox FILE`` first
replays captured deliveries (JSON lines ``{"path", "headers", "body"}``), verifying signatures but
not their age; with ``--no-serve`` the source stops after that.

Bodies: ``application/json`` (or any ``application/*+json``) on every route, and
``application/x-www-form-urlencoded`` on ``/form`` (``utm[source]=...`` nests). The declared type
decides the parser; nothing is guessed from the bytes.

Answers and failure policy:

- 202 ``{"status": "accepted", "event_ids": [...]}`` once the records are with the producer.
- A webhook-id is reserved atomically the moment an authenticated request arrives, so of several
  identical deliveries at once exactly one is processed: the others get 409 ``{"status":
  "duplicate"}`` while it is in progress (not 2xx: should it fail, the sender's retry must come)
  and 200 ``{"status": "duplicate"}`` once it was accepted; nothing is produced for them. A
  delivery whose records could not be handed over releases its id, so a retry goes through.
- 401: missing or wrong signature or token, or a timestamp outside ``--tolerance``; nothing is
  stored, not even a dead letter (it would let anyone fill the dead-letter topic).
- 413: a body over ``--max-body-bytes``. 404: an unknown route. 415: a Content-Type the route
  does not take (a JSON body sent as ``text/plain`` included), nothing stored: the sender still
  has it and is told what to send.
- 422 with the reason: an authenticated body that is not a signup (unparsable, no email or
  phone, bad field), plus a dead letter whose payload is the parsed body with every personal
  field masked (``webhook_redact``: on parsed fields, whatever the encoding); of a body that
  cannot be parsed only the size and hash are kept.
- 503: the record could not be handed over within ``--reply-timeout`` (the sender retries).
- BUZZ_PII_KEY unset stops at start-up; a port already taken is fatal.

Checkpoint: the webhook ids accepted within the replay window (so a restart still refuses
replays) and how far ``--inbox`` was read.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson
from aiohttp import web
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator

from pipeline.events import DeadLetter, Signup, describe_validation_error
from pipeline.pii import keyed_hmac
from pipeline.settings import ConfigError
from pipeline.sources.base import SourceConfig, StreamingConfig, StreamingSource
from pipeline.sources.emitter import Record
from pipeline.sources.retry import FatalError
from pipeline.sources.webhook_auth import (
    AuthError,
    ReplayGuard,
    decode_secret,
    verify_signature,
    verify_token,
)
from pipeline.sources.webhook_map import MAPPERS, Mapper, PayloadError
from pipeline.sources.webhook_redact import mask_text, parse_form, redacted_body, unparsed_body


class WebhookConfig(StreamingConfig):
    host: str = Field("127.0.0.1", description="Interface to listen on")
    port: int = Field(8088, ge=0, le=65535, description="Port to listen on")
    path_prefix: str = Field("/webhooks", description="Routes: PREFIX/actionnetwork|mobilize|form")
    secret: SecretStr | None = Field(None, description="Standard Webhooks secret, whsec_...")
    token: SecretStr | None = Field(
        None, validate_default=True, description="Shared token, for senders that cannot sign"
    )
    token_header: str = Field("X-Webhook-Token", description="Header carrying the token")
    tolerance: float = Field(300.0, gt=0, description="Replay window, seconds")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger requests get 413")
    max_ids: int = Field(100_000, ge=100, description="Webhook ids remembered against replays")
    reply_timeout: float = Field(30.0, gt=0, description="Seconds to hand a record over")
    inbox: Path | None = Field(None, description="Captured deliveries (JSONL) to process first")
    serve: bool = Field(True, description="Listen for requests (off: only --inbox)")

    @field_validator("secret")
    @classmethod
    def _secret(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            decode_secret(v.get_secret_value())
        return v

    @field_validator("token")
    @classmethod
    def _auth(cls, v: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if v is None and info.data.get("secret") is None:
            raise ValueError("set --secret (whsec_..., BUZZ_SOURCE_WEBHOOK_SECRET) or --token")
        return v

    @field_validator("path_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        return "/" + v.strip("/") if v.strip("/") else ""


JSON_MEDIA = re.compile(r"^application/(?:[\w.-]+\+)?json$")
FORM_MEDIA = "application/x-www-form-urlencoded"


def media_type(content_type: str | None) -> str:
    """``application/json`` of ``Application/JSON; charset=utf-8``; empty when absent."""
    return (content_type or "").split(";", 1)[0].strip().lower()


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    records: list[Record] = field(default_factory=list)
    msg_id: str | None = None  # reserved in the replay guard: commit or release it
    timestamp: float = 0.0


class Receiver:
    """Authenticate, parse, map and answer one request; reserves its webhook-id on arrival."""

    def __init__(self, cfg: WebhookConfig, pii_key: SecretStr, guard: ReplayGuard) -> None:
        self.cfg, self.pii_key, self.guard = cfg, pii_key, guard
        self.key = decode_secret(cfg.secret.get_secret_value()) if cfg.secret else None

    def handle(
        self,
        platform: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
        now: float,
        *,
        check_age: bool = True,
    ) -> Reply:
        mapper = MAPPERS.get(platform)
        if mapper is None:
            return Reply(404, {"error": f"unknown route; use one of {', '.join(MAPPERS)}"})
        if len(body) > self.cfg.max_body_bytes:
            return Reply(413, {"error": "request body too large"})
        lower = {k.lower(): v for k, v in headers.items()}
        msg_id, stamp = None, now
        try:
            if self.key is not None and "webhook-signature" in lower:
                tolerance = self.cfg.tolerance if check_age else None
                msg_id, ts = verify_signature(self.key, lower, body, now, tolerance)
                stamp = float(ts)
            elif self.cfg.token is not None:
                presented = lower.get(self.cfg.token_header.lower()) or query.get("token")
                verify_token(self.cfg.token.get_secret_value(), presented)
                msg_id = lower.get("webhook-id") or None
            else:
                raise AuthError("missing webhook-signature")
        except AuthError as exc:
            return Reply(401, {"error": f"unauthorized: {exc}"})
        media = media_type(lower.get("content-type"))
        if not (JSON_MEDIA.match(media) or (media == FORM_MEDIA and platform == "form")):
            accepted = "application/json" + (f" or {FORM_MEDIA}" if platform == "form" else "")
            return Reply(
                415,
                {"error": f"unsupported Content-Type {media or '(none)'!r}: send {accepted}"},
            )
        if msg_id:
            state = self.guard.reserve(msg_id)
            if state == ReplayGuard.DONE:
                return Reply(200, {"status": "duplicate", "webhook_id": msg_id})
            if state == ReplayGuard.IN_PROGRESS:
                detail = "a delivery with this webhook-id is being processed; retry if it fails"
                return Reply(409, {"status": "duplicate", "webhook_id": msg_id, "detail": detail})
        try:
            reply = self._map(mapper, media, body, msg_id, now)
        except BaseException:
            if msg_id:
                self.guard.release(msg_id)
            raise
        reply.msg_id, reply.timestamp = msg_id, stamp
        return reply

    def _map(
        self, mapper: Mapper, media: str, body: bytes, msg_id: str | None, now: float
    ) -> Reply:
        if media == FORM_MEDIA:
            data: Any = parse_form(body)
            if data is None:
                return self._bad(unparsed_body(body, media), ["body is not form-encoded"])
        else:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                return self._bad(unparsed_body(body, media), [f"body is not JSON: {exc}"])
        # An id for what has none of its own: keyed, since the body holds personal data.
        fallback = msg_id or keyed_hmac("body:" + body.hex(), self.pii_key)[:32]
        signups: list[Record] = []
        reasons: list[str] = []
        when = datetime.fromtimestamp(now, UTC)
        for result in mapper(data, self.pii_key, when, fallback):
            if isinstance(result, PayloadError):
                reasons.append(str(result))
                continue
            try:
                signups.append(Signup(**result))
            except ValidationError as exc:
                reasons.append(describe_validation_error(exc))
        if not signups:
            return self._bad(redacted_body(data), reasons)
        records = signups + ([self._dead(redacted_body(data), reasons)] if reasons else [])
        ids = [s.event_id for s in signups]  # type: ignore[attr-defined]
        answer: dict[str, Any] = {"status": "accepted", "event_ids": ids}
        if reasons:
            answer["rejected"] = [mask_text(r) for r in reasons]
        return Reply(202, answer, records)

    def _dead(self, payload: bytes, reasons: list[str]) -> DeadLetter:
        reason = "; ".join(mask_text(r) for r in reasons)[:2000]
        return DeadLetter.for_payload(payload, reason, source="webhook")

    def _bad(self, payload: bytes, reasons: list[str]) -> Reply:
        dead = self._dead(payload, reasons)
        return Reply(422, {"error": dead.reason}, [dead])


class WebhookSource(StreamingSource[WebhookConfig]):
    name: ClassVar[str] = "webhook"
    description: ClassVar[str] = (
        "HTTP receiver for signups (Action Network, Mobilize, JSON forms); signed or token"
    )
    Config: ClassVar[type[SourceConfig]] = WebhookConfig

    def setup(self) -> None:
        key = self.ctx.settings.pii_key
        if key is None or not key.get_secret_value():
            raise ConfigError(
                "BUZZ_PII_KEY: must be set: the webhook hashes emails and phones with it "
                "before anything leaves the receiver"
            )
        now = time.time()
        self.guard = ReplayGuard(self.config.tolerance, self.config.max_ids)
        self.guard.load(self.checkpoint.get("seen", {}), now)
        self.receiver = Receiver(self.config, key, self.guard)
        self.inbox: queue.Queue[tuple[Reply, concurrent.futures.Future[bool]]] = queue.Queue()
        self._stop_server = threading.Event()

    def _hand_over(self, reply: Reply) -> Iterator[Record]:
        """Yield a delivery's records; then commit its webhook-id, or release it if cut short.

        The runner sends each record before asking for the next: once the last one is yielded
        and control comes back, everything of this delivery is with the producer.
        """
        handed = False
        try:
            yield from reply.records
            handed = True
        finally:
            if reply.msg_id and handed:
                self.guard.commit(reply.msg_id, reply.timestamp, time.time())
                self.checkpoint["seen"] = self.guard.export()
            elif reply.msg_id:
                self.guard.release(reply.msg_id)

    def stream(self) -> Iterator[Record]:
        if self.config.inbox is not None:
            yield from self._replay_inbox(self.config.inbox)
        if not self.config.serve:
            return
        thread, errors = self._start_server()
        try:
            while not self.ctx.stopping():
                try:
                    reply, done = self.inbox.get(timeout=0.2)
                except queue.Empty:
                    if not thread.is_alive():
                        raise FatalError(f"webhook server stopped: {errors or 'unknown'}") from None
                    continue
                if not done.set_running_or_notify_cancel():
                    continue  # the sender was answered 503 already and its id released
                handed = False
                try:
                    yield from self._hand_over(reply)
                    handed = True
                finally:
                    done.set_result(handed)
                if self.ctx.once and reply.status == 202:
                    return
        finally:
            self._stop_server.set()
            thread.join(10)
            while not self.inbox.empty():  # answer 503 to whoever still waits
                waiting = self.inbox.get_nowait()[1]
                if waiting.set_running_or_notify_cancel():
                    waiting.set_result(False)

    def _replay_inbox(self, path: Path) -> Iterator[Record]:
        done: dict[str, int] = self.checkpoint.setdefault("inbox", {})
        skip = done.get(str(path.resolve()), 0)
        try:
            lines = path.read_bytes().splitlines()
        except OSError as exc:
            raise FatalError(f"--inbox {path}: {exc.strerror}") from None
        statuses: dict[int, int] = {}
        for n, line in enumerate(lines[skip:], start=skip + 1):
            try:
                d = orjson.loads(line)
                platform = str(d["path"]).rstrip("/").rsplit("/", 1)[-1]
                body = str(d["body"]).encode()
                headers = {str(k): str(v) for k, v in d.get("headers", {}).items()}
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                reply = Reply(400, {}, [self.dead_letter(b"", f"inbox line {n}: {exc!r}")])
            else:
                reply = self.receiver.handle(
                    platform, headers, {}, body, time.time(), check_age=False
                )
            statuses[reply.status] = statuses.get(reply.status, 0) + 1
            done[str(path.resolve())] = n
            yield from self._hand_over(reply)
        self.log.info("inbox %s: answers %s", path, dict(sorted(statuses.items())))

    # -- the HTTP server, on its own thread and event loop ---------------------------------
    def _start_server(self) -> tuple[threading.Thread, list[str]]:
        ready, errors = threading.Event(), list[str]()
        thread = threading.Thread(
            target=self._serve, args=(ready, errors), name="webhook-http", daemon=True
        )
        thread.start()
        ready.wait(30)
        if errors:
            raise FatalError(f"cannot listen on {self.config.host}:{self.config.port}: {errors[0]}")
        return thread, errors

    @staticmethod
    async def _handed(done: concurrent.futures.Future[bool], timeout: float) -> bool:
        """Whether the stream handed the records over within ``timeout``.

        On time-out the hand-over is cancelled if it has not started (then the sender gets 503
        and nothing is produced); one already under way is waited out, so the answer never
        contradicts what reached the producer.
        """
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(done)), timeout)
        except TimeoutError:
            if done.cancel():
                return False
            return await asyncio.wrap_future(done)

    def _serve(self, ready: threading.Event, errors: list[str]) -> None:
        cfg = self.config

        async def handle(request: web.Request) -> web.Response:
            if (request.content_length or 0) > cfg.max_body_bytes:
                return web.json_response({"error": "request body too large"}, status=413)
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return web.json_response({"error": "request body too large"}, status=413)
            reply = self.receiver.handle(
                request.match_info["platform"], request.headers, request.query, body, time.time()
            )
            if reply.records:
                done: concurrent.futures.Future[bool] = concurrent.futures.Future()
                self.inbox.put((reply, done))
                if not await self._handed(done, cfg.reply_timeout):
                    if reply.msg_id:
                        self.guard.release(reply.msg_id)
                    return web.json_response({"error": "not stored; retry later"}, status=503)
            elif reply.msg_id and reply.status >= 400:
                self.guard.release(reply.msg_id)
            self.log.info("%s %s -> %d", request.method, request.path, reply.status)
            return web.json_response(reply.body, status=reply.status)

        async def main() -> None:
            app = web.Application(client_max_size=cfg.max_body_bytes)
            app.router.add_post(cfg.path_prefix + "/{platform}", handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            try:
                await web.TCPSite(runner, cfg.host, cfg.port).start()
                routes = "|".join(MAPPERS)
                where = f"http://{cfg.host}:{cfg.port}{cfg.path_prefix}/{{{routes}}}"
                self.log.info("webhook listening on %s", where)
                ready.set()
                while not self._stop_server.is_set():
                    await asyncio.sleep(0.1)
            finally:
                await runner.cleanup()

        try:
            asyncio.run(main())
        except OSError as exc:
            errors.append(str(exc))
        finally:
            ready.set()
