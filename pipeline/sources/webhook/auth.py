"""Who may post to the webhook: Standard Webhooks signatures, a shared token, replay protection.

Standard Webhooks (standardwebhooks.com): the sender signs ``"{webhook-id}.{webhook-timestamp}.
{body}"`` with HMAC-SHA256 under the base64 key of a ``whsec_`` secret and sends
``webhook-signature: v1,<base64>`` (several, space-separated, while keys rotate). We accept the
request when one ``v1`` signature matches (constant-time), the timestamp is within ``tolerance``
seconds of now either way, and the ``webhook-id`` was not seen within that window.

Platforms that cannot sign get the shared-token mode: the token in a header or ``?token=``,
compared in constant time. It proves less (a leaked URL is a leaked token), so prefer signing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Mapping


class AuthError(Exception):
    """The request is not from whom it claims (answer 401, store nothing)."""


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (the prefix is optional)."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("expected whsec_ followed by base64") from None
    if len(key) < 16:
        raise ValueError("the key is shorter than 16 bytes")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value a sender computes (used by tests and the docs' examples)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify_signature(
    key: bytes,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance: float | None,
) -> tuple[str, int]:
    """(webhook-id, timestamp) of a correctly signed request; raise AuthError otherwise.

    ``tolerance`` None skips the freshness check (deliveries captured earlier, ``--inbox``).
    """
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    presented = headers.get("webhook-signature", "")
    if not msg_id or not stamp or not presented:
        raise AuthError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not stamp.isdigit():
        raise AuthError("webhook-timestamp is not an integer")
    timestamp = int(stamp)
    if tolerance is not None and abs(now - timestamp) > tolerance:
        raise AuthError("webhook-timestamp outside the tolerance window")
    expected = sign(key, msg_id, timestamp, body).encode()
    for candidate in presented.split():
        # Compare every candidate (no early exit on the version) to keep timing flat.
        if hmac.compare_digest(candidate.encode(), expected):
            return msg_id, timestamp
    raise AuthError("no valid signature")


def verify_token(expected: str, presented: str | None) -> None:
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise AuthError("missing or wrong token")


class ReplayGuard:
    """Webhook ids seen within the tolerance window, bounded in memory, reserved atomically.

    A delivery's id is *reserved* the moment it arrives (:meth:`reserve`, one lock, so of eight
    identical requests at once exactly one gets it), *committed* once its records are with the
    producer (:meth:`commit`) and *released* if they could not be handed over (:meth:`release`),
    so the sender's retry goes through. An id older than the window needs no remembering: its
    timestamp is rejected anyway. The ``max_ids`` bound caps memory under a flood; past it the
    oldest ids go first.
    """

    NEW, IN_PROGRESS, DONE = "new", "in progress", "done"

    def __init__(self, window: float, max_ids: int) -> None:
        self.window = window
        self.max_ids = max_ids
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def seen(self, msg_id: str) -> bool:
        with self._lock:
            return msg_id in self._seen

    def reserve(self, msg_id: str) -> str:
        """``NEW`` (now reserved for the caller), ``IN_PROGRESS`` or ``DONE``."""
        with self._lock:
            if msg_id in self._seen:
                return self.DONE
            if msg_id in self._pending:
                return self.IN_PROGRESS
            self._pending.add(msg_id)
            return self.NEW

    def release(self, msg_id: str) -> None:
        with self._lock:
            self._pending.discard(msg_id)

    def commit(self, msg_id: str, timestamp: float, now: float) -> None:
        self.add(msg_id, timestamp, now)

    def add(self, msg_id: str, timestamp: float, now: float) -> None:
        with self._lock:
            self._pending.discard(msg_id)
            self._seen[msg_id] = timestamp
            self._seen.move_to_end(msg_id)
            while self._seen and (
                len(self._seen) > self.max_ids
                or next(iter(self._seen.values())) < now - 2 * self.window
            ):
                self._seen.popitem(last=False)

    def export(self) -> dict[str, float]:
        with self._lock:
            return dict(self._seen)

    def load(self, seen: Mapping[str, float], now: float) -> None:
        for msg_id, ts in sorted(seen.items(), key=lambda kv: kv[1]):
            self.add(msg_id, float(ts), now)
