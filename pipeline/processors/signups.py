"""Validate ``buzz.signups`` messages and turn the valid ones into ``buzz.signups`` rows.

Only what the event carries is stored: channel, form, referral code, UTM tags, coarse location
and the keyed HMACs of email and phone (never the clear text, which never reaches Kafka).
Failure policy: see :mod:`pipeline.processors.common`.
"""

from __future__ import annotations

from typing import Any

from pipeline.events import Signup
from pipeline.processors.common import Processed, process_batch
from pipeline.processors.raw import RawMessage

SIGNUP_COLUMNS = (
    "event_id", "platform", "occurred_at", "ingested_at",
    "channel", "form", "referral_code",
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
    "country", "region", "postal_prefix", "email_hmac", "phone_hmac",
)  # fmt: skip


def signup_row(s: Signup) -> list[Any]:
    u = s.utm
    return [
        s.event_id, s.platform, s.occurred_at, s.ingested_at,
        s.channel, s.form, s.referral_code,
        u.source, u.medium, u.campaign, u.content, u.term,
        s.country, s.region, s.postal_prefix, s.email_hmac, s.phone_hmac,
    ]  # fmt: skip


def process_signups(messages: list[RawMessage]) -> Processed[Signup]:
    """Validate a batch; duplicate event_ids inside the batch keep their last version."""
    return process_batch(messages, Signup, signup_row)
