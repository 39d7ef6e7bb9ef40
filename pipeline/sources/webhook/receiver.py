"""One webhook request to its answer: authenticate, reserve the webhook-id, parse, map.

Pure apart from the replay guard it reserves ids in (the HTTP server and ``--inbox`` both use
it): ``Receiver.handle`` returns a :class:`Reply`, the status and body to answer with and the
records to hand to the producer. The caller commits the reserved id once the records are with
the producer and releases it otherwise (see ``source.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import SecretStr, ValidationError

from pipeline.events import DeadLetter, Signup, describe_validation_error
from pipeline.pii import keyed_hmac
from pipeline.sources.emitter import Record
from pipeline.sources.webhook.auth import (
    AuthError,
    ReplayGuard,
    decode_secret,
    verify_signature,
    verify_token,
)
from pipeline.sources.webhook.config import WebhookConfig
from pipeline.sources.webhook.mapping import MAPPERS, Mapper, PayloadError
from pipeline.sources.webhook.redact import mask_text, parse_form, redacted_body, unparsed_body

__all__ = ["FORM_MEDIA", "JSON_MEDIA", "Receiver", "Reply", "media_type"]

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
